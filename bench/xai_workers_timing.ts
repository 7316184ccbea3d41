/**
 * Wall time of `deno task xai` with `--workers 1` against `--workers 2`, each run a fresh
 * process (so worker start-up counts), on the demo's synthetic data set and untrained
 * checkpoints (speed does not depend on the weights). Prints a Markdown table for
 * BENCHMARKS.md.
 *
 * A plain script, not a `deno bench` file (its name does not end in `_bench.ts`): each case is a
 * whole stage run of tens of seconds. Run:
 *
 * ```sh
 * deno run --allow-read=. --allow-write=outputs --allow-run=deno --allow-sys=loadavg bench/xai_workers_timing.ts
 * ```
 *
 * Data and checkpoints go to `outputs/bench/xai_workers/` and are reused by later runs.
 *
 * @module
 */
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { modelPaths, writeCheckpoint } from "../training/checkpoint_io.ts";
import { DEMO_IMG_SIZE_PX, DEMO_XAI_LIMIT, DEMO_XAI_METHODS } from "../stages/demo.ts";
import { DEMO_IMAGES_PER_CLASS, DEMO_WIDTH_PX } from "../stages/data_synth.ts";

const ROOT = "outputs/bench/xai_workers";
const DATA = `${ROOT}/ds`;
const CLASSES = ["Abnormal", "HistoryMI", "MI", "Normal"];
// The stage's wasm file, where node_modules is a link out of the checkout (a git worktree).
const NODE_MODULES = await Deno.realPath("node_modules");

/** One timed configuration of the stage. */
interface Case {
  label: string;
  model: string;
  imgSizePx: number;
  limit: number;
  methods: readonly string[];
}

const CASES: Case[] = [
  {
    label: "demo",
    model: "ecgnet",
    imgSizePx: DEMO_IMG_SIZE_PX,
    limit: DEMO_XAI_LIMIT,
    methods: DEMO_XAI_METHODS,
  },
  {
    label: "demo x4 images",
    model: "ecgnet",
    imgSizePx: DEMO_IMG_SIZE_PX,
    limit: 4 * DEMO_XAI_LIMIT,
    methods: DEMO_XAI_METHODS,
  },
  { label: "resnet18", model: "resnet18", imgSizePx: 224, limit: 16, methods: ["gradcam"] },
];

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function prepare(c: Case): Promise<string> {
  if (!(await exists(`${DATA}/test`))) {
    await writeSyntheticDataset({
      outDir: DATA,
      perClass: DEMO_IMAGES_PER_CLASS,
      seed: 42,
      widthPx: DEMO_WIDTH_PX,
    });
  }
  const out = `${ROOT}/${c.model}_${c.imgSizePx}`;
  const best = modelPaths(out, c.model).best;
  if (!(await exists(best))) {
    await startBackend("cpu");
    const model = buildModel(c.model, { numClasses: 4, imgSizePx: c.imgSizePx, seed: 1 });
    await writeCheckpoint(best, model, {
      model: c.model,
      classes: CLASSES,
      imgSizePx: c.imgSizePx,
      epoch: 1,
      valAccuracy: 0,
      config: {},
    });
    model.dispose();
  }
  return out;
}

/** Runs the stage in a fresh process on a fresh explanations folder; wall seconds. */
async function runXai(c: Case, out: string, workers: number, methods = c.methods): Promise<number> {
  await Deno.remove(`${out}/explanations`, { recursive: true }).catch(() => {});
  const args = [
    "run",
    `--allow-read=.,${NODE_MODULES}`,
    "--allow-write=outputs",
    "mod.ts",
    "xai",
    ...["--backend", "wasm", "--data", DATA, "--out", out, "--models", c.model],
    ...["--limit", String(c.limit), "--methods", methods.join(","), "--workers", String(workers)],
  ];
  const start = performance.now();
  const { code, stderr } = await new Deno.Command("deno", { args, stdout: "null", stderr: "piped" })
    .output();
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`deno ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return seconds;
}

function load(): string {
  try {
    return Deno.loadavg().map((v) => v.toFixed(1)).join(" ");
  } catch {
    return "n/a (run with --allow-sys=loadavg)";
  }
}

console.log(`CPU cores: ${navigator.hardwareConcurrency}; load average at start: ${load()}`);
console.log("");
console.log("| case | model, px | test images | methods | workers 1 | workers 2 | speed-up |");
console.log("| ---- | --------- | ----------- | ------- | --------- | --------- | -------- |");
for (const c of CASES) {
  const out = await prepare(c);
  // Fills the decoded-image cache, so neither timed run pays for decoding.
  await runXai(c, out, 1, ["saliency"]);
  const one = await runXai(c, out, 1);
  const two = await runXai(c, out, 2);
  console.log(
    `| ${c.label} | ${c.model}, ${c.imgSizePx} | ${c.limit} | ${c.methods.join(", ")} | ` +
      `${one.toFixed(1)} s | ${two.toFixed(1)} s | ${(one / two).toFixed(2)}x |`,
  );
}
console.log("");
console.log(`load average at end: ${load()}`);
