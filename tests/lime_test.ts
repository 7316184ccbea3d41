/**
 * LIME: weighted ridge regression against closed forms, LIME on a linear model whose
 * superpixel ranking is known, feature selection, the hide colour, seeding, an ecgnet smoke
 * run and bad options.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { foldBatchNorm } from "../graph/fold_batchnorm.ts";
import { buildModel } from "../models/registry.ts";
import { LIME, limeImage, type LimeOptions } from "../xai/perturbation/lime.ts";
import { getExplainer } from "../xai/registry.ts";
import { fitRidge, ridgeScore } from "../xai/perturbation/ridge.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { linearModel } from "./linear_model.ts";

await startBackend("wasm");

Deno.test("ridge: one feature, weights and alpha 1 match the closed form", () => {
  // x = (0, 1, 2), y = (1, 3, 2), w = (1, 1, 2): weighted means x̄ = 1.25, ȳ = 2;
  // Σ w (x − x̄)² = 2.75, Σ w (x − x̄)(y − ȳ) = 1, so β = 1 / (2.75 + 1), b = 2 − 1.25 β.
  const fit = fitRidge({ xNK: [0, 1, 2], numColumns: 1 }, [1, 3, 2], [1, 1, 2], 1);
  assertAlmostEquals(fit.coef[0], 1 / 3.75, 1e-12);
  assertAlmostEquals(fit.intercept, 2 - 1.25 / 3.75, 1e-12);
});

Deno.test("ridge: two features equal the normal equations solved by Cramer's rule", () => {
  const xNK = [1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1];
  const y = [3, -1, 2.5, 0.5, 2, 1];
  const w = [1, 0.5, 2, 1, 0.25, 1.5];
  const alpha = 0.7;
  // Centre on the weighted means, then solve the 2 x 2 system by hand.
  const total = w.reduce((a, b) => a + b);
  const mean = (f: (i: number) => number) => w.reduce((s, wi, i) => s + wi * f(i), 0) / total;
  const [m0, m1, my] = [mean((i) => xNK[2 * i]), mean((i) => xNK[2 * i + 1]), mean((i) => y[i])];
  const sum = (f: (i: number) => number) => w.reduce((s, wi, i) => s + wi * f(i), 0);
  const a00 = sum((i) => (xNK[2 * i] - m0) ** 2) + alpha;
  const a11 = sum((i) => (xNK[2 * i + 1] - m1) ** 2) + alpha;
  const a01 = sum((i) => (xNK[2 * i] - m0) * (xNK[2 * i + 1] - m1));
  const b0 = sum((i) => (xNK[2 * i] - m0) * (y[i] - my));
  const b1 = sum((i) => (xNK[2 * i + 1] - m1) * (y[i] - my));
  const det = a00 * a11 - a01 * a01;
  const [beta0, beta1] = [(b0 * a11 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det];
  const fit = fitRidge({ xNK, numColumns: 2 }, y, w, alpha);
  assertAlmostEquals(fit.coef[0], beta0, 1e-12);
  assertAlmostEquals(fit.coef[1], beta1, 1e-12);
  assertAlmostEquals(fit.intercept, my - beta0 * m0 - beta1 * m1, 1e-12);
  // Column subsets fit only those columns; alpha 0 recovers an exact linear target.
  const exact = xNK.filter((_, i) => i % 2 === 0).map((v, i) => 2 + 3 * v - xNK[2 * i + 1]);
  const ols = fitRidge({ xNK, numColumns: 2, columns: [1, 0] }, exact, w, 0);
  assertAlmostEquals(ols.coef[0], -1, 1e-12);
  assertAlmostEquals(ols.coef[1], 3, 1e-12);
  assertAlmostEquals(ols.intercept, 2, 1e-12);
  assertAlmostEquals(ridgeScore(ols, { xNK, numColumns: 2, columns: [1, 0] }, exact, w), 1, 1e-12);
  assertThrows(() => fitRidge({ xNK, numColumns: 2 }, y, w, -1), InputError, "alpha");
  assertThrows(() => fitRidge({ xNK, numColumns: 2 }, y, [1], 1), InputError, "weights");
});

/** 8 x 8 x 3 image of ones; logit_0 weighs every value of 4 x 4 cell k by PER_VALUE[k]. */
const PER_VALUE = [3, -1, 0.5, 2];
const CELL_OF_PIXEL = Array.from({ length: 64 }, (_, p) => {
  const [r, c] = [Math.floor(p / 8), p % 8];
  return 2 * Math.floor(r / 4) + Math.floor(c / 4);
});

async function limeOnLinearModel(options: LimeOptions) {
  const model = linearModel([8, 8, 3], CELL_OF_PIXEL.flatMap((k) => Array(3).fill(PER_VALUE[k])));
  try {
    return await limeImage(model, new Float32Array(192).fill(1), [8, 8, 3], 0, {
      segmentation: { algorithm: "grid", cellSizePx: 4 },
      classifierOutput: "logits",
      ...options,
    });
  } finally {
    model.dispose();
  }
}

Deno.test("lime on a linear model recovers each superpixel's contribution and ranking", async () => {
  // Hiding cell k (to 0) removes 48 · PER_VALUE[k] from the logit: the surrogate is exact up
  // to the ridge penalty, which shrinks β by about α / Σ w (z − z̄)² ≈ 1 / 80 here.
  const lime = await limeOnLinearModel({ seed: 4 });
  assertEquals(lime.segments.count, 4);
  const ranking = [0, 1, 2, 3].sort((a, b) => lime.coefficients[b] - lime.coefficients[a]);
  assertEquals(ranking, [0, 3, 2, 1]);
  lime.coefficients.forEach((beta, k) => {
    assert(
      Math.abs(beta - 48 * PER_VALUE[k]) <= 0.03 * 48 * Math.abs(PER_VALUE[k]),
      `cell ${k}: ${beta}`,
    );
  });
  assert(lime.score > 0.999, `R² ${lime.score}`);
  assertAlmostEquals(lime.localPrediction, 48 * 4.5, 0.05 * 48);
});

