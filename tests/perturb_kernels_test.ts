/**
 * The perturbation kernels (`metrics/kernels/perturb_subsets*`, `metrics/kernels/add_noise*`): the WGSL path on
 * a WebGPU adapter (llvmpipe on our CPU machines) against the TypeScript reference, bit for bit,
 * and the backend-picking functions on webgpu and cpu. The GPU cases are skipped, with a
 * message, only where no WebGPU adapter exists.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { addNoise, addNoiseWebGpu } from "../metrics/kernels/add_noise.ts";
import { addNoiseReference } from "../metrics/kernels/add_noise_cpu.ts";
import type { ShapeNHWC } from "../core/shapes.ts";
import { perturbSubsets, perturbSubsetsWebGpu } from "../metrics/kernels/perturb_subsets.ts";
import { perturbSubsetsReference } from "../metrics/kernels/perturb_subsets_cpu.ts";
import {
  cumulativeSteps,
  type SubsetPerturbation,
} from "../metrics/kernels/perturb_subsets_types.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import { FAITHFULNESS_CORRELATION } from "../metrics/faithfulness/faithfulness_correlation.ts";
import { IROF } from "../metrics/faithfulness/irof.ts";
import { MAX_SENSITIVITY } from "../metrics/robustness/max_sensitivity.ts";
import { stableRankOrder } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { orderPatches, squarePatches } from "../metrics/functions/patches.ts";
import { cumulativeCurves, orderedSteps } from "../metrics/faithfulness/perturbation_curve.ts";
import { batchBaselines, replacePixels } from "../metrics/functions/perturb.ts";
import { PIXEL_FLIPPING } from "../metrics/faithfulness/pixel_flipping.ts";
import { REGION_PERTURBATION } from "../metrics/faithfulness/region_perturbation.ts";
import { SELECTIVITY } from "../metrics/faithfulness/selectivity.ts";
import { SALIENCY } from "../xai/gradient/saliency.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { needsWebGpu } from "./webgpu_gate.ts";

const { ignore: noGpu } = await needsWebGpu("perturb kernels: GPU cases");

await tf.setBackend("cpu");

/** Runs `fn` on the webgpu backend, then returns to cpu. */
async function onWebGpu<T>(fn: () => Promise<T>): Promise<T> {
  await tf.setBackend("webgpu");
  try {
    return await fn();
  } finally {
    await tf.setBackend("cpu");
  }
}

/** A tensor's values, then the tensor disposed. */
async function valuesOf(tensor: tf.Tensor): Promise<Float32Array> {
  try {
    return new Float32Array(await tensor.data());
  } finally {
    tensor.dispose();
  }
}

function values(count: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  return Float32Array.from({ length: count }, () => random.normal());
}

/** Index of the first value whose bits differ, or -1 (NaN-aware, sign of zero counts). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ai = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const bi = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ai.findIndex((v, j) => v !== bi[j]);
}

function assertBitEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  const j = firstDifference(actual, expected);
  assert(j < 0, `${what}: value ${j} is ${actual[j]}, the reference says ${expected[j]}`);
}

/** K random subsets of M pixels for each of N images, and one baseline per copy. */
function subsetsPass(
  shape: ShapeNHWC,
  copies: number,
  m: number,
  seed: number,
): SubsetPerturbation {
  const [n, h, w, c] = shape;
  const draws = new SeededDraws(seed);
  const pixelsKNM = new Int32Array(copies * n * m);
  for (let row = 0; row < copies * n; row++) {
    pixelsKNM.set(draws.choiceWithoutReplacement(h * w, m), row * m);
  }
  return {
    xNHWC: values(n * h * w * c, seed),
    shapeNHWC: shape,
    copies,
    selection: { mode: "subsets", pixelsKNM, subsetSize: m },
    baselinesKN: values(copies * n, seed + 1),
  };
}

