/**
 * Attribution methods: IG completeness, Grad-CAM on a model whose map is known analytically,
 * explainers equal to the plain-TypeScript kernel references, and bad inputs.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import {
  camPoolReference,
  resizeBilinearHalfPixelReference,
} from "../xai/kernels/gradcam_pool_reference.ts";
import { type CamWeighting, GRADCAMPP_ALPHA_EPS } from "../xai/kernels/cam_weighting.ts";
import {
  igAccumulateReference,
  igScaledInputsReference,
} from "../xai/kernels/ig_path_reference.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import { makeBaselineNHWC } from "../xai/gradient/baselines.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { GRADCAM_PLUS_PLUS } from "../xai/cam/gradcam_plus_plus.ts";
import { INPUT_X_GRADIENT } from "../xai/gradient/input_x_gradient.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";
import { normaliseMinMax } from "../xai/normalise.ts";
import { gaussLegendre, type IgMethod, pathQuadrature } from "../xai/gradient/quadrature.ts";
import { EXPLAINERS, getExplainer } from "../xai/registry.ts";
import { SALIENCY } from "../xai/gradient/saliency.ts";
import { SMOOTHGRAD } from "../xai/gradient/smoothgrad.ts";
import { DEFAULT_CAM_MODULES, resolveCamLayer } from "../xai/target_layers.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";

await startBackend("wasm");

const PARITY_DIR = Deno.env.get("TORCH_PARITY_DIR") ?? "../shared/torch-parity";

function randomBatch(batch: number, sizePx: number, seed: number, channels = 3): tf.Tensor4D {
  return tf.randomNormal([batch, sizePx, sizePx, channels], 0, 1, "float32", seed) as tf.Tensor4D;
}

Deno.test("Gauss-Legendre nodes integrate polynomials up to degree 2n − 1 exactly", () => {
  const { nodes, weights } = gaussLegendre(7);
  for (let degree = 0; degree <= 13; degree++) {
    const integral = nodes.reduce((sum, t, k) => sum + weights[k] * t ** degree, 0);
    const exact = degree % 2 === 1 ? 0 : 2 / (degree + 1);
    assert(Math.abs(integral - exact) < 1e-14, `degree ${degree}: ${integral} vs ${exact}`);
  }
});

const RECORDED_QUADRATURE = `${PARITY_DIR}/resnet18_expected.json`;

Deno.test({
  name: "IG alphas and step sizes equal Captum's (recorded in the torch-parity fixture)",
  ignore: !(await pathExists(RECORDED_QUADRATURE)),
  fn: async () => {
    const recorded = JSON.parse(await Deno.readTextFile(RECORDED_QUADRATURE)).integrated_gradients;
    for (const method of ["gausslegendre", "riemann_trapezoid"] as const) {
      const { alphas, stepSizes } = pathQuadrature(method, recorded[method].n_steps);
      // Trapezoid alphas are torch.linspace's float32 values, a few one ulp apart (its AVX kernel).
      const tolerance = method === "gausslegendre" ? 2e-16 : 2 ** -24;
      alphas.forEach((a, k) => {
        const diff = Math.abs(a - recorded[method].alphas[k]);
        assert(diff <= tolerance, `${method} alpha ${k}: off by ${diff}`);
      });
      assertEquals(
        [...stepSizes],
        recorded[method].step_sizes.map(Math.fround),
        `${method}: step sizes`,
      );
    }
  },
});

for (const [arch, sizePx, batch] of [["ecgnet", 64, 2], ["resnet18", 64, 1]] as const) {
  Deno.test(`IG completeness within 1 % with 128 Gauss-Legendre steps on ${arch}`, async () => {
    const model = buildModel(arch, { numClasses: 4, imgSizePx: sizePx, seed: 11 });
    const x = randomBatch(batch, sizePx, 12);
    try {
      const targets = Int32Array.from({ length: batch }, (_, i) => i + 1);
      const attr = await INTEGRATED_GRADIENTS.explain(model, x, targets, {
        nSteps: 128,
        method: "gausslegendre",
        internalBatchSize: 32,
      });
      const logits = tf.tidy(() =>
        (model.predict(tf.concat([x, tf.zerosLike(x)])) as tf.Tensor).arraySync() as number[][]
      );
      const mapSize = sizePx * sizePx;
      targets.forEach((target, i) => {
        const gain = logits[i][target] - logits[batch + i][target];
        const total = attr.mapsNHW.subarray(i * mapSize, (i + 1) * mapSize)
          .reduce((a, b) => a + b, 0);
        const error = Math.abs(total - gain);
        console.log(`${arch} image ${i}: Σ attributions ${total}, F(x) − F(0) ${gain}`);
        assert(error <= 0.01 * Math.abs(gain), `${arch} image ${i}: off by ${error / gain}`);
        assert(Math.abs(attr.convergenceDelta![i] - (total - gain)) <= 1e-4 * Math.abs(gain));
      });
    } finally {
      model.dispose();
      x.dispose();
    }
  });
}

/**
 * input [8, 8, 2] → `pool` (2x2 average) → global average → dense W [2, 2], no bias:
 * logit_k = Σ_c W[c, k] · mean(A_c), so ∂logit_k / ∂A_c(h, w) = W[c, k] / 16 everywhere.
 */
