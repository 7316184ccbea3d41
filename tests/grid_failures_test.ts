/**
 * Grid stages survive heap failures: a job that runs out of wasm heap (or whose backend aborts)
 * fails alone with one line, the other jobs' outputs are complete, the failure is listed at the
 * end and recorded beside the parts, and a rerun redoes only the failed chunks.
 *
 * The failure is injected through the stages' model-builder hook: the "hog" model's backward
 * pass throws what the wasm backend throws when its heap is full (or aborts), so its gradient
 * methods fail while its forward pass (the predictions) works.
 */
import { parseCsv, tf } from "../deps.ts";
import { HeapExhaustedError } from "../backends/heap.ts";
import type { BuildOptions } from "../models/architecture.ts";
import { buildModel } from "../models/registry.ts";
import { writeCheckpoint } from "../training/checkpoint_io.ts";
import { runStage } from "../stages/cli.ts";
import { xai, xaiSpec } from "../stages/xai.ts";
import { quantus, quantusSpec } from "../stages/quantus.ts";
import { readPartsState } from "../runs/shard.ts";
import { RestartingWorkerPool } from "../runs/restarting_pool.ts";
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { SYNTH_CLASS_NAMES, writeTinySyntheticSet } from "./training_fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("the restarting pool replaces a worker whose result says it is spent", async () => {
  const pool = new RestartingWorkerPool<{ spend: boolean }, { served: number; spent: boolean }>(
    new URL("./spent_worker.ts", import.meta.url),
    1,
    (result) => result.spent,
  );
  try {
    const served: number[] = [];
    await pool.map(5, (i) => ({ spend: i === 2 }), (i, result) => {
      served[i] = result.served;
    });
    // Jobs 0-2 on the first worker; it is spent after job 2, so jobs 3-4 run on a fresh one.
    assertEquals(served, [1, 2, 3, 1, 2]);
    assertEquals(pool.restarts, 1);
  } finally {
    pool.close();
  }
});

/** What the hog's backward pass throws: a full heap, or a wasm abort. */
let hogFailure: (() => Error) | undefined;

/** Identity forward; its gradient throws {@link hogFailure}'s error while one is set. */
class GradientHog extends tf.layers.Layer {
  static className = "GradientHog";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const pass = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(args[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        if (hogFailure) throw hogFailure();
        return [dy];
      },
    }));
    return pass(x) as tf.Tensor;
  }
}

