/**
 * What the full grid costs on this machine: per model x method (Grad-CAM, GradCAM++, IG, LIME
 * by default) the seconds per image of the explanation and of each metric of the reference
 * trio (FaithfulnessCorrelation, MaxSensitivity, MPRT, Quantus's defaults), measured on a sample
 * of `--images` random images at `--size` px with random weights, on the wasm backend by default (`--backend`; OpenBLAS
 * convolutions where installed) with the default heap budget. It prints a Markdown table with
 * what each cell costs for the reference project's `--test-images` (144) test images, the total,
 * and the wall time of the grid sharded on each of `--machines` (one process per machine).
 *
 * The grid is two stages: `xai` explains each image once, `quantus` explains it again and scores
 * it (MaxSensitivity and MPRT re-explain inside). So one image of a cell costs 2 x explain + the
 * metrics. Sharded, each stage's items (model x method x chunk of 8 images, `runs/grid.ts`) go
 * round-robin to the shards, and the stage takes as long as its slowest shard; the estimate adds
 * the two stages' slowest shards. Each cell runs in a fresh process (a wasm abort ends only its
 * own cell; its peak memory is its own, also printed: peak RSS and the wasm heap's size).
 *
 * Measured in full, the metrics re-explain hundreds of times per image (MPRT once per model
 * state: 42 on resnet18, 242 on densenet121; MaxSensitivity its 7 noisy copies), which at 224 px
 * is days for the ten models. Three options measure less and scale up (each errs high, if at all):
 * - `--mprt-states K` re-explains only K of MPRT's states, evenly spread (every J-th, J = states /
 *   K rounded up, the unchanged model's first), and hands the others the last real maps. MPRT then
 *   costs its own wall time without the real re-explanations, plus the first one's time (the
 *   unchanged model's, which keeps no path rows and costs more than the later ones) and the other
 *   states' number times the mean of those timed (the first's when no other ran).
 * - `--sensitivity-samples S` runs MaxSensitivity with S noisy copies and scales it to its 7.
 * - `--lime-samples S` runs LIME with S samples (default its 800) and scales its time by 800 / S:
 *   its forward passes scale so; the segmentation and the fit, a few percent of it, are scaled too.
 * The table says how many states MPRT asked for and timed. The scores of such a run mean nothing;
 * the peak memory is the real one (every re-explanation that runs is a full one). BENCHMARKS.md
 * records a check of the estimates against a full run. `--jobs 2` runs two cells at a time (one
 * per core on a 2-core machine: each cell's time is then one core's, as with two workers).
 * `--phases` adds a table of the wasm heap after each phase of each cell (see
 * {@link phaseTable}), for finding where a cell's memory goes.
 *
 * A plain script, not a `deno bench` file. Progress goes to stderr. Run:
 *
 * ```sh
 * deno run --allow-read=. --allow-run --allow-ffi bench/grid_cost.ts [--models a,b] \
 *   [--methods m,n] [--images 2] [--size 224] [--test-images 144] [--machines 1,4,16] \
 *   [--cell-minutes 30] [--mprt-states all] [--sensitivity-samples 7] [--lime-samples 800] \
 *   [--jobs 1] [--backend wasm|webgpu|cpu] [--phases]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { type BackendName, backendName, startBackend } from "../backends/backend.ts";
import { InputError } from "../core/errors.ts";
import {
  type HeapAllocationCounter,
  heapAllocationCounter,
  heapBudgetMb,
  withinHeap,
} from "../backends/heap.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric } from "../metrics/registry.ts";
import { parameterisedLayers } from "../metrics/randomisation/layer_randomisation.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import type { ExplainFunction } from "../metrics/metric.ts";
import { getExplainer } from "../xai/registry.ts";
import { memoryText, type PeakMemory, peakMemorySampler, wasmHeapModule } from "./peak_memory.ts";

/** The reference project's methods (LIME is its fourth). */
export const GRID_METHODS: readonly string[] = [
  "gradcam",
  "gradcam_plus_plus",
  "integrated_gradients",
  "lime",
];

/** The reference project's metrics. */
export const GRID_METRICS: readonly string[] = [
  "faithfulness_correlation",
  "max_sensitivity",
  "mprt",
];

/** Images per chunk, the unit the grid stages shard (`stages/xai.ts`' default). */
const CHUNK_IMAGES = 8;

