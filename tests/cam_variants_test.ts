/**
 * ScoreCAM, LayerCAM, XGradCAM, HiResCAM and EigenCAM: each against maps computed in plain
 * TypeScript from the same activations and (analytic) gradients, invariants that tie them to
 * Grad-CAM, a smoke run on ecgnet, and bad inputs.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { resizeBilinearHalfPixelReference } from "../xai/kernels/gradcam_pool_reference.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { buildModel } from "../models/registry.ts";
import type { CamOptions } from "../xai/cam/cam.ts";
import type { Attribution, Explainer } from "../xai/explainer.ts";
import { EIGENCAM } from "../xai/cam/eigencam.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { HIRESCAM } from "../xai/cam/hirescam.ts";
import { LAYERCAM } from "../xai/cam/layercam.ts";
import { firstPrincipalProjection } from "../xai/cam/principal_component.ts";
import { EXPLAINERS } from "../xai/registry.ts";
import { SCORECAM, type ScoreCamSoftmax } from "../xai/cam/scorecam.ts";
import { XGRADCAM, XGRADCAM_EPS } from "../xai/cam/xgradcam.ts";
import { assert, assertClose, assertEquals, assertRejects } from "./assert.ts";

await startBackend("wasm");

const NEW_METHODS: readonly Explainer<CamOptions>[] = [
  SCORECAM,
  LAYERCAM,
  XGRADCAM,
  HIRESCAM,
  EIGENCAM,
];

/** max |a − b| ≤ tolerance · max |b|. */
// ---- plain-TypeScript expectations on [N, h, w, C] arrays (index (n·hw + p)·C + c) ----------

type Shape = readonly [number, number, number, number];

/** The map before ReLU of a gradient method, from A and G. */
function expectedGradientScores(
  method: string,
  a: ArrayLike<number>,
  g: ArrayLike<number>,
  shape: Shape,
) {
  const [batch, h, w, channels] = shape;
  const pixels = h * w;
  const scores = new Float64Array(batch * pixels);
  for (let n = 0; n < batch; n++) {
    const weights = Array.from({ length: channels }, (_, c) => {
      let [gradSum, productSum, activationSum] = [0, 0, 0];
      for (let p = 0; p < pixels; p++) {
        const i = (n * pixels + p) * channels + c;
        gradSum += g[i];
        productSum += g[i] * a[i];
        activationSum += a[i];
      }
      return method === "gradcam" ? gradSum / pixels : productSum / (activationSum + XGRADCAM_EPS);
    });
    for (let p = 0; p < pixels; p++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        const i = (n * pixels + p) * channels + c;
        if (method === "layercam") sum += Math.max(g[i], 0) * a[i];
        else if (method === "hirescam") sum += g[i] * a[i];
        else sum += weights[c] * a[i];
      }
      scores[n * pixels + p] = sum;
    }
  }
  return scores;
}

/** EigenCAM's map before ReLU, by power iteration on the channel covariance (not Jacobi). */
function expectedEigenScores(a: ArrayLike<number>, shape: Shape) {
  const [batch, h, w, channels] = shape;
  const pixels = h * w;
  const scores = new Float64Array(batch * pixels);
  for (let n = 0; n < batch; n++) {
    const x = Array.from(
      { length: pixels },
      (_, p) => Array.from({ length: channels }, (_, c) => a[(n * pixels + p) * channels + c]),
    );
    const means = Array.from(
      { length: channels },
      (_, c) => x.reduce((s, row) => s + row[c], 0) / pixels,
    );
    const centred = x.map((row) => row.map((v, c) => v - means[c]));
    const cov = means.map((_, j) =>
      means.map((_, k) => centred.reduce((s, row) => s + row[j] * row[k], 0))
    );
    let v = means.map((_, c) => 1 + c / 10);
    for (let it = 0; it < 2000; it++) {
      const next = cov.map((row) => row.reduce((s, value, k) => s + value * v[k], 0));
      const norm = Math.hypot(...next);
      v = next.map((value) => value / norm);
    }
    if (v.reduce((s, value) => s + value, 0) < 0) v = v.map((value) => -value);
    centred.forEach((row, p) =>
      scores[n * pixels + p] = row.reduce((s, value, c) => s + value * v[c], 0)
    );
  }
  return scores;
}