/** ecgnet from the registry, or for "hog" a small CNN with a {@link GradientHog} before its head. */
function builder(name: string, options: BuildOptions): tf.LayersModel {
  if (name !== "hog") return buildModel(name, options);
  const input = tf.input({ shape: [options.imgSizePx, options.imgSizePx, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2 }).apply(
    input,
  ) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = new GradientHog({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: options.numClasses }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** Untrained ecgnet and hog checkpoints at 32 px under `<out>/checkpoints`. */
async function writeCheckpoints(out: string): Promise<void> {
  await tf.setBackend("cpu");
  for (const name of ["ecgnet", "hog"]) {
    const model = builder(name, { numClasses: 4, imgSizePx: 32, seed: 5 });
    await writeCheckpoint(`${out}/checkpoints/${name}_best`, model, {
      model: name,
      classes: SYNTH_CLASS_NAMES,
      imgSizePx: 32,
      epoch: 1,
      valAccuracy: 0.25,
      config: {},
    });
    model.dispose();
  }
}

/** Runs a grid stage with the hog builder, capturing what it prints. */
async function runGridStage(
  stage: "xai" | "quantus",
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  console.warn = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = stage === "xai"
      ? await runStage(xaiSpec, argv, (args) => xai(args, { buildModel: builder }))
      : await runStage(quantusSpec, argv, (args) => quantus(args, { buildModel: builder }));
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

Deno.test("xai: a chunk that runs out of heap fails alone, is listed, and is redone on a rerun", async () => {
  await using dir = await testDir();
  const [data, out] = [`${dir.path}/ds`, `${dir.path}/out`];
  await writeTinySyntheticSet(data);
  await writeCheckpoints(out);
  const argv = [
    ...["--backend", "cpu", "--out", out, "--data", data, "--models", "ecgnet,hog"],
    ...["--methods", "saliency", "--chunk-size", "2", "--heap-budget-mb", "512"],
  ];
  hogFailure = () =>
    new HeapExhaustedError(
      "the wasm heap is exhausted: 9.0 MiB more do not fit beside the 4095 MiB in use (limit 4096)",
    );
  let first;
  try {
    first = await runGridStage("xai", argv);
  } finally {
    hogFailure = undefined;
  }
  assertEquals(first.code, 1, first.err);
  assert(!/\n\s+at /.test(first.err), `a stack trace:\n${first.err}`);
  const failedLines = first.err.split("\n").filter((l) => l.startsWith("failed: "));
  assertEquals(failedLines.length, 2, first.err);
  for (const [chunk, line] of failedLines.entries()) {
    assert(
      line.startsWith(
        `failed: hog saliency, chunk ${chunk} of 2 (2 image(s) of 32 px): the wasm heap is exhausted`,
      ),
      line,
    );
    assert(
      line.includes("--heap-budget-mb (now 512)") && line.includes("--chunk-size (now 2)"),
      line,
    );
  }
  assert(first.err.includes("2 of 4 job(s) failed:\n  hog saliency, chunk 0 of 2"), first.err);
  const last = first.err.split("\n").at(-1)!;
  assert(last.startsWith("error: 2 job(s) failed for want of heap (listed above)"), last);
  // ecgnet's outputs are complete and merged.
  const index: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/explanations/ecgnet/saliency/index.csv`),
  );
  assertEquals(index.length, 1 + 4);
  for (const [id] of index.slice(1)) {
    assert((await Deno.stat(`${out}/explanations/ecgnet/saliency/overlay/${id}.png`)).isFile);
  }
  // hog's method is not merged; its failures are recorded where status and merge read them.
  const hog = `${out}/explanations/hog/saliency`;
  await Deno.stat(`${hog}/index.csv`).then(() => assert(false, "hog merged"), () => {});
  const state = (await readPartsState(hog))!;
  assertEquals(state.done, []);
  assertEquals(state.failed.map((f) => f.chunk), [0, 1]);
  assert(state.failed[0].reason.startsWith("the wasm heap is exhausted"));
  const status = await runMain(["status", "--out", out]);
  assert(status.out.includes("chunk 0 failed: the wasm heap is exhausted"), status.out);
  const merge = await runMain(["merge", "--out", out]);
  assertEquals(merge.code, 1);
  assert(merge.err.includes("chunk 0 failed: the wasm heap is exhausted"), merge.err);

  // With room again, a rerun explains only hog's chunks and merges them.
  const second = await runGridStage("xai", argv);
  assertEquals(second.code, 0, second.err);
  assert(second.out.includes("ecgnet saliency: already done"), second.out);
  assertEquals(parseCsv(await Deno.readTextFile(`${hog}/index.csv`)).length, 1 + 4);
  assertEquals(await readPartsState(hog), undefined);
});

Deno.test("quantus: a wasm abort in this thread fails its batch, the jobs after it are not run, and nothing is half-written", async () => {
  await using dir = await testDir();
  const [data, out] = [`${dir.path}/ds`, `${dir.path}/out`];
  await writeTinySyntheticSet(data);
  await writeCheckpoints(out);
  const argv = [
    ...["--backend", "cpu", "--out", out, "--data", data, "--models", "ecgnet,hog"],
    ...["--methods", "saliency", "--metrics", "max_sensitivity", "--chunk-size", "2"],
    ...["--params", JSON.stringify({ max_sensitivity: { nrSamples: 2 } })],
  ];
  hogFailure = () => new WebAssembly.RuntimeError("memory access out of bounds");
  let run;
  try {
    run = await runGridStage("quantus", argv);
  } finally {
    hogFailure = undefined;
  }
  assertEquals(run.code, 1, run.err);
  assert(!/\n\s+at /.test(run.err), `a stack trace:\n${run.err}`);
  assert(
    run.err.includes(
      "failed: hog saliency, chunk 0 of 2 (2 image(s) of 32 px): the wasm backend aborted (memory access out of bounds)",
    ),
    run.err,
  );
  assert(
    run.err.includes(
      "hog saliency, chunk 1 of 2 (2 image(s) of 32 px): not run: the wasm backend of this process was lost on hog saliency, chunk 0",
    ),
    run.err,
  );
  assert(run.err.includes("--workers 2 or more a lost worker is replaced"), run.err);
  const rows: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/metrics/quantus_ecgnet_saliency.csv`),
  );
  assertEquals(rows.length, 1 + 4);
  assert(rows.slice(1).every((r) => Number.isFinite(Number(r[4]))), rows.join("\n"));
  await Deno.stat(`${out}/metrics/quantus_hog_saliency.csv`).then(
    () => assert(false, "a file of hog's scores"),
    () => {},
  );
  const summary = await Deno.readTextFile(`${out}/results/quantus_summary.csv`);
  assert(summary.includes("ecgnet,saliency,max_sensitivity"), summary);
  const state = (await readPartsState(`${out}/metrics/quantus_hog_saliency`))!;
  assertEquals([state.done, state.failed.map((f) => f.chunk)], [[], [0, 1]]);
});
