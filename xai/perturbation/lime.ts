/**
 * LIME (Ribeiro, Singh and Guestrin, "'Why Should I Trust You?': Explaining the Predictions of
 * Any Classifier", KDD 2016) for images, as the `lime` package's `LimeImageExplainer` does it:
 *
 * 1. superpixels of the image (quickshift with `kernel_size=4, max_dist=200, ratio=0.2` by
 *    default, computed on the image converted back to sRGB, see {@link limeImage});
 * 2. `numSamples` binary vectors z ∈ {0, 1}^K over the K superpixels, the first all ones and
 *    the rest uniform; sample z is the image with every superpixel whose z_k = 0 replaced by
 *    the hide colour (`hide_color`);
 * 3. the classifier's output for the target class on every sample (lime's `classifier_fn`
 *    returns probabilities: `classifierOutput` "probabilities", the default, is the softmax of
 *    the logits);
 * 4. weights π(z) = √exp(−d(z)² / σ²), d the cosine distance from z to the all-ones vector
 *    (1 − √(|z| / K); 1 for the all-zero vector, as scikit-learn's `cosine_distances`),
 *    σ = `kernelWidth` (0.25, `LimeImageExplainer(kernel_width=.25)`);
 * 5. `feature_selection` of `numFeatures` superpixels, then a weighted ridge regression
 *    (α = 1, with intercept: scikit-learn's `Ridge(alpha=1)`, lime's default regressor) of the
 *    outputs on z.
 *
 * The map gives every pixel its superpixel's coefficient (0 for superpixels not selected).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { type Random, SeededRandom } from "../../core/random.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../../data/preprocess.ts";
import { foldBatchNorm } from "../../graph/fold_batchnorm.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import { SparseStem } from "../../graph/sparse_stem.ts";
import { type SegmentationAlgorithm, segmentImage } from "./segmentation/algorithm.ts";
import type { Segments } from "./segmentation/segments.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  requireInteger,
} from "../explainer.ts";
import {
  type ClassifierOutput,
  type Copies,
  parseClassifierOutput,
  perturbedLogits,
  targetOutputs,
} from "./perturbed_logits.ts";
import { fitRidge, ridgeScore } from "./ridge.ts";

/** How lime picks the superpixels the surrogate uses (`feature_selection`). */
export type FeatureSelection = "auto" | "highest_weights" | "forward_selection" | "none";

/** Options of {@link LIME}, named as lime's `explain_instance` and `LimeImageExplainer`. */
export interface LimeOptions extends ExplainOptions {
  /** `num_samples`, the perturbed samples including the unperturbed first; default 800. */
  numSamples?: number;
  /**
   * `batch_size`, samples per model call; default 16, or fewer where the model's forward pass
   * would not fit the heap budget (`graph/footprint.ts`). Only speed depends on it.
   */
  batchSize?: number;
  /**
   * `hide_color`, the value hidden superpixels take in the MODEL'S INPUT SPACE (after
   * normalisation): a number for every channel, one number per channel, or `"mean"` for each
   * superpixel's own per-channel mean (lime's `hide_color=None`). Default 0, the value every
   * other method here also uses as "absent" (Captum's zero baseline): for our ImageNet-normalised
   * inputs, 0 is the ImageNet mean colour, sRGB (0.485, 0.456, 0.406) ≈ (124, 116, 104) of 255,
   * a mid grey — NOT black. Black (pixel value 0 before normalisation) is
   * `[-2.1179, -2.0357, -1.8044]`, i.e. −mean / std per channel.
   */
  hideColor?: number | readonly number[] | "mean";
  /** σ of the exponential kernel on cosine distance (`kernel_width`); default 0.25. */
  kernelWidth?: number;
  /** `num_features`, superpixels kept in the surrogate; default all. */
  numFeatures?: number;
  /**
   * `feature_selection`; default `auto` (lime's): `forward_selection` when `numFeatures` ≤ 6,
   * else `highest_weights`. Either way, all superpixels are kept when `numFeatures` ≥ K.
   */
  featureSelection?: FeatureSelection;
  /** The superpixels (lime's `segmentation_fn`); default quickshift with lime's parameters. */
  segmentation?: SegmentationAlgorithm | SegmentationAlgorithm["algorithm"];
  /** What the surrogate fits: softmax probabilities (default, lime's usual) or raw logits. */
  classifierOutput?: ClassifierOutput;
  /** Seeds the samples and quickshift's tie-breaking; default 0. Each image uses it afresh. */
  seed?: number;
}

