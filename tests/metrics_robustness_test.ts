/**
 * Behaviour of FaithfulnessCorrelation, the noise-robustness metrics and MPRT beyond Quantus
 * parity: known answers on hand-built models, NaN reasons, untouched inputs and models, and the
 * draw sources.
 */
import { tf } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { InputError } from "../core/errors.ts";
import { ReplayDraws, SeededDraws } from "../metrics/functions/draws.ts";
import { AVG_SENSITIVITY } from "../metrics/robustness/avg_sensitivity.ts";
import { CONSISTENCY } from "../metrics/robustness/consistency.ts";
import { CONTINUITY } from "../metrics/robustness/continuity.ts";
import { FAITHFULNESS_CORRELATION } from "../metrics/faithfulness/faithfulness_correlation.ts";
import { LOCAL_LIPSCHITZ_ESTIMATE } from "../metrics/robustness/local_lipschitz_estimate.ts";
import { MAX_SENSITIVITY } from "../metrics/robustness/max_sensitivity.ts";
import { RELATIVE_INPUT_STABILITY } from "../metrics/robustness/relative_input_stability.ts";
import { RELATIVE_OUTPUT_STABILITY } from "../metrics/robustness/relative_output_stability.ts";
import {
  RELATIVE_REPRESENTATION_STABILITY,
  type RelativeRepresentationStabilityParams,
} from "../metrics/robustness/relative_representation_stability.ts";
import type {
  ExplainFunction,
  MetricBatch,
  MetricContext,
  MetricDefinition,
} from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { MPRT, MPRT_ORIGINAL } from "../metrics/randomisation/mprt.ts";
import { normaliseByMax } from "../metrics/functions/normalise.ts";
import { summariseScores } from "../metrics/summary.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import { SALIENCY } from "../xai/gradient/saliency.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";

await tf.setBackend("cpu");

const [N, H, W, C] = [3, 4, 4, 1];
const PIXELS = H * W;

/** f(x) = Σ w·x for class 0 and −Σ w·x for class 1: a linear model whose gradient is w. */
function linearModel(w: Float32Array): tf.LayersModel {
  const input = tf.input({ shape: [H, W, C] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false });
  const out = dense.apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const kernel = new Float32Array(PIXELS * 2);
  w.forEach((v, p) => {
    kernel[p * 2] = v;
    kernel[p * 2 + 1] = -v;
  });
  dense.setWeights([tf.tensor2d(kernel, [PIXELS, 2])]);
  return model;
}

const weights = Float32Array.from({ length: PIXELS }, (_, p) => (p % 5) - 1.5);
const x = Float32Array.from({ length: N * PIXELS }, (_, j) => 0.1 + ((j * 7) % 11) / 11);

function batch(attributions: Float32Array): MetricBatch {
  return {
    xNHWC: x,
    shapeNHWC: [N, H, W, C],
    targets: Int32Array.of(0, 0, 0),
    attributionsNHW: attributions,
  };
}

function context(model: tf.LayersModel, explain?: ExplainFunction): MetricContext {
  return { model: new MetricModel(model), explain, draws: new SeededDraws(5) };
}

/** Input x Gradient relative to the black baseline: exactly the output drop of a subset. */
function exactAttributions(): Float32Array {
  const a = new Float32Array(N * PIXELS);
  for (let i = 0; i < N; i++) {
    const image = x.subarray(i * PIXELS, (i + 1) * PIXELS);
    const black = Math.min(...image);
    for (let p = 0; p < PIXELS; p++) a[i * PIXELS + p] = weights[p] * (image[p] - black);
  }
  return a;
}

