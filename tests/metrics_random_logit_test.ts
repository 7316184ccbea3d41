/**
 * Random Logit beyond Quantus parity: the other class is never the target, the draws restart
 * from the seed per group of `batchSize` images, class-blind explanations score the worst SSIM,
 * 1-D SSIM against a direct transcription of its definition, NaN reasons and bad input.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import type { ExplainFunction, MetricBatch } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { RANDOM_LOGIT, type RandomLogitParams } from "../metrics/randomisation/random_logit.ts";
import { ssim1d } from "../metrics/functions/similarity.ts";
import { startBackend } from "../backends/backend.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";

await startBackend("cpu");

const CLASSES = 4;
const PIXELS = 16;

/** f(x) = W^T flatten(x) on 4x4 images, so the gradient for class c is W[:, c]. */
function linearModel(classes = CLASSES): MetricModel {
  const input = tf.input({ shape: [4, 4, 1] });
  const dense = tf.layers.dense({ units: classes, useBias: false });
  const out = dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const random = new SeededRandom(11);
  dense.setWeights([tf.tensor2d(Array.from({ length: PIXELS * classes }, () => random.normal()), [
    PIXELS,
    classes,
  ])]);
  return new MetricModel(model);
}

/** Explains with W[:, target] (the gradient of the linear model) and records the targets. */
function columnExplainer(model: MetricModel, seen: number[][]): ExplainFunction {
  const w = model.layers.layers[2].getWeights()[0].dataSync();
  const k = model.numClasses;
  return (_model, _x, shape, targets) => {
    seen.push(Array.from(targets));
    const maps = new Float32Array(shape[0] * PIXELS);
    for (let i = 0; i < shape[0]; i++) {
      for (let j = 0; j < PIXELS; j++) maps[i * PIXELS + j] = w[j * k + targets[i]];
    }
    return Promise.resolve(maps);
  };
}

function batchOf(targets: number[], maps?: Float32Array): MetricBatch {
  const n = targets.length;
  const random = new SeededRandom(5);
  return {
    xNHWC: Float32Array.from({ length: n * PIXELS }, () => random.uniform()),
    shapeNHWC: [n, 4, 4, 1],
    targets: Int32Array.from(targets),
    attributionsNHW: maps ?? Float32Array.from({ length: n * PIXELS }, () => random.normal()),
  };
}

const defaults: RandomLogitParams = RANDOM_LOGIT.defaults;

Deno.test("metadata: randomisation, lower is better, the model's class count by default", () => {
  assertEquals([RANDOM_LOGIT.category, RANDOM_LOGIT.direction], ["randomisation", "lower"]);
  assertEquals([defaults.numClasses, defaults.seed, defaults.batchSize], [null, 42, 64]);
});

Deno.test("the other class is never the target and is reproducible from the seed", async () => {
  const model = linearModel();
  const seen: number[][] = [];
  const explain = columnExplainer(model, seen);
  const targets = Array.from({ length: 40 }, (_, i) => i % CLASSES);
  const batch = batchOf(targets);
  const first = await RANDOM_LOGIT.evaluate(
    { model, explain, draws: new SeededDraws(1) },
    batch,
    defaults,
  );
  // Another starting stream: the metric reseeds, so the same classes and scores follow.
  const second = await RANDOM_LOGIT.evaluate(
    { model, explain, draws: new SeededDraws(99) },
    batch,
    defaults,
  );
  assertEquals(seen[0], seen[1]);
  assert(seen[0].every((c, i) => c !== targets[i] && c >= 0 && c < CLASSES));
  assert(new Set(seen[0]).size === CLASSES, "every class appears as the other class");
  assertEquals(first.scores, second.scores);
  model.dispose();
});

Deno.test("the draws restart for every group of batchSize images, as Quantus's batches do", async () => {
  const model = linearModel();
  const seen: number[][] = [];
  const batch = batchOf([1, 2, 3, 1, 2, 3]);
  await RANDOM_LOGIT.evaluate(
    { model, explain: columnExplainer(model, seen), draws: new SeededDraws(0) },
    batch,
    { ...defaults, batchSize: 3 },
  );
  assertEquals(seen[0].slice(0, 3), seen[0].slice(3));
  model.dispose();
});

Deno.test("with two classes the other class is 1 - y; class-blind maps score SSIM 1", async () => {
  const model = linearModel(2);
  const seen: number[][] = [];
  const batch = batchOf([0, 1, 1]);
  await RANDOM_LOGIT.evaluate(
    { model, explain: columnExplainer(model, seen), draws: new SeededDraws(0) },
    batch,
    defaults,
  );
  assertEquals(seen[0], [1, 0, 0]);
  const blind: ExplainFunction = (_m, x) => Promise.resolve((x as Float32Array).slice());
  const r = await RANDOM_LOGIT.evaluate(
    { model, explain: blind, draws: new SeededDraws(0) },
    { ...batch, attributionsNHW: batch.xNHWC },
    defaults,
  );
  r.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-9));
  model.dispose();
});

