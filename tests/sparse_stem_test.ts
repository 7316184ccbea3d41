import { assert, assertClose, assertEquals } from "./assert.ts";
import { tf } from "../deps.ts";
import { perturbSubsets } from "../metrics/kernels/perturb_subsets.ts";
import type { SubsetPerturbation } from "../metrics/kernels/perturb_subsets_types.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { SparseStem } from "../graph/sparse_stem.ts";
import { LIME } from "../xai/perturbation/lime.ts";
import { OCCLUSION } from "../xai/perturbation/occlusion.ts";
import { lcgValues } from "./numbers.ts";

await startBackend("wasm");

interface StemCase {
  label: string;
  heightPx: number;
  widthPx: number;
  zeroPadding?: [[number, number], [number, number]];
  kernelPx: number;
  stride: number;
  padding: "same" | "valid";
  batchNorm: boolean;
}

const CASES: StemCase[] = [
  // resnet's stem: explicit padding, valid 7 x 7 stride 2, BatchNorm (not folded here).
  {
    label: "pad 3 + valid 7x7/2 + BN",
    heightPx: 15,
    widthPx: 12,
    zeroPadding: [[3, 3], [3, 3]],
    kernelPx: 7,
    stride: 2,
    padding: "valid",
    batchNorm: true,
  },
  // Uneven explicit padding, as torch-style "same" padding of even kernels makes.
  {
    label: "pad (0,1)/(1,0) + valid 3x3/2",
    heightPx: 9,
    widthPx: 10,
    zeroPadding: [[0, 1], [1, 0]],
    kernelPx: 3,
    stride: 2,
    padding: "valid",
    batchNorm: false,
  },
  // tfjs "same" padding, odd and even sizes, stride 2 and 1.
  {
    label: "same 3x3/2",
    heightPx: 11,
    widthPx: 8,
    kernelPx: 3,
    stride: 2,
    padding: "same",
    batchNorm: true,
  },
  {
    label: "same 4x4/1",
    heightPx: 7,
    widthPx: 6,
    kernelPx: 4,
    stride: 1,
    padding: "same",
    batchNorm: false,
  },
];

