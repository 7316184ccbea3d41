/**
 * Behaviour of the perturbation-based faithfulness metrics beyond Quantus parity: on a model
 * whose output is the sum of one region, maps that point at the region get the better score in
 * each metric's own direction; known answers; inputs never modified; NaN with reasons; bad
 * parameters as InputError; the shared pieces (imputation, batched curves).
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { FAITHFULNESS_ESTIMATE } from "../metrics/faithfulness/faithfulness_estimate.ts";
import { INFIDELITY } from "../metrics/faithfulness/infidelity.ts";
import { IROF } from "../metrics/faithfulness/irof.ts";
import type { MetricBatch, MetricContext, MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { MONOTONICITY_ARYA } from "../metrics/faithfulness/monotonicity_arya.ts";
import { MONOTONICITY_NGUYEN } from "../metrics/faithfulness/monotonicity_nguyen.ts";
import { noisyLinearImputation } from "../metrics/faithfulness/noisy_linear_imputation.ts";
import { PIXEL_FLIPPING } from "../metrics/faithfulness/pixel_flipping.ts";
import { REGION_PERTURBATION } from "../metrics/faithfulness/region_perturbation.ts";
import { ROAD } from "../metrics/faithfulness/road.ts";
import { SELECTIVITY } from "../metrics/faithfulness/selectivity.ts";
import { SENSITIVITY_N } from "../metrics/faithfulness/sensitivity_n.ts";
import { SUFFICIENCY } from "../metrics/faithfulness/sufficiency.ts";
import { slicSegments } from "../xai/perturbation/segmentation/slic.ts";
import { metricParams } from "../stages/quantus.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import {
  caseBatch,
  caseContext,
  decodeTensor,
  loadQuantusFixtureSet,
  QUANTUS_PARITY_DIR,
} from "./quantus_fixture.ts";
import { pathExists } from "./test_dirs.ts";

await startBackend("cpu");

const SIDE = 8;
const PIXELS = SIDE * SIDE;
/** The region the model reads: rows 2..5, columns 2..5 (16 pixels, aligned with 2 x 2 patches). */
const inRegion = (p: number) => {
  const r = Math.floor(p / SIDE), c = p % SIDE;
  return r >= 2 && r < 6 && c >= 2 && c < 6;
};