/** What one cell measured, as its last line of output. */
interface CellCost extends PeakMemory {
  ok: boolean;
  /** Seconds per image of one explanation. */
  explainSeconds: number;
  /** Seconds per image of each metric, in {@link GRID_METRICS} order. */
  metricSeconds: number[];
  /** MPRT's states per image, and how many of them were re-explained (timed). */
  mprtStates: { asked: number; timed: number };
  /** The wasm heap after each phase (`--phases`); empty off wasm. */
  phases: HeapPhase[];
  error?: string;
}

/** The wasm heap after one phase of a cell, in MiB. */
interface HeapPhase {
  phase: string;
  /** The heap's size (it never shrinks). */
  heapMb: number;
  /** What JavaScript callers held on it at most during the phase (`heapAllocationCounter`). */
  highMb: number;
  /** What they held at its end. */
  liveMb: number;
}

const MiB = 2 ** 20;

/** LIME's default samples, which `--lime-samples` scales the explanation time to. */
const LIME_SAMPLES = 800;

/** How much of a cell's work runs, and what the rest is scaled from (module doc). */
interface Sampling {
  /** MPRT states re-explained (evenly spread), or undefined for all of them. */
  mprtStates?: number;
  /** MaxSensitivity's noisy copies. */
  sensitivitySamples: number;
  /** LIME's samples. */
  limeSamples: number;
  /** The backend each cell starts (wasm with OpenBLAS convolutions where installed). */
  backend: BackendName;
}

/**
 * A metric's explain function that runs only call 0, J, 2J, ... and returns the last real maps
 * for the others, counting the calls and timing the real ones (the first apart).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sampledExplain } from "./grid_cost.ts";
 * let runs = 0;
 * const sampled = sampledExplain(() => Promise.resolve(Float32Array.of(++runs)), 3);
 * for (let i = 0; i < 7; i++) await sampled.explain(null!, new Float32Array(1), [1, 1, 1, 1], Int32Array.of(0));
 * assert(sampled.tally.asked === 7 && sampled.tally.timed === 3 && runs === 3);
 * assert(sampled.tally.firstSeconds <= sampled.tally.seconds);
 * ```
 */
export function sampledExplain(
  explain: ExplainFunction,
  every: number,
): {
  explain: ExplainFunction;
  tally: { asked: number; timed: number; seconds: number; firstSeconds: number };
} {
  const tally = { asked: 0, timed: 0, seconds: 0, firstSeconds: 0 };
  let last: Float32Array | undefined;
  return {
    tally,
    explain: async (...args) => {
      const call = tally.asked++;
      if (last && call % every !== 0) return last.slice();
      const start = performance.now();
      last = await explain(...args);
      const seconds = (performance.now() - start) / 1000;
      if (call === 0) tally.firstSeconds = seconds;
      tally.seconds += seconds;
      tally.timed++;
      return last.slice();
    },
  };
}

