/**
 * Completeness beyond Quantus parity: on a linear model, gradient x (input - baseline) is exactly
 * complete, so the tolerance, Quantus's exact equality and the normalisation pitfall can be
 * checked with known answers; the output change matches Quantus's recorded predictions.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { COMPLETENESS, type CompletenessParams } from "../metrics/axiomatic/completeness.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import type { MetricBatch } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { startBackend } from "../backends/backend.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import {
  caseBatch,
  caseContext,
  decodeTensor,
  loadQuantusFixtureSet,
  QUANTUS_PARITY_DIR,
  type QuantusCase,
} from "./quantus_fixture.ts";
import { pathExists } from "./test_dirs.ts";

await startBackend("cpu");

const CLASSES = 3;
const PIXELS = 16;
/** Small integer weights: every output below is exact in float32. */
const weights = Array.from(
  { length: PIXELS * CLASSES },
  (_, k) => ((Math.floor(k / CLASSES) * 7 + (k % CLASSES) * 3) % 5) - 2,
);

/** f(x) = W^T flatten(x) + b on 4x4 single-channel images. */
function linearModel(): MetricModel {
  const input = tf.input({ shape: [4, 4, 1] });
  const dense = tf.layers.dense({ units: CLASSES });
  const out = dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  dense.setWeights([tf.tensor2d(weights, [PIXELS, CLASSES]), tf.tensor1d([1, -1, 0.5])]);
  return new MetricModel(model);
}

/** Two images with integer pixels 0..3 (minimum 0, the black baseline), and exact maps. */
function exactBatch(scale = [1, 1]): MetricBatch {
  const x = Float32Array.from({ length: 2 * PIXELS }, (_, j) => (j * 5) % 4);
  const targets = Int32Array.of(0, 2);
  // Gradient x (input - baseline): W[j, y] * (x_j - 0).
  const a = Float32Array.from(
    { length: 2 * PIXELS },
    (_, j) => scale[j >> 4] * weights[(j % PIXELS) * CLASSES + targets[j >> 4]] * x[j],
  );
  return { xNHWC: x, shapeNHWC: [2, 4, 4, 1], targets, attributionsNHW: a };
}

const defaults: CompletenessParams = COMPLETENESS.defaults;

Deno.test("metadata: axiomatic, higher is better, no normalisation by default", () => {
  assertEquals([COMPLETENESS.category, COMPLETENESS.direction], ["axiomatic", "higher"]);
  assertEquals([defaults.normalise, defaults.rtol, defaults.atol], [false, 0.05, 1e-5]);
});

Deno.test("exact maps are complete, in both modes, in one model call", async () => {
  const model = linearModel();
  const context = { model, draws: new SeededDraws(0) };
  const r = await COMPLETENESS.evaluate(context, exactBatch(), defaults);
  assertEquals(Array.from(r.scores), [1, 1]);
  assertEquals(model.calls, 1);
  assertEquals(r.series!.attributionSum, r.series!.outputChange);
  const quantus = await COMPLETENESS.evaluate(context, exactBatch(), {
    ...defaults,
    quantusCompat: true,
  });
  assertEquals(COMPLETENESS.toQuantus(quantus, defaults), [true, true]);
  model.dispose();
});

Deno.test("the tolerance: 3 % off passes, 10 % off fails; Quantus's equality fails both", async () => {
  const model = linearModel();
  const context = { model, draws: new SeededDraws(0) };
  const batch = exactBatch([1.03, 1.1]);
  const r = await COMPLETENESS.evaluate(context, batch, defaults);
  assertEquals(Array.from(r.scores), [1, 0]);
  const strict = await COMPLETENESS.evaluate(context, batch, { ...defaults, rtol: 0.01 });
  assertEquals(Array.from(strict.scores), [0, 0]);
  const quantus = await COMPLETENESS.evaluate(context, batch, { ...defaults, quantusCompat: true });
  assertEquals(Array.from(quantus.scores), [0, 0]);
  model.dispose();
});

Deno.test("normalising rescales the sum, so a complete map fails (why the default is off)", async () => {
  const model = linearModel();
  const context = { model, draws: new SeededDraws(0) };
  const r = await COMPLETENESS.evaluate(context, exactBatch(), { ...defaults, normalise: true });
  assertEquals(Array.from(r.scores), [0, 0]);
  model.dispose();
});

Deno.test("a numeric baseline and bad tolerances", async () => {
  const model = linearModel();
  const context = { model, draws: new SeededDraws(0) };
  const batch = exactBatch();
  const before = batch.attributionsNHW.slice();
  // Baseline 1: the maps above (made for baseline 0) are off by Σ W[j, y].
  const r = await COMPLETENESS.evaluate(context, batch, { ...defaults, perturbBaseline: 1 });
  for (let i = 0; i < 2; i++) {
    let shift = 0;
    for (let j = 0; j < PIXELS; j++) shift += weights[j * CLASSES + batch.targets[i]];
    assertAlmostEquals(r.series!.outputChange[i], r.series!.attributionSum[i] - shift, 1e-5);
  }
  await assertRejects(
    () => COMPLETENESS.evaluate(context, batch, { ...defaults, rtol: -1 }),
    InputError,
    "rtol",
  );
  assertEquals(batch.attributionsNHW, before);
  model.dispose();
});

const fixture = await pathExists(`${QUANTUS_PARITY_DIR}/Completeness.json`);

Deno.test({
  name: "the output change matches Quantus's recorded predictions",
  ignore: !fixture,
  async fn() {
    const set = await loadQuantusFixtureSet(QUANTUS_PARITY_DIR);
    const file = await set.readMetric("Completeness");
    const c = file.cases[0] as QuantusCase & { predict_log: Parameters<typeof decodeTensor>[0] };
    const context = caseContext(set, c);
    const params = COMPLETENESS.fromQuantus(c.init_effective, c.call_effective);
    const r = await COMPLETENESS.evaluate(context, caseBatch(set, c), params);
    const { data } = decodeTensor(c.predict_log); // [2 calls, N, K]
    const n = set.y.length;
    for (let i = 0; i < n; i++) {
      const expected = data[i * set.numClasses + set.y[i]] -
        data[(n + i) * set.numClasses + set.y[i]];
      assertAlmostEquals(r.series!.outputChange[i], expected, 1e-5);
    }
    assert(r.scores.every((s) => s === 0), "Quantus's exact comparison is false for all");
    context.model.dispose();
  },
});
if (!fixture) {
  console.warn(`completeness: fixture check skipped, no ${QUANTUS_PARITY_DIR}/Completeness.json`);
}