/** LIME's answer for one image. */
export interface LimeExplanation {
  segments: Segments;
  /** Per superpixel, its coefficient in the surrogate (0 when not selected). */
  coefficients: Float64Array;
  /** The selected superpixels, in selection order. */
  usedFeatures: readonly number[];
  intercept: number;
  /** The surrogate's weighted R² on the samples (lime's `score`). */
  score: number;
  /** The surrogate's prediction for the unperturbed image (lime's `local_pred`). */
  localPrediction: number;
}

const DEFAULT_SEGMENTATION: SegmentationAlgorithm = {
  algorithm: "quickshift",
  kernelSize: 4,
  maxDist: 200,
  ratio: 0.2,
};

const FEATURE_SELECTIONS: readonly FeatureSelection[] = [
  "auto",
  "highest_weights",
  "forward_selection",
  "none",
];

/** Checked options with their defaults. */
interface LimeSettings {
  numSamples: number;
  batchSize: number;
  hideColor: readonly number[] | "mean";
  kernelWidth: number;
  numFeatures: number;
  featureSelection: FeatureSelection;
  segmentation: SegmentationAlgorithm | SegmentationAlgorithm["algorithm"];
  classifierOutput: ClassifierOutput;
  seed: number;
}

function limeSettings(
  options: LimeOptions,
  channels: number,
  model: tf.LayersModel,
): LimeSettings {
  const method = "lime";
  const kernelWidth = options.kernelWidth ?? 0.25;
  if (!Number.isFinite(kernelWidth) || kernelWidth <= 0) {
    throw new InputError(`${method}: kernelWidth must be a number > 0, got ${kernelWidth}`);
  }
  const hide = options.hideColor ?? 0;
  let hideColor: readonly number[] | "mean";
  if (hide === "mean") {
    hideColor = "mean";
  } else if (typeof hide === "number" && Number.isFinite(hide)) {
    hideColor = Array(channels).fill(hide);
  } else if (Array.isArray(hide) && hide.length === channels && hide.every(Number.isFinite)) {
    hideColor = hide;
  } else {
    throw new InputError(
      `${method}: hideColor must be a number, ${channels} numbers (one per channel) or "mean", ` +
        `got ${JSON.stringify(hide)}`,
    );
  }
  const featureSelection = options.featureSelection ?? "auto";
  if (!FEATURE_SELECTIONS.includes(featureSelection)) {
    throw new InputError(
      `${method}: unknown featureSelection "${featureSelection}"; choose one of: ` +
        FEATURE_SELECTIONS.join(", "),
    );
  }
  const classifierOutput = parseClassifierOutput(method, options.classifierOutput);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new InputError(`${method}: seed must be an integer, got ${seed}`);
  }
  return {
    numSamples: requireInteger(method, "numSamples", options.numSamples ?? 800, 1),
    batchSize: requireInteger(
      method,
      "batchSize",
      options.batchSize ?? rowsWithinBudget(model, "forward", 16),
      1,
    ),
    hideColor,
    kernelWidth,
    numFeatures: options.numFeatures === undefined
      ? Infinity
      : requireInteger(method, "numFeatures", options.numFeatures, 1),
    featureSelection,
    segmentation: options.segmentation ?? DEFAULT_SEGMENTATION,
    classifierOutput,
    seed,
  };
}

/** sRGB on [0, 1] of one normalised HWC image, clamped: what lime would have segmented. */
function toUnitRgb(xHWC: Float32Array): Float32Array {
  return xHWC.map((v, i) =>
    Math.min(1, Math.max(0, v * IMAGENET_STD[i % 3] + IMAGENET_MEAN[i % 3]))
  );
}

/** lime's `fudged_image`: what every pixel shows when its superpixel is hidden. */
function fudgedImage(
  xHWC: Float32Array,
  channels: number,
  segments: Segments,
  hideColor: readonly number[] | "mean",
): Float32Array {
  const pixels = segments.labelsHW.length;
  if (hideColor !== "mean") {
    return Float32Array.from({ length: pixels * channels }, (_, i) => hideColor[i % channels]);
  }
  const sums = new Float64Array(segments.count * channels);
  const counts = new Float64Array(segments.count);
  segments.labelsHW.forEach((k, p) => {
    counts[k]++;
    for (let c = 0; c < channels; c++) sums[k * channels + c] += xHWC[p * channels + c];
  });
  return Float32Array.from(
    { length: pixels * channels },
    (_, i) => {
      const k = segments.labelsHW[Math.floor(i / channels)];
      return sums[k * channels + (i % channels)] / counts[k];
    },
  );
}

/**
 * The samples at the stem's output: sample `index` is the image's, plus the footprint of each
 * segment its indicators `sample(index)` hide (those pixels then show `fudged`).
 */