const relu = (values: ArrayLike<number>) => Float64Array.from(values, (v) => Math.max(v, 0));

// ---- a hand-built model: 2x2 average pool "pool" → flatten → dense, no bias ----------------

const SIZE_PX = 8;
const IN_CHANNELS = 4;
const LAYER_SHAPE = [4, 4, IN_CHANNELS] as const;
const FEATURES = 4 * 4 * IN_CHANNELS;

/**
 * input [8, 8, 4] → `pool` (2x2 average, A [4, 4, 4]) → flatten → logits = flat(A) · K, so
 * ∂logit_k / ∂A(h, w, c) = K[(4h + w)·4 + c, k]: a gradient that varies over space.
 */
function flattenModel(kernel: number[][]): tf.LayersModel {
  const input = tf.input({ shape: [SIZE_PX, SIZE_PX, IN_CHANNELS] });
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: "pool" })
    .apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(pooled) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false, name: "head" });
  const logits = dense.apply(flat) as tf.SymbolicTensor;
  dense.setWeights([tf.tensor2d(kernel)]);
  return tf.model({ inputs: input, outputs: logits, name: "flatten_head" });
}

/** input [8, 8, 4] → `pool` → global average → dense: gradients constant over space. */
function gapModel(kernel: number[][]): tf.LayersModel {
  const input = tf.input({ shape: [SIZE_PX, SIZE_PX, IN_CHANNELS] });
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: "pool" })
    .apply(input) as tf.SymbolicTensor;
  const mean = tf.layers.globalAveragePooling2d({}).apply(pooled) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false, name: "head" });
  const logits = dense.apply(mean) as tf.SymbolicTensor;
  dense.setWeights([tf.tensor2d(kernel)]);
  return tf.model({ inputs: input, outputs: logits, name: "gap_head" });
}

function seededKernel(rows: number, seed: number, positive = false): number[][] {
  return tf.tidy(() => {
    const k = tf.randomNormal([rows, 2], 0, 1, "float32", seed);
    return (positive ? tf.abs(k) : k).arraySync() as number[][];
  });
}

/** Two images, |N(0, 1)| values; image 1's last channel is the constant 0.7. */
function handBatch(): { x: tf.Tensor4D; values: Float32Array } {
  const values = tf.tidy(() =>
    tf.abs(tf.randomNormal([2, SIZE_PX, SIZE_PX, IN_CHANNELS], 0, 1, "float32", 21)).dataSync()
  ) as Float32Array;
  for (let i = SIZE_PX * SIZE_PX * IN_CHANNELS; i < values.length; i += IN_CHANNELS) {
    values[i + IN_CHANNELS - 1] = 0.7;
  }
  return { x: tf.tensor4d(values, [2, SIZE_PX, SIZE_PX, IN_CHANNELS]), values };
}

/** 2x2 average pooling of an [N, 8, 8, C] array. */
function averagePool(
  values: ArrayLike<number>,
  batch: number,
  channels = IN_CHANNELS,
): Float64Array {
  const out = new Float64Array(batch * FEATURES);
  for (let n = 0; n < batch; n++) {
    for (let h = 0; h < 4; h++) {
      for (let w = 0; w < 4; w++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            sum += values[((n * SIZE_PX + 2 * h + dy) * SIZE_PX + 2 * w + dx) * channels + c];
          }
          out[((n * 4 + h) * 4 + w) * channels + c] = sum / 4;
        }
      }
    }
  }
  return out;
}

/** ∂logit_target / ∂A of the flatten model: the kernel column, per image. */
function flattenGradient(kernel: number[][], targets: Int32Array): Float64Array {
  const g = new Float64Array(targets.length * FEATURES);
  targets.forEach((t, n) => {
    for (let f = 0; f < FEATURES; f++) g[n * FEATURES + f] = kernel[f][t];
  });
  return g;
}

