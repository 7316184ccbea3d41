/**
 * Modified backward rules (`graph/backward_rules.ts`) and the methods built on them: each rule on
 * a two-layer network whose answer is worked out by hand, DeepLIFT's completeness on a network
 * without max-pool (every activation kind), GradientSHAP's completeness in expectation, Guided
 * Grad-CAM as the product of its two factors, and the errors.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { buildModel } from "../models/registry.ts";
import { TorchLayers } from "../models/layers.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { GUIDED_GRADCAM, upsampleMapsNearest } from "../xai/cam/guided_gradcam.ts";
import { DECONVOLUTION } from "../xai/gradient/deconvolution.ts";
import { makeBaselineNHWC } from "../xai/gradient/baselines.ts";
import { DEEPLIFT } from "../xai/gradient/deeplift.ts";
import { GRADIENT_SHAP } from "../xai/gradient/gradient_shap.ts";
import { GUIDED_BACKPROP } from "../xai/gradient/guided_backprop.ts";
import { SALIENCY } from "../xai/gradient/saliency.ts";
import { assert, assertClose, assertEquals, assertThrows } from "./assert.ts";

await startBackend("wasm");

/**
 * F(x) = v · relu(W x) with W = [[1, −1], [1, −3]] (h = (x1 − x2, x1 − 3 x2)) and v = (−2, 3).
 * At x = (2, 1): h = (1, −1), the ReLU passes (1, 0), F = −2, and the gradient arriving at the
 * ReLU is g = (−2, 3).
 */