async function hiddenSegmentsAtStem(
  stem: SparseStem,
  xHWC: Float32Array,
  fudged: Float32Array,
  labelsHW: Int32Array,
  count: number,
  sample: (index: number) => Uint8Array,
): Promise<Copies> {
  const base = await stem.base(xHWC);
  const pixelsOf: number[][] = Array.from({ length: count }, () => []);
  labelsHW.forEach((k, p) => pixelsOf[k].push(p));
  const footprints = pixelsOf.map((pixels) => stem.footprint(xHWC, fudged, pixels));
  return {
    shapeHWC: stem.outputShape,
    from: stem.prefix.output,
    fill: (index, out) => {
      out.set(base);
      const z = sample(index);
      for (let k = 0; k < count; k++) if (z[k] === 0) stem.addFootprint(out, footprints[k]);
    },
  };
}

/**
 * Which superpixels the surrogate uses, as lime's `LimeBase.feature_selection`:
 * `highest_weights` keeps the largest |β_k| of a ridge fit with α = 0.01 (lime weighs β by the
 * unperturbed sample, all ones here); `forward_selection` adds, one at a time, the superpixel
 * that most raises the weighted R² of an unpenalised fit.
 */
function selectFeatures(
  design: { xNK: Uint8Array; numColumns: number },
  y: Float64Array,
  weights: Float64Array,
  numFeatures: number,
  method: FeatureSelection,
): number[] {
  const all = Array.from({ length: design.numColumns }, (_, k) => k);
  if (method === "none" || numFeatures >= design.numColumns) return all;
  const chosen = method === "auto"
    ? (numFeatures <= 6 ? "forward_selection" : "highest_weights")
    : method;
  if (chosen === "highest_weights") {
    const { coef } = fitRidge(design, y, weights, 0.01);
    return all.sort((a, b) => Math.abs(coef[b]) - Math.abs(coef[a]) || a - b)
      .slice(0, numFeatures);
  }
  const used: number[] = [];
  while (used.length < numFeatures) {
    let [best, bestScore] = [-1, -Infinity];
    for (const k of all) {
      if (used.includes(k)) continue;
      const trial = { ...design, columns: [...used, k] };
      const score = ridgeScore(fitRidge(trial, y, weights, 0), trial, y, weights);
      if (score > bestScore) [best, bestScore] = [k, score];
    }
    used.push(best);
  }
  return used;
}

/** Binary samples z over `count` superpixels: the first all ones, the rest uniform. */
function drawSamples(random: Random, numSamples: number, count: number): Uint8Array {
  const data = new Uint8Array(numSamples * count);
  data.fill(1, 0, count);
  for (let i = count; i < data.length; i++) data[i] = random.uniform() < 0.5 ? 0 : 1;
  return data;
}

/** π(z) = √exp(−d² / σ²), d = 1 − √(|z| / K) the cosine distance to the all-ones vector. */
function kernelWeights(data: Uint8Array, count: number, kernelWidth: number): Float64Array {
  return Float64Array.from({ length: data.length / count }, (_, i) => {
    let ones = 0;
    for (let k = 0; k < count; k++) ones += data[i * count + k];
    const distance = 1 - Math.sqrt(ones / count);
    return Math.sqrt(Math.exp(-(distance * distance) / (kernelWidth * kernelWidth)));
  });
}

/**
 * LIME for one normalised HWC image and one target class, with the model given as is (pass
 * `foldBatchNorm(model)` for speed, as {@link LIME} does).
 *
 * Quickshift and SLIC segment the image converted back to sRGB on [0, 1] (x · std + mean with
 * the ImageNet statistics, clamped), which is the image lime would have been handed: they need
 * 3 channels. The grid needs none.
 *
 * @param xHWC one image, [H, W, C] in the model's input space.
 * @throws {InputError} for an option out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { limeImage } from "./lime.ts";
 * await tf.setBackend("cpu");
 * // f = sum of the left half minus sum of the right half of a 4 x 4 x 3 image of ones.
 * const input = tf.input({ shape: [4, 4, 3] });
 * const dense = tf.layers.dense({ units: 2, useBias: false });
 * const out = dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * // Kernel [48, 2]: class 0 weighs pixel column c < 2 by +1, c >= 2 by −1; class 1 ignores all.
 * const kernel = Array.from({ length: 96 }, (_, i) =>
 *   i % 2 === 1 ? 0 : Math.floor(i / 6) % 4 < 2 ? 1 : -1
 * );
 * dense.setWeights([tf.tensor2d(kernel, [48, 2])]);
 * const x = new Float32Array(48).fill(1);
 * const lime = await limeImage(model, x, [4, 4, 3], 0, {
 *   segmentation: { algorithm: "grid", cellSizePx: 2 }, classifierOutput: "logits", numSamples: 64,
 * });
 * assert(lime.coefficients[0] > 0 && lime.coefficients[1] < 0);
 * ```
 */