/** Score-CAM's channel weights on the flatten model, from masks built in plain TypeScript. */
function expectedScoreWeights(
  kernel: number[][],
  xValues: Float32Array,
  activation: Float64Array,
  targets: Int32Array,
  softmaxOver: ScoreCamSoftmax,
): Float64Array {
  const batch = targets.length;
  const pixels = 16;
  const imageSize = SIZE_PX * SIZE_PX * IN_CHANNELS;
  const weights = new Float64Array(batch * IN_CHANNELS);
  for (let n = 0; n < batch; n++) {
    const logitsOfChannel: (number | undefined)[] = [];
    const probabilities: number[] = [];
    for (let k = 0; k < IN_CHANNELS; k++) {
      const map = Float32Array.from(
        { length: pixels },
        (_, p) => activation[(n * pixels + p) * IN_CHANNELS + k],
      );
      if (Math.max(...map) === Math.min(...map)) continue;
      const up = resizeBilinearHalfPixelReference(map, [1, 4, 4], [SIZE_PX, SIZE_PX]);
      const [low, high] = [Math.min(...up), Math.max(...up)];
      const masked = new Float64Array(imageSize);
      for (let i = 0; i < imageSize; i++) {
        const mask = (up[Math.floor(i / IN_CHANNELS)] - low) / (high - low);
        masked[i] = xValues[n * imageSize + i] * mask;
      }
      const pooled = averagePool(masked, 1);
      const logits = [0, 1].map((cls) => pooled.reduce((s, v, f) => s + v * kernel[f][cls], 0));
      logitsOfChannel[k] = logits[targets[n]];
      const top = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - top));
      probabilities[k] = exps[targets[n]] / (exps[0] + exps[1]);
    }
    const kept = logitsOfChannel.flatMap((l, k) => l === undefined ? [] : [k]);
    const top = Math.max(...kept.map((k) => logitsOfChannel[k]!));
    const total = kept.reduce((s, k) => s + Math.exp(logitsOfChannel[k]! - top), 0);
    for (const k of kept) {
      weights[n * IN_CHANNELS + k] = softmaxOver === "classes"
        ? probabilities[k]
        : Math.exp(logitsOfChannel[k]! - top) / total;
    }
  }
  return weights;
}

function weightedSum(activation: Float64Array, weights: Float64Array, batch: number): Float64Array {
  const out = new Float64Array(batch * 16);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < 16; p++) {
      for (let c = 0; c < IN_CHANNELS; c++) {
        out[n * 16 + p] += weights[n * IN_CHANNELS + c] *
          activation[(n * 16 + p) * IN_CHANNELS + c];
      }
    }
  }
  return out;
}

/** The layer map and its upsampling equal `expectedScores` after ReLU. */
function assertMaps(
  attr: Attribution,
  expectedScores: Float64Array,
  label: string,
  tolerance = 1e-5,
) {
  const layerMaps = relu(expectedScores);
  assertClose(attr.layer!.layerMapsNhw, layerMaps, tolerance, `${label}: layer map`);
  const upsampled = resizeBilinearHalfPixelReference(Float32Array.from(layerMaps), [
    attr.shapeNHW[0],
    4,
    4,
  ], [
    SIZE_PX,
    SIZE_PX,
  ]);
  assertClose(attr.mapsNHW, upsampled, tolerance, `${label}: upsampled`);
}