/** logits [sign · Σ_region x, bias1]: class 0 is the region's sum. */
function regionSumModel(sign = 1, bias1 = 0): MetricModel {
  const input = tf.input({ shape: [SIDE, SIDE, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2 });
  const model = tf.model({ inputs: input, outputs: dense.apply(flat) as tf.SymbolicTensor });
  const kernel = new Float32Array(PIXELS * 2);
  for (let p = 0; p < PIXELS; p++) kernel[p * 2] = inRegion(p) ? sign : 0;
  dense.setWeights([tf.tensor2d(kernel, [PIXELS, 2]), tf.tensor1d([0, bias1])]);
  return new MetricModel(model);
}

/** n images: bright region (0.8..1), dim elsewhere (0..0.1). */
function regionImages(n: number, seed = 3): Float32Array {
  const draws = new SeededDraws(seed);
  const u = draws.uniform(0, 1, n * PIXELS);
  return Float32Array.from(u, (v, j) => (inRegion(j % PIXELS) ? 0.8 + 0.2 * v : 0.1 * v));
}

/** Maps that rank the region first (`good`) or last (`bad`). */
function regionMaps(x: Float32Array, good: boolean): Float32Array {
  return Float32Array.from(x, (v, j) => (inRegion(j % PIXELS) === good ? v : 0.01 * v));
}

function batchOf(x: Float32Array, a: Float32Array, targets?: Int32Array): MetricBatch {
  const n = x.length / PIXELS;
  return {
    xNHWC: x,
    shapeNHWC: [n, SIDE, SIDE, 1],
    targets: targets ?? new Int32Array(n),
    attributionsNHW: a,
  };
}

function contextOf(model: MetricModel, seed = 1): MetricContext {
  return { model, draws: new SeededDraws(seed) };
}

// deno-lint-ignore no-explicit-any
type AnyMetric = MetricDefinition<any>;

/** Small settings so each metric runs a few dozen copies on 8 x 8 images. */
const SMALL: [AnyMetric, Record<string, unknown>][] = [
  [PIXEL_FLIPPING, { featuresInStep: 4, softmax: false }],
  [REGION_PERTURBATION, { patchSize: 2, regionsEvaluation: 4, softmax: false }],
  [SELECTIVITY, { patchSize: 2, softmax: false }],
  [IROF, { segmentation: "grid", nSegments: 16, softmax: false }],
  [FAITHFULNESS_ESTIMATE, { featuresInStep: 4 }],
  [MONOTONICITY_NGUYEN, { featuresInStep: 4, nrSamples: 3, softmax: false }],
  [MONOTONICITY_ARYA, { featuresInStep: 4, softmax: false }],
  [ROAD, { percentages: [20, 50, 80], noise: 0 }],
  [SUFFICIENCY, { threshold: 0.5 }],
];

async function scoresOf(
  metric: AnyMetric,
  extra: Record<string, unknown>,
  model: MetricModel,
  batch: MetricBatch,
) {
  return await metric.evaluate(contextOf(model), batch, { ...metric.defaults, ...extra });
}

Deno.test("faithfulness: maps pointing at the region the model reads score better", async () => {
  const model = regionSumModel();
  const x = regionImages(3);
  const good = batchOf(x, regionMaps(x, true));
  const bad = batchOf(x, regionMaps(x, false));
  const curveMetrics = SMALL.filter(([m]) =>
    [PIXEL_FLIPPING, REGION_PERTURBATION, SELECTIVITY, IROF, FAITHFULNESS_ESTIMATE].includes(m)
  );
  for (const [metric, extra] of curveMetrics) {
    const g = await scoresOf(metric, extra, model, good);
    const b = await scoresOf(metric, extra, model, bad);
    for (let i = 0; i < 3; i++) {
      const better = metric.direction === "higher"
        ? g.scores[i] > b.scores[i]
        : g.scores[i] < b.scores[i];
      assert(better, `${metric.name} image ${i}: good ${g.scores[i]} vs bad ${b.scores[i]}`);
    }
  }
  model.dispose();
});

Deno.test("faithfulness: known answers on the region-sum model", async () => {
  const model = regionSumModel();
  const x = regionImages(2);
  const good = batchOf(x, regionMaps(x, true));
  // Pixel flipping with the region first: 4 pixels a step, the region's 16 pixels (ranked by x)
  // are gone after 4 steps, and the logit is Σ over the remaining region pixels of (x − min).
  const pf = await scoresOf(PIXEL_FLIPPING, { featuresInStep: 4, softmax: false }, model, good);
  for (let i = 0; i < 2; i++) {
    const image = x.subarray(i * PIXELS, (i + 1) * PIXELS);
    const min = Math.min(...image);
    const region = Array.from(image).filter((_, p) => inRegion(p)).sort((u, v) => v - u);
    const expected = Array.from({ length: 16 }, (_, k) => {
      const left = region.slice(Math.min(16, 4 * (k + 1)));
      return left.reduce((s, v) => s + v, 0) + (16 - left.length) * min;
    });
    pf.curves![i].forEach((v, k) => assertAlmostEquals(v, expected[k], 1e-4, `step ${k}`));
  }
  // Region perturbation: the first four 2 x 2 patches are the region's, and AOPC is the mean drop.
  const rp = await scoresOf(
    REGION_PERTURBATION,
    { patchSize: 2, regionsEvaluation: 4, softmax: false },
    model,
    good,
  );
  assertEquals(rp.curves![0].length, 4);
  assertAlmostEquals(rp.scores[0], rp.curves![0].reduce((s, v) => s + v, 0) / 4, 1e-12);
  // Arya: a model increasing in every pixel is monotonic for any order; a decreasing one never.
  for (const [sign, expected] of [[1, 1], [-1, 0]]) {
    const signed = regionSumModel(sign);
    const arya = await scoresOf(MONOTONICITY_ARYA, { featuresInStep: 4 }, signed, good);
    assertEquals(Array.from(arya.scores), [expected, expected]);
    const compat = await scoresOf(
      MONOTONICITY_ARYA,
      { featuresInStep: 4, quantusCompat: true },
      signed,
      good,
    );
    assertEquals(Array.from(compat.scores), [1, 1], "Quantus's degenerate result");
    signed.dispose();
  }
  model.dispose();
});

/** The region-sum model's gradient: 1 on the region, 0 elsewhere. */
function regionGradient(n: number): Float32Array {
  return Float32Array.from({ length: n * PIXELS }, (_, j) => (inRegion(j % PIXELS) ? 1 : 0));
}

Deno.test("SensitivityN: exact attributions correlate 1 at every step (compat: per-step sums)", async () => {
  const model = regionSumModel();
  const x = regionImages(4);
  // Input x Gradient from the black baseline: Σ a over the removed pixels is exactly the drop.
  const black = Array.from(
    { length: 4 },
    (_, i) => Math.min(...x.subarray(i * PIXELS, (i + 1) * PIXELS)),
  );
  const a = Float32Array.from(
    x,
    (v, j) => (inRegion(j % PIXELS) ? v - black[Math.floor(j / PIXELS)] : 0),
  );
  const params = { ...SENSITIVITY_N.defaults, normalise: false, softmax: false, featuresInStep: 4 };
  const r = await SENSITIVITY_N.evaluate(contextOf(model), batchOf(x, a), params);
  // 80 % of 64 pixels in steps of 4: 12 steps, each correlating 1 across the 4 images.
  assertEquals(r.curves![0].length, 12);
  r.curves![0].forEach((v, k) => assertAlmostEquals(v, 1, 1e-6, `step ${k}`));
  r.scores.forEach((s) => assertAlmostEquals(s, 1, 1e-6));
  assertEquals(SENSITIVITY_N.toQuantus(r, params), [r.scores[0]]);
  assertEquals(SENSITIVITY_N.toQuantus(r, { ...params, returnAggregate: false }), [
    ...r.curves![0],
  ]);
  // Quantus sums step k's pixels alone: once the region is gone those sums are all 0, their
  // correlation undefined, and its mean NaN.
  const compat = await SENSITIVITY_N.evaluate(contextOf(model), batchOf(x, a), {
    ...params,
    quantusCompat: true,
  });
  assert(Number.isNaN(compat.scores[0]) && compat.reasons[0]?.includes("some step"));
  const one = await SENSITIVITY_N.evaluate(
    contextOf(model),
    batchOf(x.slice(0, PIXELS), a.slice(0, PIXELS)),
    params,
  );
  assert(Number.isNaN(one.scores[0]) && one.reasons[0]?.includes("at least 2 images"));
  // 5 does not divide 64 pixels: a last step of 4 here, Quantus's assertion in compat.
  const uneven = { ...params, featuresInStep: 5 };
  assert(
    Number.isFinite(
      (await SENSITIVITY_N.evaluate(contextOf(model), batchOf(x, a), uneven)).scores[0],
    ),
  );
  await assertRejects(
    () =>
      SENSITIVITY_N.evaluate(contextOf(model), batchOf(x, a), { ...uneven, quantusCompat: true }),
    InputError,
    "does not divide",
  );
  model.dispose();
});

Deno.test("Infidelity: the gradient of a linear model is exact; a deterministic baseline runs once", async () => {
  const model = regionSumModel();
  const x = regionImages(3);
  const gradient = regionGradient(3);
  const params = { ...INFIDELITY.defaults, perturbPatchSizes: [2] };
  const r = await INFIDELITY.evaluate(contextOf(model), batchOf(x, gradient), params);
  r.scores.forEach((s) => assertAlmostEquals(s, 0, 1e-8));
  // One call for f(x), one for the 3 images x 16 patches: the 10 repetitions of a `black`
  // baseline would all be the same.
  assertEquals(model.calls, 2);
  const uniform = await INFIDELITY.evaluate(contextOf(model), batchOf(x, gradient), {
    ...params,
    perturbBaseline: "uniform",
    nPerturbSamples: 2,
  });
  uniform.scores.forEach((s) => assertAlmostEquals(s, 0, 1e-8));
  assertEquals(model.calls, 5);
  // Twice the gradient predicts twice each drop: the error is the drop itself, squared.
  const doubled = await INFIDELITY.evaluate(
    contextOf(model),
    batchOf(x, gradient.map((v) => 2 * v)),
    params,
  );
  doubled.scores.forEach((s) => assert(s > 0.1, `doubled: ${s}`));
  // 3 does not divide 8: padded patches here, Quantus's reshape error under compat.
  const padded = await INFIDELITY.evaluate(contextOf(model), batchOf(x, gradient), {
    ...params,
    perturbPatchSizes: [3],
  });
  padded.scores.forEach((s) => assertAlmostEquals(s, 0, 1e-8));
  await assertRejects(
    () =>
      INFIDELITY.evaluate(contextOf(model), batchOf(x, gradient), {
        ...params,
        perturbPatchSizes: [3],
        quantusCompat: true,
      }),
    InputError,
    "does not divide",
  );
  model.dispose();
});

Deno.test("faithfulness: one batched model call for a whole pixel-flipping curve", async () => {
  const model = regionSumModel();
  const x = regionImages(3);
  await scoresOf(PIXEL_FLIPPING, { featuresInStep: 4 }, model, batchOf(x, regionMaps(x, true)));
  // 3 images x 16 steps = 48 copies: one call of up to 64, where Quantus makes 16.
  assertEquals(model.calls, 1);
  model.dispose();
});

Deno.test("faithfulness: ROAD loses the class sooner when the region is removed first", async () => {
  const model = regionSumModel(1, 9); // class 0 while the region's sum exceeds 9
  const x = regionImages(3);
  const extra = { percentages: [10, 20, 30, 50], noise: 0 };
  const g = await scoresOf(ROAD, extra, model, batchOf(x, regionMaps(x, true)));
  const b = await scoresOf(ROAD, extra, model, batchOf(x, regionMaps(x, false)));
  for (let i = 0; i < 3; i++) {
    assert(g.scores[i] < b.scores[i], `image ${i}: good ${g.scores[i]} vs bad ${b.scores[i]}`);
    assertEquals(Array.from(b.curves![i]), [1, 1, 1, 1], "the region survives removing the rest");
  }
  assertEquals(
    ROAD.toQuantus(g, { ...ROAD.defaults, ...extra }),
    Object.fromEntries(extra.percentages.map((p, k) => [
      String(p),
      g.curves!.reduce((s, c) => s + c[k], 0) / 3,
    ])),
  );
  model.dispose();
});

Deno.test("faithfulness: Sufficiency known answer", async () => {
  const model = regionSumModel(1, 9);
  // Images 0, 1 predict class 0 (bright region), 2, 3 class 1 (dark). Maps: 0 ≈ 2 and 1 ≈ 3.
  const x = regionImages(4);
  for (const i of [2, 3]) for (let p = 0; p < PIXELS; p++) x[i * PIXELS + p] *= 0.1;
  const mapA = Float32Array.from({ length: PIXELS }, (_, p) => (p < 32 ? 1 : 0));
  const mapB = Float32Array.from({ length: PIXELS }, (_, p) => (p < 32 ? 0 : 1));
  const a = new Float32Array(4 * PIXELS);
  [mapA, mapB, mapA, mapB].forEach((m, i) =>
    a.set(m.map((v, p) => v + 0.01 * ((p * (i + 1)) % 3)), i * PIXELS)
  );
  const batch = batchOf(x, a);
  for (const distance of ["seuclidean", "euclidean"]) {
    const r = await scoresOf(SUFFICIENCY, { threshold: 0.5, distance }, model, batch);
    assertEquals(Array.from(r.scores), [0, 0, 0, 0], distance);
  }
  const same = batchOf(regionImages(4), a);
  const r = await scoresOf(SUFFICIENCY, { threshold: 0.5 }, model, same);
  assertEquals(Array.from(r.scores), [1, 1, 1, 1]);
  // No neighbour within the threshold: undefined (NaN with a reason); Quantus says 0.
  const none = await scoresOf(SUFFICIENCY, { threshold: 0 }, model, same);
  assert(none.scores.every(Number.isNaN) && none.reasons.every((why) => why?.includes("within")));
  const compat = await scoresOf(SUFFICIENCY, { threshold: 0, quantusCompat: true }, model, same);
  assertEquals(Array.from(compat.scores), [0, 0, 0, 0]);
  model.dispose();
});

Deno.test("faithfulness: IROF uses the context's superpixels; Quantus pads short curves", async () => {
  const model = regionSumModel();
  const x = regionImages(2);
  const batch = batchOf(x, regionMaps(x, true));
  // Image 0: 4 quadrants; image 1: 16 cells of 2 x 2.
  const quadrants = Int32Array.from(
    { length: PIXELS },
    (_, p) => 2 * Math.floor(Math.floor(p / SIDE) / 4) + Math.floor((p % SIDE) / 4),
  );
  const cells = Int32Array.from(
    { length: PIXELS },
    (_, p) => 4 * Math.floor(Math.floor(p / SIDE) / 2) + Math.floor((p % SIDE) / 2),
  );
  const segment = (sample: number) => (sample === 0 ? quadrants : cells);
  const params = { ...IROF.defaults, softmax: false, perturbBaseline: 0 };
  const corrected = await IROF.evaluate({ ...contextOf(model), segment }, batch, params);
  assertEquals(corrected.curves!.map((c) => c.length), [4, 16]);
  const compat = await IROF.evaluate({ ...contextOf(model), segment }, batch, {
    ...params,
    quantusCompat: true,
  });
  // Quantus's zero padding adds the trapezoid from the last value down to 0.
  const last = corrected.curves![0][3];
  assertAlmostEquals(compat.scores[0], corrected.scores[0] - last / 2, 1e-9);
  assertEquals(compat.scores[1], corrected.scores[1]);
  model.dispose();
});

Deno.test("faithfulness: IROF segments with SLIC by default", async () => {
  const model = regionSumModel();
  const x = regionImages(2);
  const r = await IROF.evaluate(contextOf(model), batchOf(x, regionMaps(x, true)), {
    ...IROF.defaults,
    nSegments: 16,
  });
  for (let i = 0; i < 2; i++) {
    const grey = x.subarray(i * PIXELS, (i + 1) * PIXELS);
    const rgb = Float32Array.from(
      { length: PIXELS * 3 },
      (_, j) => grey[Math.floor(j / 3)] / Math.sqrt(3),
    );
    const slic = slicSegments(rgb, SIDE, SIDE, { nSegments: 16, convert2lab: false });
    assertEquals(r.curves![i].length, slic.count, `image ${i}: one step per SLIC superpixel`);
    assert(Number.isFinite(r.scores[i]));
  }
  model.dispose();
});

Deno.test("faithfulness: inputs are never modified", async () => {
  const model = regionSumModel(1, 9);
  const x = regionImages(3);
  const a = regionMaps(x, true);
  a[5] = -0.5; // signed, so abs/normalise would change it if done in place
  const xBefore = x.slice(), aBefore = a.slice();
  for (const [metric, extra] of SMALL) {
    await scoresOf(metric, { ...extra, abs: true, normalise: true }, model, batchOf(x, a));
    assertEquals(x, xBefore, `${metric.name} changed the images`);
    assertEquals(a, aBefore, `${metric.name} changed the attributions`);
  }
  model.dispose();
});

Deno.test("faithfulness: constant maps give NaN with a reason (Quantus: a score from tie order)", async () => {
  const model = regionSumModel();
  const x = regionImages(2);
  const a = regionMaps(x, true);
  a.fill(0.5, PIXELS); // image 1's map is constant, image 0's is not
  const batch = batchOf(x, a);
  for (const [metric, extra] of SMALL.filter(([m]) => m !== SUFFICIENCY)) {
    const r = await scoresOf(metric, extra, model, batch);
    assert(!Number.isNaN(r.scores[0]), `${metric.name}: image 0 has a map`);
    assert(Number.isNaN(r.scores[1]) && r.reasons[1]?.includes("constant"), `${metric.name}`);
    const compat = await scoresOf(metric, { ...extra, quantusCompat: true }, model, batch);
    const correlation = metric === FAITHFULNESS_ESTIMATE || metric === MONOTONICITY_NGUYEN;
    // Quantus scores the tie order, except where the correlation itself is undefined.
    assert(
      Number.isNaN(compat.scores[1]) === correlation,
      `${metric.name} compat: ${compat.scores[1]}`,
    );
    if (correlation) assert(compat.reasons[1]?.includes("attribution mass"), metric.name);
  }
  // IROF divides by the original output: a zero output has no relative curve.
  const dark = batchOf(new Float32Array(2 * PIXELS), regionMaps(x, true));
  const irof = await scoresOf(
    IROF,
    { segmentation: "grid", nSegments: 16, softmax: false },
    model,
    dark,
  );
  assert(
    irof.scores.every(Number.isNaN) &&
      irof.reasons.every((why) => why?.includes("target output of the unperturbed image is 0")),
  );
  model.dispose();
});

Deno.test("faithfulness: bad parameters are InputErrors naming the field", async () => {
  const model = regionSumModel();
  const x = regionImages(2);
  const batch = batchOf(x, regionMaps(x, true));
  const cases: [AnyMetric, Record<string, unknown>, string][] = [
    [PIXEL_FLIPPING, { featuresInStep: -4 }, "featuresInStep"],
    [REGION_PERTURBATION, { patchSize: 9 }, "patch_size"],
    [REGION_PERTURBATION, { regionsEvaluation: 0 }, "regionsEvaluation"],
    [MONOTONICITY_NGUYEN, { nrSamples: 0 }, "nrSamples"],
    [ROAD, { percentages: [50, 100] }, "percentages"],
    [SUFFICIENCY, { distance: "cosine" }, "distance"],
  ];
  for (const [metric, extra, field] of cases) {
    await assertRejects(() => scoresOf(metric, extra, model, batch), InputError, field);
  }
  await assertRejects(
    () => Promise.resolve(SUFFICIENCY.fromQuantus({ distance_func: "euclidean" }, {})),
    InputError,
    "seuclidean",
  );
  await assertRejects(
    () => Promise.resolve(REGION_PERTURBATION.fromQuantus({ order: "middle" }, {})),
    InputError,
    "morf",
  );
  model.dispose();
});

Deno.test("noisy linear imputation: each imputed pixel is the weighted mean of its neighbours", () => {
  const h = 9, w = 7;
  const draws = new SeededDraws(5);
  const image = Float32Array.from(draws.uniform(0, 1, h * w * 2));
  const removed = Int32Array.of(0, 1, 8, 9, 10, 24, 31, 32, 33, 62);
  const out = noisyLinearImputation(image, h, w, 2, removed, 0, draws);
  const stencil = [
    [1, 1, 1 / 12],
    [0, 1, 1 / 6],
    [-1, 1, 1 / 12],
    [1, -1, 1 / 12],
    [
      0,
      -1,
      1 / 6,
    ],
    [-1, -1, 1 / 12],
    [1, 0, 1 / 6],
    [-1, 0, 1 / 6],
  ];
  for (const p of removed) {
    for (let ch = 0; ch < 2; ch++) {
      let sum = 0, weight = 0;
      for (const [dr, dc, wt] of stencil) {
        const r = Math.floor(p / w) + dr, c = (p % w) + dc;
        if (r < 0 || c < 0 || r >= h || c >= w) continue;
        sum += wt * out[(r * w + c) * 2 + ch];
        weight += wt;
      }
      assertAlmostEquals(out[p * 2 + ch], sum / weight, 1e-6, `pixel ${p} channel ${ch}`);
    }
  }
  const untouched = Array.from({ length: h * w }, (_, p) => p).filter((p) => !removed.includes(p));
  for (const p of untouched) assertEquals(out[p * 2], image[p * 2]);
  // A linear ramp is reproduced exactly inside the image.
  const ramp = Float32Array.from({ length: h * w }, (_, p) => (p % w) * 0.25 + Math.floor(p / w));
  const filled = noisyLinearImputation(ramp, h, w, 1, Int32Array.of(23, 24, 30, 31), 0, draws);
  for (const p of [23, 24, 30, 31]) assertAlmostEquals(filled[p], ramp[p], 1e-5);
});

const fixtures = await pathExists(`${QUANTUS_PARITY_DIR}/index.json`);

Deno.test({
  name: "faithfulness: ROAD's per-image curves and imputed predictions match Quantus's",
  ignore: !fixtures,
  sanitizeResources: false,
}, async () => {
  const set = await loadQuantusFixtureSet(QUANTUS_PARITY_DIR);
  const file = await set.readMetric("ROAD");
  const c = file.cases[0];
  const context = caseContext(set, c);
  const outputs: Float32Array[] = [];
  const scores = context.model.scores.bind(context.model);
  context.model.scores = async (...args) => {
    const out = await scores(...args);
    outputs.push(out);
    return out;
  };
  const params = ROAD.fromQuantus(c.init_effective, c.call_effective);
  const result = await ROAD.evaluate(context, caseBatch(set, c), params);
  const curves = decodeTensor(c.extra!.road_curves as never);
  const [, n, levels] = curves.shape;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < levels; k++) {
      assertEquals(result.curves![i][k], curves.data[i * levels + k], `image ${i} level ${k}`);
    }
  }
  // Quantus predicted once per percentage, [P, N, K]; we scored all P·N copies in one call.
  const recorded = (c as unknown as { predict_log: { data: number[] } }).predict_log.data;
  const ours = outputs.flatMap((o) => Array.from(o));
  assertEquals(ours.length, recorded.length);
  ours.forEach((v, j) => assertAlmostEquals(v, recorded[j], 1e-5, `prediction ${j}`));
  context.model.dispose();
});