Deno.test("FaithfulnessCorrelation: exact attributions of a linear model correlate perfectly", async () => {
  const model = linearModel(weights);
  const a = exactAttributions();
  const before = [x.slice(), a.slice()];
  const params = {
    ...FAITHFULNESS_CORRELATION.defaults,
    normalise: false,
    nrRuns: 12,
    subsetSize: 5,
  };
  const result = await FAITHFULNESS_CORRELATION.evaluate(context(model), batch(a), params);
  result.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-5));
  assertEquals([x, a], before, "inputs are not modified");
  const shuffled = await FAITHFULNESS_CORRELATION.evaluate(
    context(model),
    batch(a.map((_, j) => a[(j * 5 + 3) % a.length])),
    params,
  );
  assert(shuffled.scores.every((s) => s < 0.99), `${shuffled.scores}`);
  const constant = await FAITHFULNESS_CORRELATION.evaluate(
    context(model),
    batch(new Float32Array(N * PIXELS).fill(1)),
    { ...params, subsetSize: PIXELS },
  );
  assert(constant.scores.every((s) => Number.isNaN(s)));
  assert(constant.reasons.every((r) => r?.includes("same in every run")), constant.reasons[0]);
  let error: unknown;
  await FAITHFULNESS_CORRELATION.evaluate(context(model), batch(a), { ...params, subsetSize: 99 })
    .catch((e) => (error = e));
  assert(error instanceof InputError && error.message.includes("subsetSize 99"), String(error));
  model.dispose();
});

Deno.test("sensitivity metrics: an input-independent explanation scores 0; scaled maps score the scale", async () => {
  const model = linearModel(weights);
  const a = exactAttributions();
  const same: ExplainFunction = (_m, _x, shape) =>
    Promise.resolve(
      Float32Array.from({ length: shape[0] * PIXELS }, (_, j) => a[j % (N * PIXELS)]),
    );
  const doubled: ExplainFunction = async (...args) => (await same(...args)).map((v) => 2 * v);
  const plain = { abs: false, normalise: false };
  for (const metric of [MAX_SENSITIVITY, AVG_SENSITIVITY]) {
    const params = { ...metric.defaults, ...plain, nrSamples: 3 };
    const zero = await metric.evaluate(context(model, same), batch(a), params);
    assertEquals([...zero.scores], [0, 0, 0]);
    const one = await metric.evaluate(context(model, doubled), batch(a), params);
    one.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-6));
    const normalised = await metric.evaluate(context(model, doubled), batch(a), {
      ...params,
      normalise: true,
    });
    normalised.scores.forEach((s) => assertAlmostEquals(s, 0, 1e-6));
    const empty = await metric.evaluate(
      context(model, same),
      batch(new Float32Array(N * PIXELS)),
      params,
    );
    assert(empty.scores.every((s) => Number.isNaN(s)) && empty.reasons[0]?.includes("all zero"));
  }
  const lle = await LOCAL_LIPSCHITZ_ESTIMATE.evaluate(context(model, same), batch(a), {
    ...LOCAL_LIPSCHITZ_ESTIMATE.defaults,
    ...plain,
    nrSamples: 2,
  });
  assertEquals([...lle.scores], [0, 0, 0]);
  let error: unknown;
  await MAX_SENSITIVITY.evaluate(context(model), batch(a), MAX_SENSITIVITY.defaults)
    .catch((e) => (error = e));
  assert(error instanceof InputError && error.message.includes("explainer"), String(error));
  model.dispose();
});

Deno.test("Max-Sensitivity: the gradient of a linear model does not move under noise", async () => {
  const model = linearModel(weights);
  const explain = explainerFunction(SALIENCY, { abs: false });
  const a = await explain(model, x, [N, H, W, C], Int32Array.of(0, 0, 0));
  const result = await MAX_SENSITIVITY.evaluate(
    context(model, explain),
    batch(a),
    MAX_SENSITIVITY.defaults,
  );
  result.scores.forEach((s) => assertAlmostEquals(s, 0, 1e-6));
  model.dispose();
});