Deno.test("lime: numFeatures selects the largest superpixels, both selection methods", async () => {
  for (const featureSelection of ["auto", "highest_weights", "forward_selection"] as const) {
    const lime = await limeOnLinearModel({ seed: 4, numFeatures: 2, featureSelection });
    assertEquals([...lime.usedFeatures].sort(), [0, 3], featureSelection);
    assertEquals(lime.coefficients[1], 0, `${featureSelection}: unselected cell`);
    assertEquals(lime.coefficients[2], 0, `${featureSelection}: unselected cell`);
  }
});

Deno.test("lime: hiding with the image's own colour changes nothing, so all coefficients are 0", async () => {
  for (const hideColor of ["mean", 1, [1, 1, 1]] as const) {
    const lime = await limeOnLinearModel({ seed: 4, hideColor, numSamples: 50 });
    lime.coefficients.forEach((beta) => assertAlmostEquals(beta, 0, 1e-9));
  }
  // Hiding to 2 instead of 0 flips every contribution's sign.
  const flipped = await limeOnLinearModel({ seed: 4, hideColor: 2 });
  flipped.coefficients.forEach((beta, k) => assert(Math.sign(beta) === -Math.sign(PER_VALUE[k])));
});

Deno.test("lime on ecgnet at 32 px: seeded, per-image, one value per superpixel", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  // Dark left half, light right half, a little noise: quickshift finds several superpixels
  // (pure noise at 32 px is one density mode, hence one superpixel).
  const halves = tf.tensor4d(
    Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => (Math.floor(i / 3) % 32 < 16 ? -1.5 : 1.5)),
    [2, 32, 32, 3],
  );
  const noise = tf.randomNormal([2, 32, 32, 3], 0, 0.3, "float32", 7);
  const x = tf.add(halves, noise) as tf.Tensor4D;
  tf.dispose([halves, noise]);
  const targets = Int32Array.of(2, 0);
  const options: LimeOptions = { numSamples: 40, seed: 11, batchSize: 12 };
  try {
    const a = await getExplainer("lime").explain(model, x, targets, options);
    const b = await LIME.explain(model, x, targets, options);
    assertEquals(a.shapeNHW, [2, 32, 32]);
    assert(a.mapsNHW.every(Number.isFinite), "finite map");
    assert(a.mapsNHW.some((v) => v !== 0), "not all zero");
    assertEquals(a.mapsNHW, b.mapsNHW);
    const other = await LIME.explain(model, x, targets, { ...options, seed: 12 });
    assert(other.mapsNHW.some((v, i) => v !== a.mapsNHW[i]), "another seed, other samples");
    // The second image alone gives its map from the batch (up to float32 rounding in wasm's
    // convolutions, which differs between otherwise equal calls by ~1e-7 relative).
    const second = x.slice(1, 1) as tf.Tensor4D;
    const alone = await LIME.explain(model, second, targets.subarray(1), options);
    const fromBatch = a.mapsNHW.subarray(32 * 32);
    const scale = fromBatch.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    alone.mapsNHW.forEach((v, i) => assertAlmostEquals(v, fromBatch[i], 1e-5 * scale));
    second.dispose();
    // The map is constant on each quickshift superpixel, at that superpixel's coefficient.
    const image = (await x.slice(0, 1).data()) as Float32Array;
    const folded = foldBatchNorm(model);
    const lime = await limeImage(folded, image, [32, 32, 3], 2, options);
    folded.dispose();
    assert(lime.segments.count >= 2, `${lime.segments.count} superpixel(s)`);
    const valueOf = new Map<number, number>();
    const top = lime.coefficients.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    lime.segments.labelsHW.forEach((k, p) => {
      assertEquals(a.mapsNHW[p], valueOf.get(k) ?? a.mapsNHW[p], `segment ${k} is not constant`);
      valueOf.set(k, a.mapsNHW[p]);
      assertAlmostEquals(a.mapsNHW[p], lime.coefficients[k], 1e-5 * top);
    });
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("lime: bad options are InputErrors naming the option", async () => {
  const model = linearModel([4, 4, 1], Array(16).fill(1));
  const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
  const targets = Int32Array.of(0);
  const grid = { algorithm: "grid", cellSizePx: 2 } as const;
  try {
    const explain = (options: LimeOptions) => () =>
      LIME.explain(model, x, targets, { segmentation: grid, ...options });
    await assertRejects(explain({ numSamples: 0 }), InputError, "numSamples");
    await assertRejects(explain({ batchSize: 1.5 }), InputError, "batchSize");
    await assertRejects(explain({ kernelWidth: 0 }), InputError, "kernelWidth");
    await assertRejects(explain({ numFeatures: 0 }), InputError, "numFeatures");
    await assertRejects(explain({ hideColor: [0, 0, 0] }), InputError, "hideColor");
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      explain({ featureSelection: "lasso_path" as any }),
      InputError,
      "featureSelection",
    );
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      explain({ classifierOutput: "softmax" as any }),
      InputError,
      "classifierOutput",
    );
    await assertRejects(explain({ segmentation: "quickshift" }), InputError, "3 channels");
    await assertRejects(
      explain({ segmentation: { algorithm: "grid", cellSizePx: -2 } }),
      InputError,
      "cellSizePx",
    );
    await assertRejects(
      () => LIME.explain(model, x, Int32Array.of(2), { segmentation: grid }),
      InputError,
      "out of range",
    );
  } finally {
    x.dispose();
    model.dispose();
  }
});