/** Each image's order: a random permutation of `orderLength` of its pixels. */
function cumulativePass(
  shape: ShapeNHWC,
  copies: number,
  chunkPx: number,
  orderLength: number,
  firstStep: number,
  seed: number,
): SubsetPerturbation {
  const [n, h, w, c] = shape;
  const draws = new SeededDraws(seed);
  const steps = Array.from(
    { length: n },
    () => orderedSteps(draws.choiceWithoutReplacement(h * w, orderLength), chunkPx),
  );
  return {
    xNHWC: values(n * h * w * c, seed),
    shapeNHWC: shape,
    copies,
    selection: { ...cumulativeSteps(steps), firstStep },
    baselinesKN: values(steps[0].length * n, seed + 1),
  };
}

/**
 * RegionPerturbation's steps: each image's square patches (cut by the border, so of several
 * sizes) in a random order, the first `stepsOf[i]` of them for image i.
 */
function patchPass(
  shape: ShapeNHWC,
  patchSize: number,
  stepsOf: number[],
  copies: number,
  seed: number,
): SubsetPerturbation {
  const [n, h, w, c] = shape;
  const draws = new SeededDraws(seed);
  const patches = squarePatches(h, w, patchSize).pixels;
  const steps = stepsOf.map((count) =>
    Array.from(draws.choiceWithoutReplacement(patches.length, count), (k) => patches[k])
  );
  return {
    xNHWC: values(n * h * w * c, seed),
    shapeNHWC: shape,
    copies,
    selection: cumulativeSteps(steps),
    baselinesKN: values(Math.max(...stepsOf) * n, seed + 1),
  };
}

const SUBSET_CASES: [string, SubsetPerturbation][] = [
  ["one image, C=1", subsetsPass([1, 4, 4, 1], 3, 5, 1)],
  ["N=3, C=3, 5x7", subsetsPass([3, 5, 7, 3], 4, 6, 2)],
  ["N=2, C=3, 16x16, subsets of 50", subsetsPass([2, 16, 16, 3], 5, 50, 3)],
  ["N=2, empty subsets", subsetsPass([2, 3, 3, 1], 2, 0, 4)],
  ["N=2, every pixel", subsetsPass([2, 3, 3, 3], 2, 9, 5)],
  // 35 pixels in chunks of 4: the ninth step is short; copies past the end repeat the whole order.
  ["cumulative, N=3, C=1, chunk not dividing H·W", cumulativePass([3, 5, 7, 1], 10, 4, 35, 0, 6)],
  ["cumulative, N=2, C=3, from step 2", cumulativePass([2, 5, 7, 3], 4, 4, 35, 2, 7)],
  ["cumulative, partial order (20 of 64 px)", cumulativePass([2, 8, 8, 3], 6, 3, 20, 0, 8)],
  ["cumulative, chunk of 1", cumulativePass([2, 4, 4, 1], 16, 1, 16, 0, 9)],
  // 10x9 in patches of 4 (padded to 12x12): 9 patches of 4 to 16 pixels.
  ["cumulative patches, N=3, C=3, 7 steps each", patchPass([3, 10, 9, 3], 4, [7, 7, 7], 7, 11)],
  // Images with 9, 4 and 6 steps: the shorter ones get empty steps and repeat their last copy.
  ["cumulative patches, ragged step counts", patchPass([3, 10, 9, 1], 4, [9, 4, 6], 9, 12)],
];