Deno.test("relative stabilities: known ratios; a sample that changes the class is left out (compat: NaN)", async () => {
  const model = linearModel(weights);
  const a = exactAttributions();
  const doubled: ExplainFunction = (_m, _x, shape) =>
    Promise.resolve(
      Float32Array.from({ length: shape[0] * PIXELS }, (_, j) => 2 * a[j % (N * PIXELS)]),
    );
  // Sample 1 scales every image by 1.1; sample 2 too, except that it pushes image 0 against the
  // weights until it changes class.
  const scaled = Float64Array.from(x, (v) => 0.1 * v);
  const flipped = scaled.map((v, j) => (j < PIXELS ? -3 * Math.sign(weights[j]) : v));
  const draws = () =>
    new ReplayDraws([{ fn: "uniform", values: scaled }, { fn: "uniform", values: flipped }]);
  const score = (i: number, wx: number) => {
    const nonZero = a.subarray(i * PIXELS, (i + 1) * PIXELS).filter((v) => v !== 0).length;
    // (e − 2e) / e = −1 where e ≠ 0; (x − 1.1x) / x = −0.1; h(x) − h(1.1x) = ∓0.1·w·x.
    return {
      input: Math.sqrt(nonZero) / (0.1 * Math.sqrt(PIXELS)),
      output: Math.sqrt(nonZero) / (0.1 * Math.SQRT2 * Math.abs(wx)),
      representation: Math.sqrt(nonZero) / (0.1 * Math.SQRT2),
    };
  };
  const wx = Array.from(
    { length: N },
    (_, i) => weights.reduce((sum, w, p) => sum + w * x[i * PIXELS + p], 0),
  );
  // deno-lint-ignore no-explicit-any
  const metrics: [MetricDefinition<any>, "input" | "output" | "representation"][] = [
    [RELATIVE_INPUT_STABILITY, "input"],
    [RELATIVE_OUTPUT_STABILITY, "output"],
    [RELATIVE_REPRESENTATION_STABILITY, "representation"],
  ];
  for (const [metric, kind] of metrics) {
    const params = { ...metric.defaults, nrSamples: 2 };
    const before = a.slice();
    const r = await metric.evaluate(
      { model: new MetricModel(model), explain: doubled, draws: draws() },
      batch(a),
      params,
    );
    r.scores.forEach((s, i) =>
      assertAlmostEquals(s / score(i, wx[i])[kind], 1, 1e-5, `${metric.name} image ${i}`)
    );
    assertEquals([...a], [...before], `${metric.name} modified the attributions`);
    const compat = await metric.evaluate(
      { model: new MetricModel(model), explain: doubled, draws: draws() },
      batch(a),
      { ...params, quantusCompat: true },
    );
    assert(Number.isNaN(compat.scores[0]) && compat.reasons[0]?.includes("at least one"));
    assertAlmostEquals(compat.scores[1], r.scores[1], 1e-9);
    // Normalised by their root mean square, e and 2e are the same map.
    const normalised = await metric.evaluate(
      { model: new MetricModel(model), explain: doubled, draws: draws() },
      batch(a),
      { ...params, normalise: true },
    );
    assertEquals([...normalised.scores], [0, 0, 0], metric.name);
  }
  const selections: [Partial<RelativeRepresentationStabilityParams>, string][] = [
    [{ layerNames: ["nope"] }, "nope not found"],
    [{ layerIndices: [3] }, "out of range"],
    [{ layerIndices: [-1], quantusCompat: true }, "no hidden representation"],
  ];
  for (const [layers, message] of selections) {
    let error: unknown;
    await RELATIVE_REPRESENTATION_STABILITY.evaluate(
      { model: new MetricModel(model), explain: doubled, draws: draws() },
      batch(a),
      { ...RELATIVE_REPRESENTATION_STABILITY.defaults, nrSamples: 2, ...layers },
    ).catch((e) => (error = e));
    assert(error instanceof InputError && error.message.includes(message), String(error));
  }
  const last = await RELATIVE_REPRESENTATION_STABILITY.evaluate(
    { model: new MetricModel(model), explain: doubled, draws: draws() },
    batch(a),
    { ...RELATIVE_REPRESENTATION_STABILITY.defaults, nrSamples: 2, layerIndices: [-1] },
  );
  last.scores.forEach((s, i) => assertAlmostEquals(s / score(i, wx[i]).representation, 1, 1e-5));
  model.dispose();
});