function analyticModel(kernel: number[][]): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 2] });
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: "pool" })
    .apply(input) as tf.SymbolicTensor;
  const mean = tf.layers.globalAveragePooling2d({}).apply(pooled) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false, name: "head" });
  const logits = dense.apply(mean) as tf.SymbolicTensor;
  dense.setWeights([tf.tensor2d(kernel)]);
  return tf.model({ inputs: input, outputs: logits, name: "analytic" });
}

Deno.test("Grad-CAM and GradCAM++ give the analytic map of a hand-built model", async () => {
  const kernel = [[1.5, -2], [-0.5, 1]];
  const model = analyticModel(kernel);
  const x = tf.abs(randomBatch(2, 8, 3, 2)) as tf.Tensor4D;
  const targets = Int32Array.from([0, 1]);
  try {
    const pooled = tf.tidy(() => tf.avgPool(x, 2, 2, "valid").arraySync() as number[][][][]);
    for (const explainer of [GRADCAM, GRADCAM_PLUS_PLUS]) {
      const attr = await explainer.explain(model, x, targets, { layer: "pool" });
      const expectedWeights: number[] = [];
      const expectedMaps: number[] = [];
      targets.forEach((k, n) => {
        const weights = [0, 1].map((c) => {
          const g = kernel[c][k] / 16;
          if (explainer === GRADCAM) return g;
          const activationSum = pooled[n].flat().reduce((s, v) => s + v[c], 0);
          const alpha = g * g / (2 * g * g + activationSum * g ** 3 + GRADCAMPP_ALPHA_EPS);
          return 16 * alpha * Math.max(g, 0);
        });
        expectedWeights.push(...weights);
        for (const row of pooled[n]) {
          for (const a of row) {
            expectedMaps.push(Math.max(0, weights[0] * a[0] + weights[1] * a[1]));
          }
        }
      });
      assertClose(attr.layer!.weightsNC!, expectedWeights, 1e-6, `${explainer.name} weights`);
      assertClose(attr.layer!.layerMapsNhw, expectedMaps, 1e-6, `${explainer.name} map`);
      const upsampled = resizeBilinearHalfPixelReference(
        Float32Array.from(expectedMaps),
        [2, 4, 4],
        [8, 8],
      );
      assertClose(attr.mapsNHW, upsampled, 1e-6, `${explainer.name} upsampled`);
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("the Grad-CAM explainers equal the pooling kernel's reference", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64, seed: 5 });
  const x = randomBatch(4, 64, 6);
  // Every class once: a random head's map may be all zero for one target, not for all.
  const targets = Int32Array.from([0, 1, 2, 3]);
  try {
    for (
      const [explainer, weighting] of [[GRADCAM, "gradcam"], [
        GRADCAM_PLUS_PLUS,
        "gradcam++",
      ]] as const
    ) {
      for (const layer of ["default", "last-conv", "features.3"]) {
        const attr = await explainer.explain(model, x, targets, { layer });
        const raw = inputGradients(model, x, targets, { layer: attr.layer!.name });
        const reference = camPoolReference({
          activationNHWC: raw.activation!.dataSync() as Float32Array,
          gradientNHWC: raw.gradient.dataSync() as Float32Array,
          shapeNHWC: attr.layer!.shapeNHWC,
          weighting: weighting as CamWeighting,
          outputSizePx: [64, 64],
        });
        tf.dispose([raw.logits, raw.gradient, raw.activation!]);
        const label = `${explainer.name} at ${layer}`;
        assertClose(attr.layer!.weightsNC!, reference.weightsNC, 1e-5, `${label}: weights`);
        assertClose(attr.layer!.layerMapsNhw, reference.layerMapsNhw, 1e-5, `${label}: map`);
        assertClose(attr.mapsNHW, reference.mapsNHW, 1e-5, `${label}: upsampled`);
      }
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("Integrated Gradients equals the path kernel's reference", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 7 });
  const x = randomBatch(2, 32, 8);
  const targets = Int32Array.from([1, 2]);
  const shape = x.shape;
  try {
    const xValues = x.dataSync() as Float32Array;
    for (const method of ["gausslegendre", "riemann_trapezoid", "riemann_middle"] as IgMethod[]) {
      for (const baseline of ["uniform", "blurred"] as const) {
        const attr = await INTEGRATED_GRADIENTS.explain(model, x, targets, {
          method,
          nSteps: 5,
          baseline,
          seed: 4,
          internalBatchSize: 3,
          keepChannels: true,
        });
        const baselineNHWC = makeBaselineNHWC(baseline, xValues, shape, { seed: 4 });
        const { alphas, stepSizes } = pathQuadrature(method, 5);
        const rows = igScaledInputsReference(xValues, baselineNHWC, shape, alphas);
        const rowTargets = Int32Array.from({ length: 10 }, (_, r) => targets[r % 2]);
        const raw = inputGradients(model, tf.tensor4d(rows, [10, 32, 32, 3]), rowTargets);
        const expected = igAccumulateReference(
          raw.gradient.dataSync() as Float32Array,
          xValues,
          baselineNHWC,
          shape,
          stepSizes,
        );
        tf.dispose([raw.logits, raw.gradient]);
        assertClose(attr.attributionsNHWC!, expected, 1e-5, `${method}, ${baseline} baseline`);
      }
    }
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("Input x Gradient and SmoothGrad without noise follow from the gradient", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 9 });
  const x = randomBatch(2, 32, 10);
  const targets = Int32Array.from([0, 3]);
  try {
    const signed = await SALIENCY.explain(model, x, targets, { abs: false, keepChannels: true });
    const xValues = x.dataSync();
    const ixg = await INPUT_X_GRADIENT.explain(model, x, targets, { keepChannels: true });
    assertClose(
      ixg.attributionsNHWC!,
      signed.attributionsNHWC!.map((g, i) => g * xValues[i]),
      1e-6,
      "input x gradient",
    );
    const smooth = await SMOOTHGRAD.explain(model, x, targets, {
      noiseLevel: 0,
      nSamples: 3,
      internalBatchSize: 4,
      keepChannels: true,
    });
    assertClose(
      smooth.attributionsNHWC!,
      signed.attributionsNHWC!.map(Math.abs),
      1e-5,
      "smoothgrad",
    );
    const noisy = await SMOOTHGRAD.explain(model, x, targets, { nSamples: 3, seed: 1 });
    const again = await SMOOTHGRAD.explain(model, x, targets, {
      nSamples: 3,
      seed: 1,
      internalBatchSize: 5,
    });
    assertClose(again.mapsNHW, noisy.mapsNHW, 1e-6, "smoothgrad is reproducible per seed");
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("every architecture has a default Grad-CAM layer; resnet's is layer4's output", () => {
  assertEquals(
    ARCHITECTURES.map((a) => a.name).filter((name) => !(name in DEFAULT_CAM_MODULES)),
    [],
  );
  const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 32 });
  try {
    assertEquals(resolveCamLayer(model, "default").name, "layer4.1.relu-2");
    assertEquals(resolveCamLayer(model, "last-conv").name, "layer4.1.conv2");
    assertEquals(resolveCamLayer(model, "layer3").name, "layer3.1.relu-2");
  } finally {
    model.dispose();
  }
});

Deno.test("bad inputs are InputErrors that say what is valid", async () => {
  assertThrows(
    () => getExplainer("no_such_method"),
    InputError,
    EXPLAINERS.map((e) => e.name).join(", "),
  );
  const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 32 });
  const x = randomBatch(1, 32, 1);
  try {
    const targets = Int32Array.from([0]);
    await assertRejects(
      () => GRADCAM.explain(model, x, targets, { layer: "layer9" }),
      InputError,
      "last-conv (layer4.1.conv2), or a torch module path of resnet18: conv1, bn1",
    );
    await assertRejects(
      () => GRADCAM.explain(model, x, targets, { layer: "fc" }),
      InputError,
      "not a spatial map",
    );
    await assertRejects(
      () => SALIENCY.explain(model, x, Int32Array.from([4]), {}),
      InputError,
      "classes 0..3",
    );
    await assertRejects(
      () => SALIENCY.explain(model, x, Int32Array.from([0, 1])),
      InputError,
      "2 targets",
    );
    const wrong = randomBatch(1, 40, 2);
    await assertRejects(
      () => SALIENCY.explain(model, wrong, targets),
      InputError,
      "[N, 32, 32, 3]",
    );
    wrong.dispose();
    await assertRejects(
      () => INTEGRATED_GRADIENTS.explain(model, x, targets, { method: "simpson" as IgMethod }),
      InputError,
      "gausslegendre",
    );
    await assertRejects(
      () => INTEGRATED_GRADIENTS.explain(model, x, targets, { baseline: new Float32Array(5) }),
      InputError,
      "3072",
    );
    await assertRejects(
      () => INTEGRATED_GRADIENTS.explain(model, x, targets, { nSteps: 0 }),
      InputError,
      "nSteps",
    );
  } finally {
    model.dispose();
    x.dispose();
  }
});

Deno.test("min-max normalisation: a constant map becomes zeros, never NaN", () => {
  const maps = Float32Array.from([0, 0, 0, 0, 2, 2, 2, 2, -1, 1, 3, 1]);
  assertEquals([...normaliseMinMax(maps, 3)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 0.5]);
});
