/**
 * Coverage: every architecture x every registered explainer on one image at 224 px with random
 * weights, on the wasm backend (OpenBLAS convolutions where installed) with the default heap
 * budget. Each cell runs in a fresh process, so that a wasm abort ends only its own cell and the
 * peak RSS is the cell's own. Prints a Markdown table: per cell ok (finite maps) or failed, the
 * seconds of the explain call and the peak RSS (`Deno.memoryUsage().rss`, sampled).
 *
 * A plain script, not a `deno bench` file: the whole grid takes about an hour on two cores.
 * Run:
 *
 * ```sh
 * deno run --allow-read=. --allow-run --allow-ffi bench/coverage.ts [--archs a,b] [--methods m,n] [--size 224]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { heapBudgetMb, withinHeap } from "../backends/heap.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import { EXPLAINERS, getExplainer } from "../xai/registry.ts";

/** What one cell reports, as its last line of output. */
interface CellResult {
  ok: boolean;
  seconds: number;
  peakRssMb: number;
  /** Integrated Gradients' rows per pass for the model within the budget. */
  gradientRows: number;
  error?: string;
}

/** A cell longer than this is counted as failed. */
const CELL_TIMEOUT_MS = 40 * 60 * 1000;

/** Explains one random image with `method` on `arch` at `sizePx` (in this process). */
async function runCell(arch: string, method: string, sizePx: number): Promise<CellResult> {
  let peak = Deno.memoryUsage().rss;
  const sample = () => peak = Math.max(peak, Deno.memoryUsage().rss);
  const timer = setInterval(sample, 100);
  const start = performance.now();
  let gradientRows = 0;
  try {
    await startBackend("wasm", { openBlas: true });
    const model = buildModel(arch, { numClasses: 4, imgSizePx: sizePx, seed: 1 });
    gradientRows = rowsWithinBudget(model, "gradient", 16);
    const x = tf.randomNormal([1, sizePx, sizePx, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const explainStart = performance.now();
    const attribution = await withinHeap(
      `${arch}, ${method}`,
      () => getExplainer(method).explain(model, x, Int32Array.of(0)),
    );
    const seconds = (performance.now() - explainStart) / 1000;
    sample();
    const finite = attribution.mapsNHW.every(Number.isFinite);
    return {
      ok: finite,
      seconds,
      peakRssMb: peak / 2 ** 20,
      gradientRows,
      ...(finite ? {} : { error: "non-finite map values" }),
    };
  } catch (error) {
    sample();
    return {
      ok: false,
      seconds: (performance.now() - start) / 1000,
      peakRssMb: peak / 2 ** 20,
      gradientRows,
      error: (error as Error).message.split("\n")[0],
    };
  } finally {
    clearInterval(timer);
  }
}

/** Runs one cell in a fresh process and reads its result line. */
async function spawnCell(arch: string, method: string, sizePx: number): Promise<CellResult> {
  const script = new URL(import.meta.url).pathname;
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read=.",
      "--allow-ffi",
      script,
      "--cell",
      `${arch}/${method}`,
      "--size",
      String(sizePx),
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CELL_TIMEOUT_MS),
  });
  try {
    const { stdout, stderr } = await command.output();
    const lines = new TextDecoder().decode(stdout).trim().split("\n");
    const last = lines.at(-1) ?? "";
    if (last.startsWith("{")) return JSON.parse(last) as CellResult;
    const why = new TextDecoder().decode(stderr).trim().split("\n").at(-1) ?? "no output";
    return { ok: false, seconds: 0, peakRssMb: 0, gradientRows: 0, error: why };
  } catch (error) {
    return { ok: false, seconds: 0, peakRssMb: 0, gradientRows: 0, error: String(error) };
  }
}

/** A cell of the table: `ok 12.3 s, 1.9 GB` or `failed: why`. */
function cellText(result: CellResult): string {
  const usage = `${result.seconds.toFixed(1)} s, ${(result.peakRssMb / 1024).toFixed(2)} GB`;
  return result.ok ? `ok ${usage}` : `**failed** (${usage}): ${result.error}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cell: { type: "string" },
      archs: { type: "string" },
      methods: { type: "string" },
      size: { type: "string", default: "224" },
    },
  });
  const sizePx = Number(values.size);
  if (values.cell) {
    const [arch, method] = values.cell.split("/");
    console.log(JSON.stringify(await runCell(arch, method, sizePx)));
    return;
  }
  const archs = values.archs?.split(",") ?? ARCHITECTURES.map((a) => a.name);
  const methods = values.methods?.split(",") ?? EXPLAINERS.map((e) => e.name);
  console.log(
    `Coverage at ${sizePx} px, one image, random weights, wasm, heap budget ` +
      `${heapBudgetMb()} MiB; each cell: seconds of the explain call, peak RSS of its process.\n`,
  );
  const rows: string[] = [
    `| architecture | ${methods.join(" | ")} |`,
    `|---|${methods.map(() => "---").join("|")}|`,
  ];
  const failures: string[] = [];
  for (const arch of archs) {
    const cells: string[] = [];
    let gradientRows = 0;
    for (const method of methods) {
      const result = await spawnCell(arch, method, sizePx);
      gradientRows = Math.max(gradientRows, result.gradientRows);
      cells.push(cellText(result));
      console.error(`${arch} ${method}: ${cellText(result)}`);
      if (!result.ok) failures.push(`${arch} x ${method}: ${result.error}`);
    }
    rows.push(`| ${arch} (IG rows ${gradientRows}) | ${cells.join(" | ")} |`);
  }
  console.log(rows.join("\n"));
  console.log(
    failures.length === 0 ? "\nEvery cell ok." : `\nFailed:\n${failures.join("\n")}`,
  );
}

if (import.meta.main) await main();