/** Explains `images` random images with `method` on `arch` and scores them with the trio. */
async function runCell(
  arch: string,
  method: string,
  sizePx: number,
  images: number,
  sampling: Sampling,
): Promise<CellCost> {
  const memory = peakMemorySampler();
  const cost: CellCost = {
    ok: false,
    explainSeconds: 0,
    metricSeconds: [],
    mprtStates: { asked: 0, timed: 0 },
    phases: [],
    ...memory.now(),
  };
  let counter: HeapAllocationCounter | undefined;
  const endPhase = (phase: string) => {
    if (!counter) return;
    const { liveBytes, highBytes } = counter;
    cost.phases.push({
      phase,
      heapMb: memory.now().wasmHeapMb,
      highMb: highBytes / MiB,
      liveMb: liveBytes / MiB,
    });
    counter.resetHigh();
  };
  try {
    await startBackend(sampling.backend, { openBlas: true });
    const module = wasmHeapModule();
    counter = module && heapAllocationCounter(module);
    const model = buildModel(arch, { numClasses: 4, imgSizePx: sizePx, seed: 1 });
    endPhase("model built");
    const metricModel = new MetricModel(model);
    const lime = method === "lime";
    const explain = explainerFunction(
      getExplainer(method),
      lime ? { numSamples: sampling.limeSamples } : undefined,
    );
    // LIME's time at its default samples, from the time at limeSamples (module doc).
    const explainScale = lime ? LIME_SAMPLES / sampling.limeSamples : 1;
    const shapeNHWC = [images, sizePx, sizePx, 3] as const;
    const x = tf.randomNormal([...shapeNHWC], 0, 1, "float32", 7);
    const xNHWC = await x.data() as Float32Array;
    x.dispose();
    const targets = Int32Array.from({ length: images }, (_, i) => i % 4);
    const batch = `${images} image(s) of ${sizePx} px`;
    let start = performance.now();
    const attributionsNHW = await withinHeap(
      `${arch}, ${method}, ${batch}`,
      () => explain(model, xNHWC, shapeNHWC, targets),
    );
    cost.explainSeconds = (performance.now() - start) / 1000 / images * explainScale;
    endPhase("explained");
    // The unchanged model and one state per parameterised layer.
    const states = parameterisedLayers(model).length + 1;
    for (const name of GRID_METRICS) {
      const metric = getMetric(name);
      const every = name === "mprt" && sampling.mprtStates
        ? Math.ceil(states / sampling.mprtStates)
        : 1;
      const sampled = sampledExplain(explain, every);
      const sensitivity = name === "max_sensitivity";
      const defaults = metric.defaults as typeof metric.defaults & { nrSamples?: number };
      const params = sensitivity
        ? { ...defaults, nrSamples: sampling.sensitivitySamples }
        : defaults;
      const metricScale = sensitivity ? defaults.nrSamples! / sampling.sensitivitySamples : 1;
      start = performance.now();
      await withinHeap(`${arch}, ${method}, ${name}, ${batch}`, () =>
        metric.evaluate(
          { model: metricModel, explain: sampled.explain, draws: new SeededDraws(1) },
          { xNHWC, shapeNHWC, targets, attributionsNHW },
          { ...params, quantusCompat: false },
        ));
      const { asked, timed, seconds, firstSeconds } = sampled.tally;
      const own = (performance.now() - start) / 1000 - seconds;
      const later = timed > 1 ? (seconds - firstSeconds) / (timed - 1) : firstSeconds;
      const reExplaining = asked === 0 ? 0 : (firstSeconds + (asked - 1) * later) * explainScale;
      cost.metricSeconds.push((own + reExplaining) * metricScale / images);
      if (name === "mprt") cost.mprtStates = { asked: asked / images, timed: timed / images };
      endPhase(name);
      console.error(`${arch} ${method} ${name}: ${cost.metricSeconds.at(-1)!.toFixed(2)} s/image`);
    }
    return { ...cost, ok: true, ...memory.stop() };
  } catch (error) {
    return { ...cost, error: (error as Error).message.split("\n")[0], ...memory.stop() };
  } finally {
    counter?.stop();
  }
}

/** Runs one cell in a fresh process and reads its result line. */
async function spawnCell(
  arch: string,
  method: string,
  args: { sizePx: number; images: number; minutes: number; sampling: Sampling },
): Promise<CellCost> {
  const { mprtStates, sensitivitySamples, limeSamples, backend } = args.sampling;
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-read=.", "--allow-ffi", new URL(import.meta.url).pathname],
      ...["--cell", `${arch}/${method}`, "--size", String(args.sizePx)],
      ...["--images", String(args.images), "--mprt-states", String(mprtStates ?? "all")],
      ...["--sensitivity-samples", String(sensitivitySamples)],
      ...["--lime-samples", String(limeSamples), "--backend", backend],
    ],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(args.minutes * 60 * 1000),
  });
  let why: string;
  try {
    const { stdout, code } = await command.output();
    const last = new TextDecoder().decode(stdout).trim().split("\n").at(-1) ?? "";
    if (last.startsWith("{")) return JSON.parse(last) as CellCost;
    why = `exit code ${code}`;
  } catch (error) {
    why = error instanceof DOMException && error.name === "TimeoutError"
      ? `timed out after ${args.minutes} min (time, not memory)`
      : String(error);
  }
  return {
    ok: false,
    explainSeconds: 0,
    metricSeconds: [],
    mprtStates: { asked: 0, timed: 0 },
    phases: [],
    peakRssMb: 0,
    wasmHeapMb: 0,
    error: why,
  };
}

/**
 * Seconds as the table shows them: `12 s`, `4.2 min` or `3.1 h`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { durationText } from "./grid_cost.ts";
 * assert(durationText(12.3) === "12 s" && durationText(252) === "4.2 min");
 * assert(durationText(3 * 3600) === "3.0 h");
 * ```
 */