Deno.test({
  name: "faithfulness: IROF's and MonotonicityArya's corrections differ from Quantus's defects",
  ignore: !fixtures,
  sanitizeResources: false,
}, async () => {
  const set = await loadQuantusFixtureSet(QUANTUS_PARITY_DIR);
  for (const metric of [IROF, MONOTONICITY_ARYA] as AnyMetric[]) {
    const c = (await set.readMetric(metric.quantusName)).cases[0];
    const compat = metric.fromQuantus(c.init_effective, c.call_effective);
    const context = caseContext(set, c);
    const quantus = await metric.evaluate(context, caseBatch(set, c), compat);
    const corrected = await metric.evaluate(
      caseContext(set, c),
      caseBatch(set, c),
      { ...compat, quantusCompat: false },
    );
    assert(
      quantus.scores.some((s, i) => s !== corrected.scores[i]),
      `${metric.name}: the corrected scores equal Quantus's on every image`,
    );
    context.model.dispose();
  }
});

Deno.test("faithfulness: the quantus stage's --params reaches every tunable field", () => {
  const metrics = [PIXEL_FLIPPING, IROF, ROAD, REGION_PERTURBATION] as AnyMetric[];
  const params = metricParams(
    metrics,
    JSON.stringify({
      pixel_flipping: { featuresInStep: 4 },
      irof: { segmentation: "grid" },
      road: { percentages: [20, 40] },
      region_perturbation: { order: "lerf" },
    }),
    false,
  );
  const field = (metric: AnyMetric, name: string) =>
    (params.get(metric) as unknown as Record<string, unknown>)[name];
  assertEquals(field(PIXEL_FLIPPING, "featuresInStep"), 4);
  assertEquals(field(IROF, "segmentation"), "grid");
  assertEquals(field(ROAD, "percentages"), [20, 40]);
  assertEquals(field(REGION_PERTURBATION, "order"), "lerf");
});