Deno.test("Continuity: a map equal to the input scores ‖Δx‖₁ / ‖Δx‖₂; a class change is left out (compat: NaN)", async () => {
  // Class 0 scores Σx, class 1 a constant 3: x = [0, 1, 2, 3] is class 0 until a translation
  // pushes enough of it out.
  const input = tf.input({ shape: [1, 4, 1] });
  const dense = tf.layers.dense({ units: 2 });
  const model = tf.model({
    inputs: input,
    outputs: dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor,
  });
  dense.setWeights([tf.tensor2d([1, 0, 1, 0, 1, 0, 1, 0], [4, 2]), tf.tensor1d([0, 3])]);
  const explainInput: ExplainFunction = async (_m, xs) =>
    xs instanceof Float32Array ? xs.slice() : new Float32Array(await xs.data());
  const image = Float32Array.of(0, 1, 2, 3);
  const oneImage = {
    xNHWC: image,
    shapeNHWC: [1, 1, 4, 1] as const,
    targets: Int32Array.of(0),
    attributionsNHW: image.slice(),
  };
  // 4 steps of 2 columns: t = −2 ([2, 3, 0, 0], class 0: Δx = [−2, −2, 2, 3]), 0, 2 and 4 (class 1).
  const params = {
    ...CONTINUITY.defaults,
    abs: false,
    normalise: false,
    nrSteps: 4,
    returnNanWhenPredictionChanges: true,
  };
  const run = (overrides: object) =>
    CONTINUITY.evaluate(
      { model: new MetricModel(model), explain: explainInput, draws: new SeededDraws(1) },
      oneImage,
      { ...params, ...overrides },
    );
  assertAlmostEquals((await run({})).scores[0], 9 / Math.sqrt(21), 1e-6);
  const compat = await run({ quantusCompat: true });
  assert(Number.isNaN(compat.scores[0]) && compat.reasons[0]?.includes("np.max"));
  // Without the class check, t = 2 ([0, 0, 0, 1]: Δx = [0, 1, 2, 2]) and t = 4 count too.
  const all = await run({ returnNanWhenPredictionChanges: false });
  assertAlmostEquals(all.scores[0], Math.max(9 / Math.sqrt(21), 5 / 3, 6 / Math.sqrt(14)), 1e-6);
  // 3 steps of 3 columns end at t = 5, past the width: filled here, Quantus's IndexError in compat.
  assert(Number.isFinite((await run({ nrSteps: 3 })).scores[0]));
  let error: unknown;
  await run({ nrSteps: 3, quantusCompat: true }).catch((e) => (error = e));
  assert(
    error instanceof InputError && error.message.includes("wider than the image"),
    String(error),
  );
  model.dispose();
});

Deno.test("Consistency: images sharing their top attributions and class agree; a label of its own is NaN (compat: 0)", async () => {
  const model = linearModel(weights);
  const maps = new Float32Array(N * PIXELS);
  maps.set([0, -3, 0.5, 2], 0); // top 2 by |a|: pixel 1 negative, pixel 3 positive
  maps.set([0, -4, 0.1, 3], PIXELS); // the same label
  maps.set([5, 0, 0, 0, 0, 4], 2 * PIXELS); // pixels 0 and 5
  const before = maps.slice();
  const params = { ...CONSISTENCY.defaults, abs: false, topN: 2 };
  const r = await CONSISTENCY.evaluate(context(model), batch(maps), params);
  // All three images are class 0 (w·x > 0): images 0 and 1 agree with each other.
  assertEquals([...r.scores.subarray(0, 2)], [1, 1]);
  assert(Number.isNaN(r.scores[2]) && r.reasons[2]?.includes("same discretised"));
  assertEquals([...maps], [...before]);
  // Quantus labels by the signs of the first two pixels: [0, −], [0, −] and [+, 0].
  const compat = await CONSISTENCY.evaluate(context(model), batch(maps), {
    ...params,
    quantusCompat: true,
  });
  assertEquals([...compat.scores], [1 / (1 + 1e-9), 1 / (1 + 1e-9), 0]);
  model.dispose();
});

