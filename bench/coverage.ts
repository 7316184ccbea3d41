/**
 * Coverage: every architecture x every registered explainer on one image at 224 px with random
 * weights, on the wasm backend (OpenBLAS convolutions where installed) with the default heap
 * budget. Each cell runs in a fresh process, so that a wasm abort ends only its own cell and the
 * peak memory is the cell's own. Prints a Markdown table: per cell ok (finite maps), failed or
 * timed out, the seconds of the explain call, the peak RSS (`Deno.memoryUsage().rss`, sampled)
 * and the wasm heap's size at the end, its peak (`bench/peak_memory.ts`).
 *
 * Every method runs with its defaults, except that LIME and Occlusion score fewer copies
 * ({@link FEWER_COPIES}) unless `--full` is given: their memory is set by the copies per model
 * call, which stay the defaults, while their time grows with the number of copies (resnet18's
 * 800 LIME samples took 8 minutes on a loaded two-core machine). Score-CAM makes one forward pass
 * per channel of the layer (2048 for resnet50) and may run out of `--cell-minutes`.
 *
 * A plain script, not a `deno bench` file: the whole grid takes hours on two cores. Run:
 *
 * ```sh
 * deno run --allow-read=. --allow-run --allow-ffi bench/coverage.ts [--archs a,b] [--methods m,n] \
 *   [--size 224] [--full] [--cell-minutes 15]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { heapBudgetMb, HeapExhaustedError, withinHeap } from "../backends/heap.ts";
import { InputError } from "../core/errors.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import { type ExplainerOptions, EXPLAINERS, getExplainer } from "../xai/registry.ts";
import { memoryText, type PeakMemory, peakMemorySampler } from "./peak_memory.ts";

/** What one cell reports, as its last line of output. */
interface CellResult extends PeakMemory {
  ok: boolean;
  seconds: number;
  /** Integrated Gradients' rows per pass for the model within the budget. */
  gradientRows: number;
  error?: string;
  /** The method refused this input (ground_truth without masks): not a failure. */
  notApplicable?: boolean;
}

/**
 * Options that cut the copies LIME (800 samples) and Occlusion (784 windows at 224 px) score
 * to 80 and 65, at their default copies per model call.
 */
export const FEWER_COPIES: Readonly<Record<string, ExplainerOptions>> = {
  lime: { numSamples: 80 },
  occlusion: { strides: 32 },
};

/** Explains one random image with `method` on `arch` at `sizePx` (in this process). */
async function runCell(
  arch: string,
  method: string,
  sizePx: number,
  options: ExplainerOptions,
): Promise<CellResult> {
  const memory = peakMemorySampler();
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
      () => getExplainer(method).explain(model, x, Int32Array.of(0), options),
    );
    const seconds = (performance.now() - explainStart) / 1000;
    const finite = attribution.mapsNHW.every(Number.isFinite);
    return {
      ok: finite,
      seconds,
      ...memory.stop(),
      gradientRows,
      ...(finite ? {} : { error: "non-finite map values" }),
    };
  } catch (error) {
    return {
      ok: false,
      seconds: (performance.now() - start) / 1000,
      ...memory.stop(),
      gradientRows,
      error: (error as Error).message.split("\n")[0],
      notApplicable: error instanceof InputError && !(error instanceof HeapExhaustedError),
    };
  } finally {
    memory.stop();
  }
}

/** Runs one cell in a fresh process and reads its result line. */
async function spawnCell(
  arch: string,
  method: string,
  sizePx: number,
  full: boolean,
  minutes: number,
): Promise<CellResult> {
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
      ...(full ? ["--full"] : []),
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(minutes * 60 * 1000),
  });
  const started = performance.now();
  let why: string;
  try {
    const { stdout, stderr, code } = await command.output();
    const last = new TextDecoder().decode(stdout).trim().split("\n").at(-1) ?? "";
    if (last.startsWith("{")) return JSON.parse(last) as CellResult;
    why = new TextDecoder().decode(stderr).trim().split("\n").at(-1) || `exit code ${code}`;
  } catch (error) {
    why = String(error);
  }
  const seconds = (performance.now() - started) / 1000;
  // The timeout kills the cell's process, which then prints nothing.
  if (seconds >= minutes * 60) why = `timed out after ${minutes} min (time, not memory)`;
  return { ok: false, seconds, peakRssMb: 0, wasmHeapMb: 0, gradientRows: 0, error: why };
}

/** A cell of the table: `ok 12.3 s, RSS 1.90 GB, heap 1.25 GB`, `n/a` or `failed: why`. */
function cellText(result: CellResult): string {
  const usage = `${result.seconds.toFixed(1)} s, ${memoryText(result)}`;
  if (result.notApplicable) return "n/a";
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
      full: { type: "boolean", default: false },
      "cell-minutes": { type: "string", default: "15" },
    },
  });
  const sizePx = Number(values.size);
  const full = values.full === true;
  if (values.cell) {
    const [arch, method] = values.cell.split("/");
    const options = full ? {} : FEWER_COPIES[method] ?? {};
    console.log(JSON.stringify(await runCell(arch, method, sizePx, options)));
    return;
  }
  const minutes = Number(values["cell-minutes"]);
  const archs = values.archs?.split(",") ?? ARCHITECTURES.map((a) => a.name);
  const methods = values.methods?.split(",") ?? EXPLAINERS.map((e) => e.name);
  console.log(
    `Coverage at ${sizePx} px, one image, random weights, wasm, heap budget ` +
      `${heapBudgetMb()} MiB; each cell: seconds of the explain call, peak RSS of its process, ` +
      "size of its wasm heap at the end (its peak; GB = GiB). " +
      (full ? "Every method's defaults.\n" : `Defaults but ${JSON.stringify(FEWER_COPIES)}.\n`),
  );
  const rows: string[] = [
    `| architecture | ${methods.join(" | ")} |`,
    `|---|${methods.map(() => "---").join("|")}|`,
  ];
  const failures: string[] = [];
  const notApplicable = new Map<string, string>();
  for (const arch of archs) {
    const cells: string[] = [];
    let gradientRows = 0;
    for (const method of methods) {
      const result = await spawnCell(arch, method, sizePx, full, minutes);
      gradientRows = Math.max(gradientRows, result.gradientRows);
      cells.push(cellText(result));
      console.error(`${arch} ${method}: ${cellText(result)}`);
      if (result.notApplicable) notApplicable.set(method, result.error ?? "");
      else if (!result.ok) failures.push(`${arch} x ${method}: ${result.error}`);
    }
    rows.push(`| ${arch} (IG rows ${gradientRows}) | ${cells.join(" | ")} |`);
  }
  console.log(rows.join("\n"));
  for (const [method, why] of notApplicable) console.log(`\nn/a: ${method} refused: ${why}`);
  console.log(
    failures.length === 0 ? "\nEvery other cell ok." : `\nFailed:\n${failures.join("\n")}`,
  );
}

if (import.meta.main) await main();