Deno.test("the score is the SSIM of the prepared maps (signed gradients here)", async () => {
  const model = linearModel();
  const seen: number[][] = [];
  const explain = columnExplainer(model, seen);
  const batch = batchOf([0, 3]);
  const own = await explain(model.layers, batch.xNHWC, batch.shapeNHWC, batch.targets);
  const params = { ...defaults, normalise: false };
  const r = await RANDOM_LOGIT.evaluate(
    { model, explain, draws: new SeededDraws(0) },
    { ...batch, attributionsNHW: own },
    params,
  );
  const other = await explain(model.layers, batch.xNHWC, batch.shapeNHWC, Int32Array.from(seen[1]));
  for (let i = 0; i < 2; i++) {
    const [from, to] = [i * PIXELS, (i + 1) * PIXELS];
    assertAlmostEquals(
      r.scores[i],
      ssim1d(own.subarray(from, to), other.subarray(from, to)),
      1e-12,
    );
    assert(r.scores[i] < 0.9, "different classes of a random linear model differ");
  }
  model.dispose();
});

Deno.test("ssim1d follows its definition term by term", () => {
  const random = new SeededRandom(2);
  const a = Array.from({ length: 30 }, () => random.normal());
  const b = Array.from({ length: 30 }, () => random.normal());
  const range = Math.max(...a, ...b) - Math.min(...a, ...b);
  const [c1, c2] = [(0.01 * range) ** 2, (0.03 * range) ** 2];
  const stats = (u: number[], v: number[]) => {
    const mu = u.reduce((s, x) => s + x, 0) / 7, mv = v.reduce((s, x) => s + x, 0) / 7;
    const cov = u.reduce((s, x, k) => s + (x - mu) * (v[k] - mv), 0) / 6; // sample covariance
    return { mu, mv, cov };
  };
  let total = 0;
  for (let centre = 3; centre < 27; centre++) {
    const u = a.slice(centre - 3, centre + 4), v = b.slice(centre - 3, centre + 4);
    const { mu, mv, cov } = stats(u, v);
    const vu = stats(u, u).cov, vv = stats(v, v).cov;
    total += ((2 * mu * mv + c1) * (2 * cov + c2)) / ((mu * mu + mv * mv + c1) * (vu + vv + c2));
  }
  assertAlmostEquals(ssim1d(a, b), total / 24, 1e-12);
  assert(Number.isNaN(ssim1d([1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1])));
  assert(Number.isNaN(ssim1d([1, 2, 3], [3, 2, 1])), "shorter than the window");
});

Deno.test("constant maps are NaN with a reason; bad setups are InputErrors", async () => {
  const model = linearModel();
  const constant: ExplainFunction = (_m, _x, shape) =>
    Promise.resolve(new Float32Array(shape[0] * PIXELS).fill(2));
  const batch = batchOf([0], new Float32Array(PIXELS).fill(2));
  const r = await RANDOM_LOGIT.evaluate(
    { model, explain: constant, draws: new SeededDraws(0) },
    batch,
    { ...defaults, normalise: false },
  );
  assert(Number.isNaN(r.scores[0]) && r.reasons[0]!.includes("constant"));
  const draws = new SeededDraws(0);
  await assertRejects(
    () => RANDOM_LOGIT.evaluate({ model, draws }, batch, defaults),
    InputError,
    "explanation method",
  );
  await assertRejects(
    () =>
      RANDOM_LOGIT.evaluate({ model, explain: constant, draws }, batch, {
        ...defaults,
        numClasses: 1000,
      }),
    InputError,
    "num_classes",
  );
  model.dispose();
});

Deno.test("inputs are never modified", async () => {
  const model = linearModel();
  const batch = batchOf([0, 1, 2]);
  const before = batch.attributionsNHW.slice();
  for (const params of [defaults, { ...defaults, abs: true, quantusCompat: true }]) {
    await RANDOM_LOGIT.evaluate(
      { model, explain: columnExplainer(model, []), draws: new SeededDraws(0) },
      batch,
      params,
    );
  }
  assertEquals(batch.attributionsNHW, before);
  model.dispose();
});

Deno.test("quantusCompat: re-explanations normalised per batch, given maps over the whole call", async () => {
  const model = linearModel();
  const blind: ExplainFunction = (_m, x) => Promise.resolve((x as Float32Array).slice());
  const batch = batchOf([0, 1, 2, 3]);
  // Image i scaled by i + 1, so the whole-call maximum is image 3's.
  const x = Float32Array.from(batch.xNHWC, (v, j) => v * (1 + (j >> 4)));
  const input = { ...batch, xNHWC: x, attributionsNHW: x };
  const context = { model, explain: blind, draws: new SeededDraws(0) };
  const compat = { ...defaults, quantusCompat: true };
  const oneBatch = await RANDOM_LOGIT.evaluate(context, input, compat);
  oneBatch.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-9));
  const perImage = await RANDOM_LOGIT.evaluate(context, input, { ...compat, batchSize: 1 });
  assert(perImage.scores.slice(0, 3).every((s) => s < 1 - 1e-3), `${perImage.scores}`);
  assertAlmostEquals(perImage.scores[3], 1, 1e-9);
  // Our default normalises each image by itself: the same maps agree whatever batchSize is.
  const ours = await RANDOM_LOGIT.evaluate(context, input, { ...defaults, batchSize: 1 });
  ours.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-9));
  model.dispose();
});