Deno.test("MPRT: the caller's model is untouched; a model-blind explanation correlates 1 with itself", async () => {
  const input = tf.input({ shape: [H, W, C] });
  const hidden = tf.layers.dense({ units: 3, activation: "relu", name: "fc1" })
    .apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: "fc2" }).apply(hidden) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const before = model.getWeights().map((t) => Array.from(t.dataSync()));
  const a = exactAttributions();
  const blind: ExplainFunction = (_m, _x, shape) =>
    Promise.resolve(Float32Array.from({ length: shape[0] * PIXELS }, (_, j) => a[j]));
  const params = { ...MPRT.defaults, abs: false, normalise: false };
  const result = await MPRT.evaluate(context(model, blind), batch(a), params);
  assertEquals(Object.keys(result.series!), [MPRT_ORIGINAL, "fc2", "fc1"], "top-down order");
  result.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-12));
  const bottomUp = await MPRT.evaluate(context(model, blind), batch(a), {
    ...params,
    layerOrder: "bottom_up",
  });
  assertEquals(Object.keys(bottomUp.series!), [MPRT_ORIGINAL, "fc1", "fc2"]);
  const gradient = await MPRT.evaluate(
    context(model, explainerFunction(SALIENCY, { abs: false })),
    batch(a),
    params,
  );
  assert(gradient.scores.every((s) => Number.isFinite(s) && s < 1), `${gradient.scores}`);
  assertEquals(model.getWeights().map((t) => Array.from(t.dataSync())), before);
  const quantusAverage = MPRT.toQuantus(gradient, { ...params, returnAverageCorrelation: false });
  assertEquals(Object.keys(quantusAverage as object), [MPRT_ORIGINAL, "fc2", "fc1"]);
  model.dispose();
});

Deno.test("draws: seeded streams repeat; replays refuse calls that differ from the record", () => {
  const a = new SeededDraws(9), b = new SeededDraws(9);
  assertEquals([...a.uniform(-1, 1, 4)], [...b.uniform(-1, 1, 4)]);
  assert([...a.randint(2, 5, 50)].every((v) => v >= 2 && v < 5));
  const normals = a.normal(3, 0.5, 4000);
  assertAlmostEquals(normals.reduce((s, v) => s + v, 0) / normals.length, 3, 0.05);
  a.reseed(9);
  assertEquals([...a.uniform(-1, 1, 4)], [...new SeededDraws(9).uniform(-1, 1, 4)]);
  const replay = new ReplayDraws([{ fn: "randn", values: [1, -1] }, { fn: "choice", values: [3] }]);
  assertEquals([...replay.normal(10, 2, 2)], [12, 8]);
  let message = "";
  try {
    replay.uniform(0, 1, 1);
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("Quantus drew choice"), message);
});

Deno.test("summary and normalisation: bootstrap intervals repeat; compat normalises by the batch", () => {
  const scores = [0.1, 0.4, NaN, 0.3, 0.9];
  const a = summariseScores(scores, new SeededRandom(1).fork("m"));
  const b = summariseScores(scores, new SeededRandom(1).fork("m"));
  assertEquals(a, b);
  assertEquals([a.n, a.nanCount], [4, 1]);
  assert(a.ci95Low <= a.mean && a.mean <= a.ci95High);
  const one = summariseScores([2], new SeededRandom(1));
  assert(one.mean === 2 && Number.isNaN(one.ci95Low));
  const maps = Float32Array.of(2, -4, 0, 0);
  assertEquals([...normaliseByMax(maps, 2)], [0.5, -1, 0, 0], "a zero map stays zero");
  assertEquals([...normaliseByMax(maps, 2, { wholeBatch: true })], [0.5, -1, 0, 0]);
});