export async function limeImage(
  model: tf.LayersModel,
  xHWC: Float32Array,
  shapeHWC: readonly [number, number, number],
  target: number,
  options: LimeOptions = {},
): Promise<LimeExplanation> {
  const [heightPx, widthPx, channels] = shapeHWC;
  const settings = limeSettings(options, channels, model);
  const algorithm = typeof settings.segmentation === "string"
    ? settings.segmentation
    : settings.segmentation.algorithm;
  if (algorithm !== "grid" && channels !== 3) {
    throw new InputError(
      `lime: ${algorithm} segments colour images and needs 3 channels, the input has ` +
        `${channels}; use segmentation "grid"`,
    );
  }
  const random = new SeededRandom(settings.seed);
  const segments = segmentImage(
    algorithm === "grid" ? new Float32Array(0) : toUnitRgb(xHWC),
    heightPx,
    widthPx,
    settings.segmentation,
    random.fork("segmentation"),
  );
  const count = segments.count;
  const data = drawSamples(random.fork("samples"), settings.numSamples, count);
  const fudged = fudgedImage(xHWC, channels, segments, settings.hideColor);
  const labels = segments.labelsHW;
  const sample = (index: number) => data.subarray(index * count, (index + 1) * count);
  // Each sample's hidden segments change the stem's output by their footprints only, so on
  // wasm and cpu the samples are made there (`graph/sparse_stem.ts`), one stem pass in all.
  const stem = SparseStem.forCopies(model);
  const copies: Copies = stem
    ? await hiddenSegmentsAtStem(stem, xHWC, fudged, labels, count, sample)
    : {
      shapeHWC,
      fill: (index, out) => {
        const z = sample(index);
        for (let p = 0, i = 0; p < labels.length; p++, i += channels) {
          const source = z[labels[p]] === 1 ? xHWC : fudged;
          for (let c = 0; c < channels; c++) out[i + c] = source[i + c];
        }
      },
    };
  const logits = await perturbedLogits(model, copies, settings.numSamples, settings.batchSize);
  const classes = logits.length / settings.numSamples;
  const y = targetOutputs(logits, classes, target, settings.classifierOutput);
  const weights = kernelWeights(data, count, settings.kernelWidth);
  const design = { xNK: data, numColumns: count };
  const usedFeatures = selectFeatures(
    design,
    y,
    weights,
    settings.numFeatures,
    settings.featureSelection,
  );
  const used = { ...design, columns: usedFeatures };
  const fit = fitRidge(used, y, weights, 1);
  const coefficients = new Float64Array(count);
  usedFeatures.forEach((k, j) => coefficients[k] = fit.coef[j]);
  return {
    segments,
    coefficients,
    usedFeatures,
    intercept: fit.intercept,
    score: ridgeScore(fit, used, y, weights),
    localPrediction: fit.intercept + fit.coef.reduce((sum, b) => sum + b, 0),
  };
}

/**
 * LIME. Each image's map gives every pixel its superpixel's coefficient for the target class.
 * `keepChannels` does not apply (LIME has one value per superpixel).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { LIME } from "./lime.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await LIME.explain(model, x, Int32Array.from([1]), { numSamples: 20, seed: 3 });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.mapsNHW.every(Number.isFinite));
 * model.dispose();
 * ```
 */
export const LIME: Explainer<LimeOptions> = {
  name: "lime",
  description: "LIME (Ribeiro et al. 2016): a weighted ridge surrogate over superpixels " +
    "hidden at random, as the lime package",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: LimeOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const [batch, heightPx, widthPx, channels] = xNHWC.shape;
    limeSettings(options, channels, model);
    const x = await xNHWC.data() as Float32Array;
    const imageSize = heightPx * widthPx * channels;
    const mapsNHW = new Float32Array(batch * heightPx * widthPx);
    const folded = foldBatchNorm(model);
    try {
      for (let n = 0; n < batch; n++) {
        const lime = await limeImage(
          folded,
          x.subarray(n * imageSize, (n + 1) * imageSize),
          [heightPx, widthPx, channels],
          targets[n],
          options,
        );
        lime.segments.labelsHW.forEach((k, p) => {
          mapsNHW[n * heightPx * widthPx + p] = lime.coefficients[k];
        });
      }
    } finally {
      folded.dispose();
    }
    return { method: this.name, mapsNHW, shapeNHW: [batch, heightPx, widthPx] };
  },
};