export function durationText(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The wall time of one grid stage sharded on `machines`: its items (per cell, `chunks` chunks
 * of `costs[cell]` seconds each, cells in grid order) go round-robin to the shards, item `k` to
 * shard `k mod machines` (`runs/shard.ts`), and the stage lasts as long as its slowest shard.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { shardedSeconds } from "./grid_cost.ts";
 * // Two cells of 3 chunks: items 10,10,10,1,1,1 on 2 shards: 10+10+1 and 10+1+1.
 * assert(shardedSeconds([10, 1], 3, 2) === 21);
 * assert(shardedSeconds([10, 1], 3, 1) === 33);
 * ```
 */
export function shardedSeconds(costs: readonly number[], chunks: number, machines: number): number {
  const shards = new Array<number>(machines).fill(0);
  let item = 0;
  for (const cost of costs) {
    for (let c = 0; c < chunks; c++) shards[item++ % machines] += cost;
  }
  return Math.max(...shards);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cell: { type: "string" },
      models: { type: "string" },
      methods: { type: "string" },
      images: { type: "string", default: "2" },
      size: { type: "string", default: "224" },
      "test-images": { type: "string", default: "144" },
      machines: { type: "string", default: "1,4,16" },
      "cell-minutes": { type: "string", default: "30" },
      "mprt-states": { type: "string", default: "all" },
      "sensitivity-samples": { type: "string", default: "7" },
      "lime-samples": { type: "string", default: String(LIME_SAMPLES) },
      jobs: { type: "string", default: "1" },
      backend: { type: "string", default: "wasm" },
      phases: { type: "boolean", default: false },
    },
  });
  const backend = backendName(values.backend, "bench/grid_cost.ts: --backend");
  const sizePx = Number(values.size);
  const images = Number(values.images);
  const wholeNumber = (flag: string) => {
    const value = Number(values[flag as keyof typeof values]);
    if (!Number.isInteger(value) || value < 1) {
      throw new InputError(
        `bench/grid_cost.ts: --${flag} must be a whole number >= 1 (got ${
          values[flag as keyof typeof values]
        })`,
      );
    }
    return value;
  };
  const sampling: Sampling = {
    mprtStates: values["mprt-states"] === "all" ? undefined : wholeNumber("mprt-states"),
    sensitivitySamples: wholeNumber("sensitivity-samples"),
    limeSamples: wholeNumber("lime-samples"),
    backend,
  };
  const jobs = wholeNumber("jobs");
  if (values.cell) {
    const [arch, method] = values.cell.split("/");
    console.log(JSON.stringify(await runCell(arch, method, sizePx, images, sampling)));
    return;
  }
  const testImages = Number(values["test-images"]);
  const minutes = Number(values["cell-minutes"]);
  const machines = values.machines.split(",").map(Number);
  // The reference project's ten: every architecture but this project's own ecgnet.
  const models = values.models?.split(",") ??
    ARCHITECTURES.map((a) => a.name).filter((name) => name !== "ecgnet");
  const methods = values.methods?.split(",") ?? GRID_METHODS;
  const cells = models.flatMap((model) => methods.map((method) => ({ model, method })));
  const costs: (CellCost & { model: string; method: string })[] = new Array(cells.length);
  // `jobs` cells at a time, in grid order; each keeps its place in the table.
  let next = 0;
  const worker = async () => {
    while (next < cells.length) {
      const i = next++;
      const { model, method } = cells[i];
      console.error(`[${i + 1}/${cells.length}] ${model} ${method} ...`);
      const args = { sizePx, images, minutes, sampling };
      costs[i] = { model, method, ...await spawnCell(model, method, args) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, cells.length) }, worker));

  console.log(
    `Grid cost at ${sizePx} px: ${images} random image(s) per cell, random weights, ${backend}, heap ` +
      `budget ${heapBudgetMb()} MiB, the metrics' defaults; per image the seconds of one ` +
      `explanation and of each metric; a grid image costs 2 x explain (xai, then quantus) + the ` +
      `metrics; the ${testImages} images' cost follows. GB = GiB. ` +
      `MPRT re-explained ${sampling.mprtStates ?? "all"} of its states (asked/timed per image in ` +
      `the last column), MaxSensitivity ran ${sampling.sensitivitySamples} noisy copies, LIME ` +
      `${sampling.limeSamples} samples, scaled to the defaults (module doc); ${jobs} cell(s) at ` +
      `a time.\n`,
  );
  const rows = [
    `| model | method | explain s/image | ${GRID_METRICS.join(" s/image | ")} s/image | ` +
    `grid s/image | ${testImages} images | peak memory | MPRT states asked/timed |`,
    `|---|---|---|${GRID_METRICS.map(() => "---").join("|")}|---|---|---|---|`,
  ];
  const chunks = Math.ceil(testImages / CHUNK_IMAGES);
  const xaiChunkSeconds: number[] = [];
  const quantusChunkSeconds: number[] = [];
  const failed: string[] = [];
  for (const cost of costs) {
    if (!cost.ok) {
      failed.push(`${cost.model} x ${cost.method}: ${cost.error}`);
      rows.push(`| ${cost.model} | ${cost.method} | **failed**: ${cost.error} |`);
      continue;
    }
    const metrics = cost.metricSeconds.reduce((a, b) => a + b, 0);
    const perImage = 2 * cost.explainSeconds + metrics;
    xaiChunkSeconds.push(cost.explainSeconds * CHUNK_IMAGES);
    quantusChunkSeconds.push((cost.explainSeconds + metrics) * CHUNK_IMAGES);
    rows.push(
      `| ${cost.model} | ${cost.method} | ${cost.explainSeconds.toFixed(2)} | ` +
        `${cost.metricSeconds.map((s) => s.toFixed(2)).join(" | ")} | ${perImage.toFixed(2)} | ` +
        `${durationText(perImage * testImages)} | ${memoryText(cost)} | ` +
        `${cost.mprtStates.asked}/${cost.mprtStates.timed} |`,
    );
  }
  console.log(rows.join("\n"));
  const total = [...xaiChunkSeconds, ...quantusChunkSeconds].reduce((a, b) => a + b, 0) *
    testImages / CHUNK_IMAGES;
  console.log(
    `\nTotal: ${durationText(total)} for ${xaiChunkSeconds.length} cell(s) x ${testImages} ` +
      `images in one process on this machine.`,
  );
  // Whole chunks, as the stages shard them (the last one a little fuller than it is).
  for (const n of machines) {
    const wall = shardedSeconds(xaiChunkSeconds, chunks, n) +
      shardedSeconds(quantusChunkSeconds, chunks, n);
    console.log(
      `Sharded on ${n} machine(s) (--shard i/${n}, ${chunks} chunks of ${CHUNK_IMAGES} per cell): ` +
        `about ${durationText(wall)} wall`,
    );
  }
  if (failed.length > 0) console.log(`\nLeft out of the totals:\n${failed.join("\n")}`);
  if (values.phases) console.log(`\n${phaseTable(costs)}`);
}