function tinyReluNetwork(): tf.LayersModel {
  const x = tf.input({ shape: [1, 1, 2] });
  const flat = tf.layers.flatten().apply(x);
  const h = tf.layers.dense({
    units: 2,
    useBias: false,
    weights: [tf.tensor2d([[1, 1], [-1, -3]])],
  }).apply(flat);
  const r = tf.layers.activation({ activation: "relu" }).apply(h);
  const y = tf.layers.dense({ units: 1, useBias: false, weights: [tf.tensor2d([[-2], [3]])] })
    .apply(r) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

Deno.test("each rule on a two-layer ReLU network, against the hand-worked answer", async () => {
  const model = tinyReluNetwork();
  const x = tf.tensor4d([2, 1], [1, 1, 1, 2]);
  const target = Int32Array.of(0);
  const keep = { keepChannels: true };
  try {
    // Plain: the ReLU passes g · 1[h > 0] = (−2, 0); W^T (−2, 0) = (−2, 2).
    const plain = await SALIENCY.explain(model, x, target, { abs: false, ...keep });
    assertEquals([...plain.attributionsNHWC!], [-2, 2]);
    // Guided: relu((−2, 0)) = 0 passes nothing back.
    const guided = await GUIDED_BACKPROP.explain(model, x, target, keep);
    assertEquals([...guided.attributionsNHWC!].map(Math.abs), [0, 0]);
    // Deconvolution: relu(g) = (0, 3) whatever the gate; W^T (0, 3) = (3, −9).
    const deconvolution = await DECONVOLUTION.explain(model, x, target, keep);
    assertEquals([...deconvolution.attributionsNHWC!], [3, -9]);
    // DeepLIFT from x0 = (−1, −1): h0 = (0, 2), relu(h0) = (0, 2); multipliers
    // (1 − 0) / (1 − 0) = 1 and (0 − 2) / (−1 − 2) = 2/3, so the ReLU passes (−2, 2),
    // W^T (−2, 2) = (0, −4) and the attribution (x − x0) · (0, −4) = (0, −8), which is
    // F(x) − F(x0) = −2 − 6.
    const deeplift = await DEEPLIFT.explain(model, x, target, {
      baseline: Float32Array.of(-1, -1),
      ...keep,
    });
    assertClose(deeplift.attributionsNHWC!, Float32Array.of(0, -8), 1e-6, "DeepLIFT");
    assert(Math.abs(deeplift.convergenceDelta![0]) < 1e-6, "complete");
  } finally {
    model.dispose();
    x.dispose();
  }
});

/** conv → BN → ReLU → sigmoid → SiLU → ReLU6 (each after a conv and BN) → dense: no max-pool. */
function everyActivationNetwork(): tf.LayersModel {
  const nn = new TorchLayers(3);
  const x = tf.input({ shape: [8, 8, 3] });
  let h = nn.convBnAct(x, "a", { outChannels: 8, kernelPx: 3 }, "relu");
  h = nn.convBnAct(h, "b", { outChannels: 8, kernelPx: 3, stride: 2 }, "sigmoid");
  h = nn.convBnAct(h, "c", { outChannels: 8, kernelPx: 3 }, "silu");
  h = nn.convBnAct(h, "d", { outChannels: 8, kernelPx: 1 }, "relu6");
  const pooled = tf.layers.flatten().apply(h);
  const y = tf.layers.dense({
    units: 3,
    kernelInitializer: tf.initializers.randomNormal({ seed: 5 }),
  })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

/** Per image, F(x) − F(x0) for the targets. */
async function gains(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  x0NHWC: tf.Tensor4D,
  targets: Int32Array,
): Promise<number[]> {
  const [at, from] = [model.predict(xNHWC) as tf.Tensor2D, model.predict(x0NHWC) as tf.Tensor2D];
  const [a, b] = [await at.array(), await from.array()];
  tf.dispose([at, from]);
  return [...targets].map((t, i) => a[i][t] - b[i][t]);
}

Deno.test("DeepLIFT is complete without max-pool, at every activation kind", async () => {
  const model = everyActivationNetwork();
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 11) as tf.Tensor4D;
  const targets = Int32Array.of(0, 2);
  try {
    for (const baseline of ["zero", "black", "uniform"] as const) {
      const attr = await DEEPLIFT.explain(model, x, targets, { baseline });
      const x0 = tf.tensor4d(
        makeBaselineNHWC(baseline, await x.data() as Float32Array, x.shape),
        x.shape,
      );
      const gain = await gains(model, x, x0, targets);
      x0.dispose();
      attr.convergenceDelta!.forEach((delta, i) => {
        // A network whose logit hardly moves would pass any completeness check.
        assert(Math.abs(gain[i]) > 1e-3, `${baseline}: F(x) − F(x0) = ${gain[i]}, too flat`);
        assert(Math.abs(delta) <= 1e-6 + 1e-3 * Math.abs(gain[i]), `${baseline}: delta ${delta}`);
      });
    }
    // Captum has no SiLU handler: its gradient is the ordinary one and completeness is lost.
    const compat = await DEEPLIFT.explain(model, x, targets, { captumCompat: true });
    const paper = await DEEPLIFT.explain(model, x, targets, {});
    assert(compat.mapsNHW.some((v, i) => v !== paper.mapsNHW[i]), "captumCompat leaves SiLU out");
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("GradientSHAP is complete in expectation: mean Σ attributions → F(x) − E_b F(b)", async () => {
  const model = everyActivationNetwork();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 12) as tf.Tensor4D;
  const targets = Int32Array.of(1);
  try {
    const baselines = ["zero", "black"] as const;
    const attr = await GRADIENT_SHAP.explain(model, x, targets, {
      baselines,
      nSamples: 2000,
      internalBatchSize: 500,
      seed: 4,
    });
    const total = attr.mapsNHW.reduce((a, b) => a + b, 0);
    const [zero, black] = await Promise.all(
      baselines.map(async (b) => {
        const x0 = tf.tensor4d(
          makeBaselineNHWC(b, await x.data() as Float32Array, x.shape),
          x.shape,
        );
        const [gain] = await gains(model, x, x0, targets);
        x0.dispose();
        return gain;
      }),
    );
    const expected = (zero + black) / 2;
    assert(Math.abs(expected) > 0.05, `F(x) − E_b F(b) = ${expected}: too flat a network`);
    assert(
      Math.abs(total - expected) <= 0.03 * Math.abs(expected),
      `Σ attributions ${total}, F(x) − E_b F(b) = ${expected}`,
    );
    // One sample is one point of one path: far from complete.
    const one = await GRADIENT_SHAP.explain(model, x, targets, { baselines, nSamples: 1, seed: 4 });
    const oneTotal = one.mapsNHW.reduce((a, b) => a + b, 0);
    assert(Math.abs(oneTotal - expected) > 0.03 * Math.abs(expected), "the test can fail");
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("Guided Grad-CAM is Guided Backprop times the nearest-upsampled Grad-CAM map", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const targets = Int32Array.of(0, 3);
  try {
    for (const layer of ["default", "last-conv"]) {
      const ggc = await GUIDED_GRADCAM.explain(model, x, targets, { layer, keepChannels: true });
      const cam = await GRADCAM.explain(model, x, targets, { layer });
      const guided = await GUIDED_BACKPROP.explain(model, x, targets, { keepChannels: true });
      assertEquals(ggc.layer!.layerMapsNhw, cam.layer!.layerMapsNhw, `${layer}: Grad-CAM factor`);
      const [, h, w] = cam.layer!.shapeNHWC;
      const expected = tf.tidy(() => {
        const up = upsampleMapsNearest(tf.tensor3d(cam.layer!.layerMapsNhw, [2, h, w]), [32, 32]);
        return tf.mul(tf.tensor4d(guided.attributionsNHWC!, [2, 32, 32, 3]), tf.expandDims(up, 3))
          .dataSync() as Float32Array;
      });
      assertClose(ggc.attributionsNHWC!, expected, 1e-6, `${layer}: the product`);
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("a backward rule is for input gradients only; rescale needs its baseline", () => {
  const model = tinyReluNetwork();
  const x = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
  try {
    assertThrows(
      () =>
        inputGradients(model, x, Int32Array.of(0), {
          layer: model.layers[2].name,
          rule: { name: "guided", activations: ["relu"] },
        }),
      InputError,
      "drop `layer` and `from`",
    );
    assertThrows(
      () =>
        inputGradients(model, x, Int32Array.of(0), {
          rule: { name: "rescale", activations: ["relu"] },
        }),
      InputError,
      "baselineNHWC",
    );
  } finally {
    model.dispose();
    x.dispose();
  }
});