function stemModel(c: StemCase): tf.LayersModel {
  const input = tf.input({ shape: [c.heightPx, c.widthPx, 3] });
  let h: tf.SymbolicTensor = input;
  if (c.zeroPadding) {
    h = tf.layers.zeroPadding2d({ padding: c.zeroPadding }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.conv2d({
    filters: 5,
    kernelSize: c.kernelPx,
    strides: c.stride,
    padding: c.padding,
    kernelInitializer: tf.initializers.randomNormal({ seed: 3 }),
    biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
  }).apply(h) as tf.SymbolicTensor;
  if (c.batchNorm) {
    const bn = tf.layers.batchNormalization({ axis: -1 });
    h = bn.apply(h) as tf.SymbolicTensor;
    const [gamma, beta, mean, variance] = bn.getWeights();
    bn.setWeights([
      tf.randomUniform(gamma.shape, 0.5, 2, "float32", 5),
      tf.randomNormal(beta.shape, 0, 1, "float32", 6),
      tf.randomNormal(mean.shape, 0, 1, "float32", 7),
      tf.randomUniform(variance.shape, 0.5, 2, "float32", 8),
    ]);
  }
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

for (const c of CASES) {
  Deno.test(`sparse stem (${c.label}): edited outputs equal the stem on the edited image`, async () => {
    const model = stemModel(c);
    const stem = SparseStem.of(model);
    assert(stem, "no sparse stem found");
    const pixels = c.heightPx * c.widthPx;
    const image = lcgValues(pixels * 3, 11);
    const out = await stem.base(image);
    // Corners, borders, an interior pixel, and one repeat (counts once).
    const edit = [
      0,
      c.widthPx - 1,
      pixels - 1,
      pixels - c.widthPx,
      c.widthPx + 2,
      2 * c.widthPx,
      0,
    ];
    stem.addEdit(out, image, edit, 0.75);
    const edited = image.slice();
    for (const p of edit) edited.fill(0.75, p * 3, p * 3 + 3);
    const expected = stem.prefix.apply(tf.tensor4d(edited, [1, c.heightPx, c.widthPx, 3]));
    assertEquals(expected.shape.slice(1), [...stem.outputShape]);
    assertClose(out, await expected.data(), 1e-5, c.label);
    expected.dispose();
    model.dispose();
  });
}

Deno.test("a stem with a fused ReLU or a depthwise convolution is not sparse", () => {
  const input = tf.input({ shape: [8, 8, 3] });
  const fused = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: "relu" }).apply(input);
  const head = (h: tf.SymbolicTensor) =>
    tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
  assertEquals(
    SparseStem.of(tf.model({ inputs: input, outputs: head(fused as tf.SymbolicTensor) })),
    undefined,
  );
  const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
  const relu = tf.layers.reLU().apply(depthwise) as tf.SymbolicTensor;
  assertEquals(SparseStem.of(tf.model({ inputs: input, outputs: head(relu) })), undefined);
});

Deno.test("resnet18: subset copies scored at the stem equal scoring the whole perturbed images", async () => {
  const px = 64;
  const model = new MetricModel(buildModel("resnet18", { numClasses: 3, imgSizePx: px, seed: 2 }));
  const [n, m, copies] = [2, 12, 3];
  const pass: SubsetPerturbation = {
    xNHWC: lcgValues(n * px * px * 3, 5).map((v) => v + 0.5),
    shapeNHWC: [n, px, px, 3],
    copies,
    selection: {
      mode: "subsets",
      pixelsKNM: Int32Array.from({ length: copies * n * m }, (_, j) => (j * 7919 + 13) % (px * px)),
      subsetSize: m,
    },
    baselinesKN: Float32Array.from({ length: copies * n }, (_, j) => j * 0.1 - 0.2),
  };
  const targets = Int32Array.of(2, 0);
  const atStem = await model.targetScoresOfSubsetCopies(pass, targets, { softmax: false });
  const whole = perturbSubsets(pass);
  const expected = await model.targetScoresOfTensor(whole, targets, { softmax: false });
  const original = await model.targetScores(pass.xNHWC, pass.shapeNHWC, targets, {
    softmax: false,
  });
  // Compare the drops, the quantity FaithfulnessCorrelation correlates: they are 1e-3 of the
  // logits here, so an error relative to the logits would hide a wrong footprint.
  const drops = (scores: Float32Array) => scores.map((s, k) => original[k % n] - s);
  assert(drops(expected).some((d) => Math.abs(d) > 1e-4), "the subsets should move the logits");
  assertClose(drops(atStem), drops(expected), 1e-3, "drops");
  whole.dispose();
  model.layers.dispose();
  model.dispose();
});

/**
 * A small CNN and its twin: the same layers behind a ReLU on the input, which changes nothing
 * for inputs >= 0 but leaves the twin without a sparse stem (its first layer is nonlinear).
 */
function cnnAndTwin(sizePx: number): [tf.LayersModel, tf.LayersModel] {
  const layers = [
    tf.layers.zeroPadding2d({ padding: 2 }),
    tf.layers.conv2d({
      filters: 8,
      kernelSize: 5,
      strides: 2,
      useBias: false,
      kernelInitializer: tf.initializers.randomNormal({ seed: 1 }),
    }),
    tf.layers.batchNormalization({ axis: -1 }),
    tf.layers.reLU(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: "relu" }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: 3 }),
  ];
  const chain = (input: tf.SymbolicTensor) =>
    layers.reduce((h, layer) => layer.apply(h) as tf.SymbolicTensor, input);
  const input = tf.input({ shape: [sizePx, sizePx, 3] });
  const model = tf.model({ inputs: input, outputs: chain(input) });
  const twinInput = tf.input({ shape: [sizePx, sizePx, 3] });
  const twin = tf.model({
    inputs: twinInput,
    outputs: chain(tf.layers.reLU().apply(twinInput) as tf.SymbolicTensor),
  });
  return [model, twin];
}

for (const method of ["lime", "occlusion"] as const) {
  Deno.test(`${method}: copies made at the stem give the maps of whole perturbed images`, async () => {
    const sizePx = 32;
    const [model, twin] = cnnAndTwin(sizePx);
    assert(SparseStem.of(model) && !SparseStem.of(twin), "the twin should have no sparse stem");
    const x = tf.tensor4d(lcgValues(sizePx * sizePx * 3, 9).map((v) => v + 0.5), [
      1,
      sizePx,
      sizePx,
      3,
    ]);
    const targets = Int32Array.of(1);
    const options = method === "lime"
      ? {
        segmentation: { algorithm: "grid" as const, cellSizePx: 4 },
        numSamples: 60,
        classifierOutput: "logits" as const,
      }
      : { slidingWindowShapes: [4, 4] as [number, number], strides: 3, baselines: 0.25 };
    const explainer = method === "lime" ? LIME : OCCLUSION;
    const atStem = await explainer.explain(model, x, targets, options);
    const whole = await explainer.explain(twin, x, targets, options);
    assert(whole.mapsNHW.some((v) => v !== 0), "the reference map should not be all zeros");
    assertClose(atStem.mapsNHW, whole.mapsNHW, 1e-4, method);
    x.dispose();
  });
}