/**
 * The wasm heap after each phase of every cell, as a Markdown table: the heap's size, and what
 * JavaScript callers (tensors, our kernels' work areas) held on it at most during the phase and
 * at its end. The heap growing past what they held is fragmentation or memory tfjs's C++
 * kernels took for themselves (XNNPACK's packed weights), which no JavaScript caller sees.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { phaseTable } from "./grid_cost.ts";
 * const phases = [{ phase: "explained", heapMb: 1423, highMb: 1359, liveMb: 715 }];
 * const table = phaseTable([{ model: "vgg16_bn", method: "lime", phases }]);
 * assert(table.split("\n")[2] === "| vgg16_bn | lime | explained | 1,423 | 1,359 | 715 |");
 * ```
 */
export function phaseTable(
  cells: readonly { model: string; method: string; phases: readonly HeapPhase[] }[],
): string {
  const mb = (value: number) => Math.round(value).toLocaleString("en-US");
  return [
    "| model | method | after | wasm heap MB | held at most MB | held at the end MB |",
    "|---|---|---|---:|---:|---:|",
    ...cells.flatMap(({ model, method, phases }) =>
      phases.map(({ phase, heapMb, highMb, liveMb }) =>
        `| ${model} | ${method} | ${phase} | ${mb(heapMb)} | ${mb(highMb)} | ${mb(liveMb)} |`
      )
    ),
  ].join("\n");
}

if (import.meta.main) await main();