Deno.test("perturbSubsetsReference: copies equal x with the chosen pixels replaced", () => {
  const pass = SUBSET_CASES[1][1];
  const out = perturbSubsetsReference(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  const per = h * w * c;
  if (pass.selection.mode !== "subsets") throw new Error("case 1 is a subsets case");
  const { pixelsKNM, subsetSize: m } = pass.selection;
  for (let row = 0; row < pass.copies * n; row++) {
    const expected = pass.xNHWC.slice((row % n) * per, (row % n + 1) * per);
    replacePixels(expected, c, pixelsKNM.subarray(row * m, (row + 1) * m), pass.baselinesKN[row]);
    assertBitEqual(out.subarray(row * per, (row + 1) * per), expected, `row ${row}`);
  }
  assertEquals(pass.xNHWC, values(n * per, 2), "input not mutated");
});

Deno.test("perturbSubsetsReference: cumulative step s is the union of the first s+1 chunks", () => {
  // One 1x5 image, order 4,3,2,1,0 in chunks of 2: steps replace {4,3}, {4,3,2,1}, everything.
  const out = perturbSubsetsReference({
    xNHWC: Float32Array.of(1, 2, 3, 4, 5),
    shapeNHWC: [1, 1, 5, 1],
    copies: 4,
    selection: cumulativeSteps([orderedSteps(Int32Array.of(4, 3, 2, 1, 0), 2)]),
    baselinesKN: Float32Array.of(-1, -2, -3),
  });
  // Each chunk keeps the baseline of its own step; copies past the last step stay complete.
  assertEquals(Array.from(out), [
    1,
    2,
    3,
    -1,
    -1,
    1,
    -2,
    -2,
    -1,
    -1,
    -3,
    -2,
    -2,
    -1,
    -1,
    -3,
    -2,
    -2,
    -1,
    -1,
  ]);
});

for (const [name, pass] of SUBSET_CASES) {
  Deno.test({
    name: `perturb_subsets WGSL = reference: ${name}`,
    ignore: noGpu,
    async fn() {
      const actual = await onWebGpu(() => valuesOf(perturbSubsetsWebGpu(pass)));
      assertBitEqual(actual, perturbSubsetsReference(pass), name);
    },
  });
}

Deno.test({
  name: "perturb_subsets WGSL: more copies than one grid dimension holds",
  ignore: noGpu,
  async fn() {
    // 70,000 one-pixel copies need a second row of workgroups (65,535 per dimension).
    const pass = subsetsPass([7, 1, 1, 1], 10_000, 1, 10);
    const actual = await onWebGpu(() => valuesOf(perturbSubsetsWebGpu(pass)));
    assertBitEqual(actual, perturbSubsetsReference(pass), "70,000 copies");
  },
});

Deno.test("perturb_subsets: inconsistent inputs are InputErrors on both paths", () => {
  const good = SUBSET_CASES[5][1];
  if (good.selection.mode !== "cumulative") throw new Error("case 5 is a cumulative case");
  const twice = good.selection.stepPixels.slice();
  twice[1] = twice[0];
  const backwards = good.selection.stepEndsNS.slice();
  backwards[2] = backwards[1] - 1;
  const bad: [SubsetPerturbation, string][] = [
    [{ ...good, selection: { ...good.selection, stepPixels: twice } }, "appears twice"],
    [{ ...good, selection: { ...good.selection, stepEndsNS: backwards } }, "non-decreasing"],
    [{ ...good, selection: { ...good.selection, stepEndsNS: new Int32Array(0) } }, "S >= 1"],
    [{ ...good, baselinesKN: new Float32Array(3) }, "baselinesKN has 3"],
    [{ ...SUBSET_CASES[0][1], copies: 2 }, "K·N·M"],
    [{ ...SUBSET_CASES[0][1], xNHWC: new Float32Array(3) }, "xNHWC has 3"],
  ];
  for (const [pass, message] of bad) {
    assertThrows(() => perturbSubsetsReference(pass), InputError, message);
    // Checked before the backend is asked for, so this runs everywhere.
    assertThrows(() => perturbSubsetsWebGpu(pass), InputError, message);
  }
});

const NOISE_SHAPES: ShapeNHWC[] = [[1, 4, 4, 1], [3, 5, 7, 3], [2, 16, 16, 3]];

function noiseOf(shape: ShapeNHWC, samples: number, seed: number): Float64Array {
  const draws = new SeededDraws(seed);
  return draws.uniform(-0.2, 0.2, samples * shape.reduce((a, b) => a * b, 1));
}

for (const shape of NOISE_SHAPES) {
  Deno.test({
    name: `add_noise WGSL = reference bit for bit with float32 noise: ${
      shape.join("x")
    }, 7 samples`,
    ignore: noGpu,
    async fn() {
      const x = values(shape.reduce((a, b) => a * b, 1), 11);
      const noiseSNHWC = Float32Array.from(noiseOf(shape, 7, 12));
      const expected = addNoiseReference({ xNHWC: x, shapeNHWC: shape, noiseSNHWC });
      const actual = await onWebGpu(() =>
        valuesOf(addNoiseWebGpu({ xNHWC: x, shapeNHWC: shape, noiseSNHWC }))
      );
      assertBitEqual(actual, expected, "noise");
    },
  });
}

/** The spacing of float32 values at |v| (normal range). */
function ulp32(v: number): number {
  return 2 ** (Math.floor(Math.log2(Math.abs(v) || 2 ** -126)) - 23);
}

Deno.test({
  name: "add_noise WGSL with float64 noise: off only by the noise's rounding to float32",
  ignore: noGpu,
  async fn() {
    const shape: ShapeNHWC = [2, 16, 16, 3];
    const x = values(shape.reduce((a, b) => a * b, 1), 13);
    const noiseSNHWC = noiseOf(shape, 7, 14);
    const expected = addNoiseReference({ xNHWC: x, shapeNHWC: shape, noiseSNHWC });
    const actual = await onWebGpu(() =>
      valuesOf(addNoiseWebGpu({ xNHWC: x, shapeNHWC: shape, noiseSNHWC }))
    );
    let differing = 0;
    for (let j = 0; j < expected.length; j++) {
      // Rounding the noise moves the sum by at most half an ulp of the noise, the final
      // rounding by at most one ulp of the sum.
      const bound = ulp32(noiseSNHWC[j]) / 2 + ulp32(expected[j]);
      const error = Math.abs(actual[j] - expected[j]);
      assert(error <= bound, `value ${j}: ${actual[j]} vs ${expected[j]}, bound ${bound}`);
      if (error) differing++;
    }
    console.log(`float64 noise: ${differing} of ${expected.length} float32 sums differ`);
  },
});

Deno.test("addNoiseReference: one rounding of the float64 sum (Quantus); bad sizes are InputErrors", () => {
  // 1 + 2^-24 is half an ulp above 1: the 2^-50 in float64 noise rounds the sum up to the next
  // float32, the noise rounded to float32 first (2^-24) would tie to even and leave 1.
  const noise = Float64Array.of(2 ** -24 + 2 ** -50, -0.5);
  const out = addNoiseReference({
    xNHWC: Float32Array.of(1),
    shapeNHWC: [1, 1, 1, 1],
    noiseSNHWC: noise,
  });
  assertEquals(Array.from(out), [1 + 2 ** -23, 0.5]);
  assertThrows(
    () =>
      addNoiseReference({
        xNHWC: Float32Array.of(1, 2),
        shapeNHWC: [1, 1, 2, 1],
        noiseSNHWC: new Float64Array(3),
      }),
    InputError,
    "not a multiple",
  );
});

Deno.test("perturbSubsets and addNoise on cpu: the reference as a tensor", async () => {
  const pass = SUBSET_CASES[6][1];
  const copies = perturbSubsets(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  assertEquals(copies.shape, [pass.copies * n, h, w, c]);
  assertBitEqual(new Float32Array(await copies.data()), perturbSubsetsReference(pass), "cpu");
  copies.dispose();
});

Deno.test({
  name: "perturbSubsets and addNoise on webgpu: GPU tensors equal to the reference",
  ignore: noGpu,
  async fn() {
    await tf.setBackend("webgpu");
    try {
      for (const [name, pass] of [SUBSET_CASES[2], SUBSET_CASES[6]]) {
        const copies = perturbSubsets(pass);
        assertBitEqual(
          new Float32Array(await copies.data()),
          perturbSubsetsReference(pass),
          name,
        );
        copies.dispose();
      }
      const shape: ShapeNHWC = [2, 5, 7, 3];
      const x = values(shape.reduce((a, b) => a * b, 1), 15);
      const noiseSNHWC = Float32Array.from(noiseOf(shape, 3, 16));
      const noisy = addNoise({ xNHWC: x, shapeNHWC: shape, noiseSNHWC });
      assertEquals(noisy.shape, [6, 5, 7, 3]);
      assertBitEqual(
        new Float32Array(await noisy.data()),
        addNoiseReference({ xNHWC: x, shapeNHWC: shape, noiseSNHWC }),
        "noise tensor",
      );
      noisy.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

Deno.test("MetricModel.scoresOfTensor equals scores on the same values", async () => {
  const input = tf.input({ shape: [3, 3, 2] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4 }).apply(flat) as tf.SymbolicTensor;
  const model = new MetricModel(tf.model({ inputs: input, outputs: out }), 4);
  const x = values(10 * 18, 17);
  const viaArray = await model.scores(x, [10, 3, 3, 2], { softmax: true });
  const tensor = tf.tensor4d(x, [10, 3, 3, 2]);
  const viaTensor = await model.scoresOfTensor(tensor, { softmax: true });
  const targets = Int32Array.of(3, 1);
  const picked = await model.targetScoresOfTensor(tensor, targets, { softmax: false });
  tensor.dispose();
  assertBitEqual(viaTensor, viaArray, "scores");
  assertBitEqual(
    picked,
    await model.targetScores(x, [10, 3, 3, 2], targets, { softmax: false }),
    "target scores",
  );
  assertEquals(model.calls, 3 * 4, "10 images in calls of at most 4");
  model.dispose();
});

/** A small ReLU network on 6x6x3 images with fixed weights, built on the active backend. */
function tinyModel(): MetricModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const hidden = tf.layers.dense({ units: 8, activation: "relu" }).apply(flat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3 }).apply(hidden) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.setWeights(
    model.getWeights().map((w, j) => tf.tensor(values(w.size, 30 + j), w.shape)),
  );
  return new MetricModel(model);
}

/** FaithfulnessCorrelation and MaxSensitivity scores of one seeded batch on the active backend. */
async function metricScores(): Promise<Float64Array[]> {
  const model = tinyModel();
  const batch = {
    xNHWC: values(4 * 108, 40),
    shapeNHWC: [4, 6, 6, 3] as const,
    targets: Int32Array.of(0, 1, 2, 0),
    attributionsNHW: values(4 * 36, 41),
  };
  const faithfulness = await FAITHFULNESS_CORRELATION.evaluate(
    { model, draws: new SeededDraws(42) },
    batch,
    { ...FAITHFULNESS_CORRELATION.defaults, nrRuns: 12, subsetSize: 6 },
  );
  const sensitivity = await MAX_SENSITIVITY.evaluate(
    { model, draws: new SeededDraws(43), explain: explainerFunction(SALIENCY, { abs: true }) },
    batch,
    { ...MAX_SENSITIVITY.defaults, nrSamples: 5, returnNanWhenPredictionChanges: true },
  );
  model.dispose();
  return [faithfulness.scores, sensitivity.scores];
}

Deno.test({
  name: "FaithfulnessCorrelation and MaxSensitivity: webgpu (kernels) agree with cpu (reference)",
  ignore: noGpu,
  async fn() {
    const [cpuFaithfulness, cpuSensitivity] = await metricScores();
    await tf.setBackend("webgpu");
    let gpu: Float64Array[];
    try {
      gpu = await metricScores();
    } finally {
      await tf.setBackend("cpu");
    }
    console.log(`cpu ${cpuFaithfulness} / ${cpuSensitivity}; webgpu ${gpu[0]} / ${gpu[1]}`);
    // Model outputs differ across backends by ~1e-6 relative; the noise by its float32 rounding.
    for (let i = 0; i < 4; i++) {
      assert(Number.isFinite(cpuFaithfulness[i]), `faithfulness ${i} is ${cpuFaithfulness[i]}`);
      assert(
        Math.abs(gpu[0][i] - cpuFaithfulness[i]) < 1e-4,
        `faithfulness ${i}: webgpu ${gpu[0][i]}, cpu ${cpuFaithfulness[i]}`,
      );
      assert(
        Object.is(Number.isNaN(gpu[1][i]), Number.isNaN(cpuSensitivity[i])) &&
          (Number.isNaN(cpuSensitivity[i]) || Math.abs(gpu[1][i] - cpuSensitivity[i]) < 1e-4),
        `sensitivity ${i}: webgpu ${gpu[1][i]}, cpu ${cpuSensitivity[i]}`,
      );
    }
  },
});

Deno.test({
  name: "perturb_subsets WGSL: an output beyond the device's largest binding is a clear error",
  ignore: noGpu,
  async fn() {
    // 8,193 copies of a 64x64 image: 134 MB, checked before anything is allocated.
    const pass: SubsetPerturbation = {
      xNHWC: new Float32Array(64 * 64),
      shapeNHWC: [1, 64, 64, 1],
      copies: 8193,
      selection: { mode: "subsets", pixelsKNM: new Int32Array(0), subsetSize: 0 },
      baselinesKN: new Float32Array(8193),
    };
    await onWebGpu(() => {
      assertThrows(() => perturbSubsetsWebGpu(pass), Error, "binding limit");
      return Promise.resolve();
    });
  },
});

/** A small convolutional network on 16x16x3 images with fixed weights, on the active backend. */
function tinyConvModel(): MetricModel {
  const input = tf.input({ shape: [16, 16, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: "relu" })
    .apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.setWeights(
    model.getWeights().map((w, j) => tf.tensor(values(w.size, 60 + j).map((v) => v / 4), w.shape)),
  );
  return new MetricModel(model);
}

const CURVE_SHAPE = [3, 16, 16, 3] as const;
const curveBatch = {
  xNHWC: values(3 * 16 * 16 * 3, 50),
  shapeNHWC: CURVE_SHAPE,
  targets: Int32Array.of(0, 1, 2),
  attributionsNHW: values(3 * 16 * 16, 51),
};

/** The removal steps PixelFlipping and RegionPerturbation build for `curveBatch`. */
function removalSteps(): [string, Int32Array[][]][] {
  const map = (i: number) => curveBatch.attributionsNHW.subarray(i * 256, (i + 1) * 256);
  const flipping = [0, 1, 2].map((i) => orderedSteps(stableRankOrder(i, map(i), "descending"), 7));
  // 16 px in patches of 5: padded to 20, so border patches hold 3 x 3 to 5 x 5 pixels.
  const patches = squarePatches(16, 16, 5).pixels;
  const regions = (counts: number[]) =>
    counts.map((count, i) =>
      orderPatches(i, map(i), patches, "morf", stableRankOrder, new SeededDraws(1)).slice(0, count)
    );
  return [
    ["pixel flipping, 7 px per step", flipping],
    ["patches, 12 steps each", regions([12, 12, 12])],
    ["patches, 16/9/12 steps", regions([16, 9, 12])],
  ];
}

Deno.test({
  name: "cumulativeCurves on webgpu: the kernel's copies give the CPU loop's curves",
  ignore: noGpu,
  async fn() {
    await onWebGpu(async () => {
      const model = tinyConvModel();
      try {
        for (const [name, steps] of removalSteps()) {
          for (const baseline of ["black", "mean", "uniform", 0.25] as const) {
            const curvesOf = async (copiesOnGpu: boolean) => {
              const draws = new SeededDraws(70);
              const calls = model.calls;
              const curves = await cumulativeCurves(model, curveBatch, {
                steps,
                baselines: (states) =>
                  batchBaselines(baseline, states, curveBatch.shapeNHWC, draws),
                softmax: true,
                copiesOnGpu,
              });
              return { curves, calls: model.calls - calls };
            };
            const gpu = await curvesOf(true);
            const cpu = await curvesOf(false);
            const what = `${name}, ${baseline}`;
            assertEquals(gpu.curves.map((c) => c.length), steps.map((s) => s.length), what);
            const longest = Math.max(...steps.map((s) => s.length));
            if (steps.every((s) => s.length === longest)) {
              // Same copies in the same model calls: the same bits.
              gpu.curves.forEach((curve, i) => assertBitEqual(curve, cpu.curves[i], `${what}`));
            } else {
              // The kernel also scores the shorter images' repeated last copies, so the model
              // calls differ in size (48 vs 37 rows), and tfjs-webgpu's programs change with the
              // batch size (~1e-7 relative here); the copies are the same bits (cases above).
              gpu.curves.forEach((curve, i) =>
                curve.forEach((v, j) => {
                  const expected = cpu.curves[i][j];
                  assert(
                    Math.abs(v - expected) <= 1e-5 * Math.abs(expected),
                    `${what}, image ${i} step ${j}: kernel ${v}, CPU loop ${expected}`,
                  );
                })
              );
            }
            // One kernel dispatch for every step; the model calls hold 64 copies each.
            assertEquals(gpu.calls, Math.ceil(longest * 3 / model.batchSize), `${what}: calls`);
          }
        }
      } finally {
        model.dispose();
      }
    });
  },
});

/** PixelFlipping's, RegionPerturbation's, Selectivity's and IROF's scores of `curveBatch`. */
async function removalMetricScores(): Promise<[string, Float64Array][]> {
  const model = tinyConvModel();
  const context = { model, draws: new SeededDraws(80) };
  try {
    const flipping = await PIXEL_FLIPPING.evaluate(context, curveBatch, {
      ...PIXEL_FLIPPING.defaults,
      featuresInStep: 5,
    });
    const regions = await REGION_PERTURBATION.evaluate(context, curveBatch, {
      ...REGION_PERTURBATION.defaults,
      patchSize: 5,
      regionsEvaluation: 10,
      perturbBaseline: "mean",
    });
    const selectivity = await SELECTIVITY.evaluate(context, curveBatch, {
      ...SELECTIVITY.defaults,
      patchSize: 3,
      perturbBaseline: "uniform",
    });
    // SLIC gives each image its own number of superpixels: unequal step counts.
    const irof = await IROF.evaluate(context, curveBatch, { ...IROF.defaults, nSegments: 12 });
    return [
      ["PixelFlipping", flipping.scores],
      ["RegionPerturbation", regions.scores],
      ["Selectivity", selectivity.scores],
      ["IROF", irof.scores],
    ];
  } finally {
    model.dispose();
  }
}

Deno.test({
  name: "PixelFlipping, RegionPerturbation, Selectivity, IROF: webgpu (kernel) = cpu (TS loop)",
  ignore: noGpu,
  async fn() {
    const cpu = await removalMetricScores();
    const gpu = await onWebGpu(removalMetricScores);
    cpu.forEach(([name, expected], j) => {
      console.log(`${name}: cpu ${expected.join()}; webgpu ${gpu[j][1].join()}`);
      expected.forEach((score, i) => {
        assert(Number.isFinite(score), `${name} ${i}: cpu ${score}`);
        // Model outputs differ across backends by ~1e-6 relative (runtime facts).
        const error = Math.abs(gpu[j][1][i] - score);
        assert(
          error <= 1e-5 * Math.abs(score),
          `${name} ${i}: webgpu ${gpu[j][1][i]}, cpu ${score}`,
        );
      });
    });
  },
});