Deno.test("gradient CAMs equal their formulas on a hand-built model with spatial gradients", async () => {
  const kernel = seededKernel(FEATURES, 22);
  const model = flattenModel(kernel);
  const { x, values } = handBatch();
  const targets = Int32Array.from([0, 1]);
  const activation = averagePool(values, 2);
  const gradient = flattenGradient(kernel, targets);
  const shape = [2, ...LAYER_SHAPE] as const;
  try {
    for (const explainer of [XGRADCAM, LAYERCAM, HIRESCAM]) {
      const attr = await explainer.explain(model, x, targets, { layer: "pool" });
      assertEquals(attr.layer!.name, "pool");
      assertEquals([...attr.layer!.shapeNHWC], [...shape]);
      const expected = expectedGradientScores(explainer.name, activation, gradient, shape);
      if (explainer !== LAYERCAM) {
        assert(expected.some((v) => v < 0), `${explainer.name}: the test should exercise the ReLU`);
      }
      assertMaps(attr, expected, explainer.name);
    }
    // The three differ here: spatial gradients make HiResCAM ≠ Grad-CAM, mixed signs LayerCAM ≠ HiResCAM.
    const [grad, hires, layer] = await Promise.all(
      [GRADCAM, HIRESCAM, LAYERCAM].map((e) => e.explain(model, x, targets, { layer: "pool" })),
    );
    const differ = (a: Float32Array, b: Float32Array) =>
      a.some((v, i) => Math.abs(v - b[i]) > 1e-3);
    assert(differ(hires.mapsNHW, grad.mapsNHW) && differ(hires.mapsNHW, layer.mapsNHW));
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("EigenCAM is the first principal component's projection, oriented by the channel sum", async () => {
  const model = flattenModel(seededKernel(FEATURES, 23));
  const { x, values } = handBatch();
  try {
    const attr = await EIGENCAM.explain(model, x, Int32Array.from([0, 1]), { layer: "pool" });
    const shape = [2, ...LAYER_SHAPE] as const;
    assertMaps(attr, expectedEigenScores(averagePool(values, 2), shape), "eigencam", 1e-5);
    const otherTargets = await EIGENCAM.explain(model, x, Int32Array.from([1, 0]), {
      layer: "pool",
    });
    assertEquals([...otherTargets.mapsNHW], [...attr.mapsNHW], "class-agnostic");
    // A constant added to a channel leaves the centred activations, so the map, unchanged.
    const shifted = tf.add(x, tf.tensor1d([0, 3, 0, 0])) as tf.Tensor4D;
    const again = await EIGENCAM.explain(model, shifted, Int32Array.from([0, 1]), {
      layer: "pool",
    });
    shifted.dispose();
    assertClose(again.layer!.layerMapsNhw, attr.layer!.layerMapsNhw, 1e-4, "shift invariance");
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("first principal projection: both Gram paths, orientation, constant input", () => {
  for (const [rows, cols] of [[5, 12], [12, 5]]) {
    const matrix = tf.tidy(() => tf.randomNormal([rows, cols], 0, 1, "float32", rows).dataSync());
    const projection = firstPrincipalProjection(matrix, rows, cols);
    const expected = expectedEigenScores(matrix, [1, rows, 1, cols]);
    assertClose(projection, expected, 1e-9, `${rows} x ${cols}`);
    const rowSums = Array.from(
      { length: rows },
      (_, i) => [...matrix.slice(i * cols, (i + 1) * cols)].reduce((s, v) => s + v, 0),
    );
    const meanRowSum = rowSums.reduce((s, v) => s + v, 0) / rows;
    const correlation = projection.reduce((s, v, i) => s + v * (rowSums[i] - meanRowSum), 0);
    assert(correlation >= 0, `${rows} x ${cols}: oriented against the channel sum`);
  }
  assertEquals([...firstPrincipalProjection(new Float32Array(12).fill(2), 3, 4)], [0, 0, 0]);
});

Deno.test("ScoreCAM equals masked-input scores computed by hand; batch size changes nothing", async () => {
  const kernel = seededKernel(FEATURES, 24);
  const model = flattenModel(kernel);
  const { x, values } = handBatch();
  const targets = Int32Array.from([1, 0]);
  const activation = averagePool(values, 2);
  try {
    for (const softmaxOver of ["classes", "channels"] as const) {
      const expectedWeights = expectedScoreWeights(
        kernel,
        values,
        activation,
        targets,
        softmaxOver,
      );
      assertEquals(
        expectedWeights[2 * IN_CHANNELS - 1],
        0,
        "image 1's constant channel is skipped",
      );
      for (const batchSize of [1, 3, 64]) {
        const attr = await SCORECAM.explain(model, x, targets, {
          layer: "pool",
          batchSize,
          softmaxOver,
        });
        const label = `scorecam ${softmaxOver}, batch ${batchSize}`;
        assertClose(attr.layer!.weightsNC!, expectedWeights, 1e-5, `${label}: weights`);
        assertMaps(attr, weightedSum(activation, expectedWeights, 2), label);
      }
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("with gradients constant over space HiResCAM, XGradCAM (and LayerCAM for positive ones) equal Grad-CAM", async () => {
  const { x } = handBatch();
  const targets = Int32Array.from([0, 1]);
  for (const positive of [false, true]) {
    const model = gapModel(seededKernel(IN_CHANNELS, 25, positive));
    try {
      const grad = await GRADCAM.explain(model, x, targets, { layer: "pool" });
      assert(grad.mapsNHW.some((v) => v > 0), "Grad-CAM map is all zero");
      const hires = await HIRESCAM.explain(model, x, targets, { layer: "pool" });
      assertClose(hires.mapsNHW, grad.mapsNHW, 1e-5, "hirescam = gradcam");
      const xgrad = await XGRADCAM.explain(model, x, targets, { layer: "pool" });
      assertClose(
        xgrad.layer!.weightsNC!,
        grad.layer!.weightsNC!,
        1e-5,
        "xgradcam weights = gradcam's",
      );
      const layer = await LAYERCAM.explain(model, x, targets, { layer: "pool" });
      if (positive) assertClose(layer.mapsNHW, grad.mapsNHW, 1e-5, "layercam = gradcam");
      else {assert(
          layer.mapsNHW.some((v, i) => Math.abs(v - grad.mapsNHW[i]) > 1e-4),
          "negative gradients",
        );}
    } finally {
      model.dispose();
    }
  }
  x.dispose();
});

Deno.test("on ecgnet the gradient CAMs equal their formulas on the real activations and gradients", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 5 });
  const x = tf.randomNormal([4, 32, 32, 3], 0, 1, "float32", 6) as tf.Tensor4D;
  const targets = Int32Array.from([0, 1, 2, 3]);
  try {
    for (const layer of ["default", "features.3"]) {
      for (const explainer of [XGRADCAM, LAYERCAM, HIRESCAM]) {
        const attr = await explainer.explain(model, x, targets, { layer });
        const raw = inputGradients(model, x, targets, { layer: attr.layer!.name });
        const expected = relu(
          expectedGradientScores(
            explainer.name,
            raw.activation!.dataSync(),
            raw.gradient.dataSync(),
            attr.layer!.shapeNHWC,
          ),
        );
        tf.dispose([raw.logits, raw.gradient, raw.activation!]);
        assertClose(attr.layer!.layerMapsNhw, expected, 1e-5, `${explainer.name} at ${layer}`);
      }
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

const LAYERS_32PX = [
  ["default", "features.4.2"],
  ["last-conv", "features.4.0"],
  ["features.2", "features.2.2"],
] as const;

Deno.test("every new CAM runs on ecgnet at 32 px and is registered", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const targets = Int32Array.from([0, 3]);
  try {
    for (const explainer of NEW_METHODS) {
      assert(EXPLAINERS.includes(explainer as never), `${explainer.name} is not in the registry`);
      // At 32 px ecgnet's last block is 1 x 1: every CAM map is constant there (zero for
      // ScoreCAM and EigenCAM, whose channels or pixels do not vary); features.2 is 4 x 4.
      for (const [layer, layerName] of LAYERS_32PX) {
        const tensorsBefore = tf.memory().numTensors;
        const attr = await explainer.explain(model, x, targets, { layer });
        const label = `${explainer.name} at ${layer}`;
        assertEquals(tf.memory().numTensors, tensorsBefore, `${label}: tensors left behind`);
        assertEquals(attr.method, explainer.name);
        assertEquals([...attr.shapeNHW], [2, 32, 32], label);
        assertEquals(attr.layer!.name, layerName, label);
        assert(
          attr.mapsNHW.every((v) => Number.isFinite(v) && v >= 0),
          `${label}: negative or NaN`,
        );
        if (layer === "features.2") assert(attr.mapsNHW.some((v) => v > 0), `${label}: all zero`);
      }
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("bad inputs to the new CAMs are InputErrors that say what is valid", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  const targets = Int32Array.from([0]);
  try {
    for (const explainer of NEW_METHODS) {
      await assertRejects(
        () => explainer.explain(model, x, targets, { layer: "layer4" }),
        InputError,
        "last-conv (features.4.0), or a torch module path of ecgnet",
      );
      await assertRejects(
        () => explainer.explain(model, x, Int32Array.from([4]), {}),
        InputError,
        "classes 0..3",
      );
    }
    await assertRejects(
      () => SCORECAM.explain(model, x, targets, { batchSize: 0 }),
      InputError,
      "batchSize",
    );
    await assertRejects(
      () => SCORECAM.explain(model, x, targets, { softmaxOver: "pixels" as ScoreCamSoftmax }),
      InputError,
      "classes, channels",
    );
  } finally {
    model.dispose();
    x.dispose();
  }
});
