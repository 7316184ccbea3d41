/**
 * RISE: its masks against the paper's upsample-and-crop worked by hand, the map against a plain
 * loop over the same seeded masks, the expectation a one-pixel linear model has in closed form,
 * seeding, batching, shapes and bad options.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { RISE, riseMasks, type RiseOptions } from "../xai/perturbation/rise.ts";
import { getExplainer } from "../xai/registry.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { linearModel } from "./linear_model.ts";

await startBackend("wasm");

async function riseMap(
  model: tf.LayersModel,
  imageNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: RiseOptions,
): Promise<Float32Array> {
  return (await RISE.explain(model, imageNHWC, targets, options)).mapsNHW;
}

Deno.test("rise: masks are the paper's bilinear upsampling of a cell grid, cropped at a shift", () => {
  // A 1 x 4 image with a 1 x 2 grid: cells 2 px wide, upsampled to (2 + 1) x 2 = 6 columns, whose
  // source coordinates (u + 1/2) x 2/6 − 1/2 are −1/3, 0, 1/3, 2/3, 1, 4/3, mirrored about the
  // cell centres to 1/3, 0, 1/3, 2/3, 1, 2/3; a crop keeps columns 0–3 or 1–4. Grid (1, 0) then
  // gives 2/3, 1, 2/3, 1/3 or 1, 2/3, 1/3, 0; grid (0, 1) one minus those; (1, 1) ones; (0, 0) zeros.
  const third = 1 / 3;
  const tenGrid = [[2 * third, 1, 2 * third, third], [1, 2 * third, third, 0]];
  const expected = [
    ...tenGrid,
    ...tenGrid.map((m) => m.map((v) => 1 - v)),
    [1, 1, 1, 1],
    [0, 0, 0, 0],
  ];
  const masks = riseMasks({ nbSamples: 200, gridSize: [1, 2], seed: 4 }, 1, 4);
  const seen = new Set<number>();
  const mask = new Float32Array(4);
  for (let i = 0; i < masks.count; i++) {
    masks.mask(i, mask);
    const match = expected.findIndex((e) => e.every((v, c) => Math.abs(v - mask[c]) < 1e-6));
    assert(match >= 0, `mask ${i} is ${mask.join()}, not one the paper's resize makes`);
    seen.add(match);
  }
  assertEquals(seen.size, expected.length, "every grid and shift is drawn among 200 masks");
});

Deno.test("rise: masks keep a share p of the image on average; p = 1 keeps all of it", () => {
  const masks = riseMasks({ nbSamples: 400, gridSize: 3, preservationProbability: 0.3 }, 9, 7);
  const mask = new Float32Array(63);
  let total = 0;
  for (let i = 0; i < masks.count; i++) {
    masks.mask(i, mask);
    total += mask.reduce((s, v) => s + v, 0);
  }
  // Each mask value is a convex blend of Bernoulli(0.3) cells: its mean is 0.3; over 400 masks
  // of 9 cells the standard error of the share is about √(0.21 / 3600) ≈ 0.008.
  assertAlmostEquals(total / (400 * 63), 0.3, 0.03);
  const all = riseMasks({ nbSamples: 5, gridSize: 3, preservationProbability: 1 }, 9, 7);
  for (let i = 0; i < all.count; i++) {
    all.mask(i, mask);
    assert(mask.every((v) => Math.abs(v - 1) < 1e-6), `mask ${i} with p = 1`);
  }
});

Deno.test("rise: the map equals a plain loop over the same seeded masks", async () => {
  // A 5 x 6 x 2 input, a linear model with uneven weights, softmax over its 2 logits.
  const [h, w, c] = [5, 6, 2];
  const weights = Array.from({ length: h * w * c }, (_, i) => ((i * 7) % 11) / 5 - 1);
  const model = linearModel([h, w, c], weights);
  const image = Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(i) + 0.5);
  const x = tf.tensor4d(image, [1, h, w, c]);
  const options: RiseOptions = {
    nbSamples: 60,
    gridSize: [2, 3],
    preservationProbability: 0.4,
    maskValue: 0.25,
    seed: 9,
  };
  try {
    const map = await riseMap(model, x, Int32Array.of(0), { ...options, batchSize: 7 });
    const masks = riseMasks(options, h, w);
    const total = new Float64Array(h * w);
    const mask = new Float32Array(h * w);
    for (let i = 0; i < masks.count; i++) {
      masks.mask(i, mask);
      const masked = image.map((v, j) => {
        const m = mask[Math.floor(j / c)];
        return m * v + (1 - m) * 0.25;
      });
      const logits = tf.tidy(() => model.predict(tf.tensor4d(masked, [1, h, w, c])) as tf.Tensor);
      const [l0, l1] = logits.dataSync();
      logits.dispose();
      const probability = 1 / (1 + Math.exp(l1 - l0));
      mask.forEach((m, q) => total[q] += probability * m);
    }
    total.forEach((t, q) => assertAlmostEquals(map[q], t / (60 * 0.4), 1e-5));
    const oneCall = await riseMap(model, x, Int32Array.of(0), { ...options, batchSize: 60 });
    oneCall.forEach((v, q) => assertAlmostEquals(v, map[q], 1e-6));
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("rise: a one-pixel linear model gets its closed-form expectation", async () => {
  // logit_0 = 2 · x_q for the pixel q = (1, 1) of an 8 x 8 image of ones, masked to 0. Then
  // f(x ⊙ M) = 2 · M(q), and S(λ) = 2 · E[M(q) M(λ)] / p. With a 4 x 4 grid (cells 2 px, shifts
  // 0 or 1) q reads grid rows and columns 0–1 and pixels in rows and columns 6–7 read 2–3 only,
  // so there M(q) and M(λ) are independent with mean p: S(λ) = 2p = 1 exactly, in expectation.
  const weights = Array(64).fill(0);
  weights[1 * 8 + 1] = 2;
  const model = linearModel([8, 8, 1], weights);
  const x = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
  try {
    const map = await riseMap(model, x, Int32Array.of(0), {
      nbSamples: 3000,
      gridSize: 4,
      classifierOutput: "logits",
      batchSize: 500,
    });
    const far = [6 * 8 + 6, 6 * 8 + 7, 7 * 8 + 6, 7 * 8 + 7].map((q) => map[q]);
    // Standard error of each far value: 2/p · sd(M(q) M(λ)) / √3000 ≤ 4 · 0.5 / 55 ≈ 0.04.
    assertAlmostEquals(far.reduce((s, v) => s + v, 0) / far.length, 1, 0.1);
    // At q, S = 2 E[M(q)²] / p > 2p: the map peaks on the pixel the model reads.
    const peak = map.indexOf(Math.max(...map));
    assertEquals(peak, 1 * 8 + 1);
    assert(map[peak] > 1.2, `S(q) = ${map[peak]}`);
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("rise: seeded, the same masks for every image, one map per image", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const one = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const pair = tf.concat([one, tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 3), one]);
  const options = { nbSamples: 24, seed: 5 };
  try {
    const a = await RISE.explain(model, pair as tf.Tensor4D, Int32Array.of(1, 2, 1), options);
    assertEquals(a.shapeNHW, [3, 32, 32]);
    assertEquals(a.method, "rise");
    const pixels = 32 * 32;
    assertEquals(a.mapsNHW.slice(0, pixels), a.mapsNHW.slice(2 * pixels));
    const alone = await riseMap(model, one, Int32Array.of(1), options);
    alone.forEach((v, q) => assertAlmostEquals(v, a.mapsNHW[q], 1e-5));
    const again = await riseMap(model, one, Int32Array.of(1), options);
    assertEquals(again, alone);
    const reseeded = await riseMap(model, one, Int32Array.of(1), { ...options, seed: 6 });
    assert(reseeded.some((v, q) => v !== alone[q]), "another seed draws other masks");
    assert(getExplainer("rise") === RISE);
  } finally {
    tf.dispose([one, pair]);
    model.dispose();
  }
});

Deno.test("rise: bad options are InputErrors naming the option", async () => {
  const model = linearModel([4, 4, 1], Array(16).fill(1));
  const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
  const cases: [RiseOptions, string][] = [
    [{ nbSamples: 0 }, "nbSamples"],
    [{ gridSize: 0 }, "gridSize"],
    [{ gridSize: 5 }, "gridSize"],
    [{ gridSize: [2, 2, 2] as unknown as [number, number] }, "gridSize"],
    [{ preservationProbability: 0 }, "preservationProbability"],
    [{ preservationProbability: 1.5 }, "preservationProbability"],
    [{ maskValue: NaN }, "maskValue"],
    [{ classifierOutput: "softmax" as "logits" }, "classifierOutput"],
    [{ seed: 1.5 }, "seed"],
    [{ batchSize: 0 }, "batchSize"],
  ];
  try {
    for (const [options, name] of cases) {
      await assertRejects(
        () => RISE.explain(model, x, Int32Array.of(0), { gridSize: 2, ...options }),
        InputError,
        name,
      );
    }
  } finally {
    x.dispose();
    model.dispose();
  }
});
