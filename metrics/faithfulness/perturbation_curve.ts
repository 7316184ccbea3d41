/**
 * The perturbation loops of the faithfulness metrics, built once: perturbed copies of a batch
 * are assembled on the CPU and scored in large batched model calls (as many copies per call as
 * {@link MetricModel.batchSize}), instead of Quantus's one model call per step. Where the backend
 * accelerates the subset perturbation (`PERTURB_SUBSETS`: on webgpu the WGSL kernel of
 * `metrics/kernels/perturb_subsets.ts`, cumulative mode) the removal steps of
 * {@link cumulativeCurves} are built by it instead, with the same values.
 *
 * - {@link cumulativeCurves}: step after step, more pixels of each image are replaced (removal
 *   with a baseline, or insertion of the original pixels into a baseline image) and the model's
 *   output for the target is recorded after each step — PixelFlipping, RegionPerturbation,
 *   Selectivity, IROF, MonotonicityArya.
 * - {@link independentCopies}: many copies of the ORIGINAL images, each perturbed once —
 *   FaithfulnessEstimate, MonotonicityNguyen, ROAD.
 *
 * Both visit copies in Quantus's order (step-major, then image), so baselines and random draws
 * are taken in the same order as Quantus takes them.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import type { ShapeNHWC } from "../../core/shapes.ts";
import { PERTURB_SUBSETS } from "../kernels/perturb_subsets.ts";
import { cumulativeSteps, type SubsetPerturbation } from "../kernels/perturb_subsets_types.ts";
import { copiesPerPass, type MetricModel } from "../metric_model.ts";
import type { PreparedBatch } from "../metric.ts";

/** The part of a batch the loops read. */
export interface CurveBatch {
  /** [N, H, W, C] the images; never modified. */
  xNHWC: Float32Array;
  shapeNHWC: ShapeNHWC;
  /** [N] the class whose output is recorded. */
  targets: Int32Array;
}

/** How {@link cumulativeCurves} perturbs. */
export interface CumulativeOptions {
  /**
   * [image][step] the pixel indices (r·W + c, every channel) changed at each step. Images may
   * have different numbers of steps; an image's curve has one entry per step of its own.
   */
  steps: readonly (readonly ArrayLike<number>[])[];
  /**
   * Removal: the value each image's pixels are set to at `step`, computed from the current
   * (already perturbed) images before the step, one value per image.
   */
  baselines?: (statesNHWC: Float32Array, step: number) => ArrayLike<number>;
  /** Insertion: pixels take their values from this [N, H, W, C] batch instead. */
  insertFromNHWC?: Float32Array;
  /** The images the steps start from (default: the batch's own). */
  startNHWC?: Float32Array;
  /** Record softmax probabilities instead of logits. */
  softmax: boolean;
  /**
   * Where the backend accelerates the subset perturbation (webgpu: the WGSL kernel), build the
   * removal copies with it (default true); false keeps the CPU loop there too, to compare the
   * two.
   */
  copiesOnGpu?: boolean;
}

/**
 * Per image, the model's output for its target after each cumulative step. Where the backend
 * accelerates the subset perturbation (webgpu), removal steps are built by it, one pass for many
 * steps of the whole batch, then scored from the backend in calls of
 * {@link MetricModel.batchSize}; the copies have the same float32 values as the CPU loop's.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { cumulativeCurves } from "./perturbation_curve.ts";
 * await tf.setBackend("cpu");
 * // A "model" whose only output is the sum of its 3 pixels.
 * const input = tf.input({ shape: [1, 3, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const sum = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "ones" });
 * const model = new MetricModel(tf.model({ inputs: input, outputs: sum.apply(flat) as tf.SymbolicTensor }));
 * const batch = { xNHWC: Float32Array.of(1, 2, 3), shapeNHWC: [1, 1, 3, 1] as const, targets: Int32Array.of(0) };
 * const [curve] = await cumulativeCurves(model, batch, {
 *   steps: [[[2], [1], [0]]], baselines: () => [0], softmax: false,
 * });
 * assert(curve.join() === "3,1,0" && model.calls === 1);
 * model.dispose();
 * ```
 */
export async function cumulativeCurves(
  model: MetricModel,
  batch: CurveBatch,
  options: CumulativeOptions,
): Promise<Float32Array[]> {
  const buildCopies = (options.copiesOnGpu ?? true) ? PERTURB_SUBSETS.implementation() : undefined;
  if (buildCopies && options.baselines && !options.insertFromNHWC) {
    return await acceleratedRemovalCurves(model, batch, options, buildCopies);
  }
  const [, h, w, c] = batch.shapeNHWC;
  const perImage = h * w * c;
  const curves = options.steps.map((s) => new Float32Array(s.length));
  const pending = new CopyBuffer(model, batch, options.softmax);
  await walkSteps(batch, options, async (states, step, i) => {
    await pending.add(states.subarray(i * perImage, (i + 1) * perImage), i, (score) => {
      curves[i][step] = score;
    });
  });
  await pending.flush();
  return curves;
}

/**
 * Runs the steps of {@link cumulativeCurves} on a copy of the start images, in Quantus's order
 * (step-major, then image), calling `after` once image i has taken `step`, with the value its
 * pixels were set to (removal) or undefined (insertion).
 */
async function walkSteps(
  batch: CurveBatch,
  options: CumulativeOptions,
  after: (
    statesNHWC: Float32Array,
    step: number,
    image: number,
    baseline: number | undefined,
  ) => Promise<void> | void,
): Promise<void> {
  const [n, h, w, c] = batch.shapeNHWC;
  const perImage = h * w * c;
  const states = (options.startNHWC ?? batch.xNHWC).slice();
  const maxSteps = Math.max(0, ...options.steps.map((s) => s.length));
  for (let step = 0; step < maxSteps; step++) {
    const values = options.insertFromNHWC ? undefined : options.baselines?.(states, step);
    for (let i = 0; i < n; i++) {
      if (step >= options.steps[i].length) continue;
      const pixels = options.steps[i][step];
      const base = i * perImage;
      for (let k = 0; k < pixels.length; k++) {
        const at = base + pixels[k] * c;
        for (let ch = 0; ch < c; ch++) {
          states[at + ch] = options.insertFromNHWC ? options.insertFromNHWC[at + ch] : values![i];
        }
      }
      await after(states, step, i, values?.[i]);
    }
  }
}

/**
 * The removal curves where the backend accelerates the subset perturbation: the baselines still
 * come from stepping the images on the CPU (each step's baseline is taken from the image as the
 * earlier steps left it, as Quantus does), but the copies are built by `buildCopies` (on webgpu
 * `perturb_subsets`'s WGSL kernel, cumulative mode), as many steps per pass as
 * {@link copiesPerPass} allows, and scored straight from the backend. Images with fewer steps
 * than the longest repeat their last copy; those scores are dropped.
 */
async function acceleratedRemovalCurves(
  model: MetricModel,
  batch: CurveBatch,
  options: CumulativeOptions,
  buildCopies: (pass: SubsetPerturbation) => tf.Tensor4D,
): Promise<Float32Array[]> {
  const n = batch.shapeNHWC[0];
  const curves = options.steps.map((s) => new Float32Array(s.length));
  const maxSteps = Math.max(0, ...options.steps.map((s) => s.length));
  if (maxSteps === 0) return curves;
  const baselinesSN = new Float32Array(maxSteps * n);
  await walkSteps(batch, options, (_, step, i, baseline) => {
    baselinesSN[step * n + i] = baseline!;
  });
  const selection = cumulativeSteps(options.steps);
  const stepsPerCall = copiesPerPass(batch.shapeNHWC);
  for (let first = 0; first < maxSteps; first += stepsPerCall) {
    const count = Math.min(stepsPerCall, maxSteps - first);
    const copies = buildCopies({
      xNHWC: options.startNHWC ?? batch.xNHWC,
      shapeNHWC: batch.shapeNHWC,
      copies: count,
      selection: { ...selection, firstStep: first },
      baselinesKN: baselinesSN,
    });
    let scores: Float32Array;
    try {
      scores = await model.targetScoresOfTensor(copies, batch.targets, {
        softmax: options.softmax,
      });
    } finally {
      copies.dispose();
    }
    for (let k = 0; k < count; k++) {
      for (let i = 0; i < n; i++) {
        if (first + k < curves[i].length) curves[i][first + k] = scores[k * n + i];
      }
    }
  }
  return curves;
}

/**
 * Scores `count` perturbed copies of the original images: copy e is image `imageOf(e)`,
 * changed in place by `perturb(e, imageHWC)` (called in order of e). Returns `[count]` target
 * outputs, or `[count, K]` outputs of every class with `allClasses`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { independentCopies } from "./perturbation_curve.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 2, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const sum = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "ones" });
 * const model = new MetricModel(tf.model({ inputs: input, outputs: sum.apply(flat) as tf.SymbolicTensor }));
 * const batch = { xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0) };
 * const out = await independentCopies(model, batch, 2, () => 0, (e, image) => {
 *   image[e] = 0;
 * }, { softmax: false });
 * assert(out.join() === "2,1");
 * model.dispose();
 * ```
 */
export async function independentCopies(
  model: MetricModel,
  batch: CurveBatch,
  count: number,
  imageOf: (copy: number) => number,
  perturb: (copy: number, imageHWC: Float32Array) => void,
  { softmax, allClasses = false }: { softmax: boolean; allClasses?: boolean },
): Promise<Float32Array> {
  const [, h, w, c] = batch.shapeNHWC;
  const perImage = h * w * c;
  const k = model.numClasses;
  const out = new Float32Array(allClasses ? count * k : count);
  const pending = new CopyBuffer(model, batch, softmax, allClasses);
  const image = new Float32Array(perImage);
  for (let e = 0; e < count; e++) {
    const i = imageOf(e);
    image.set(batch.xNHWC.subarray(i * perImage, (i + 1) * perImage));
    perturb(e, image);
    await pending.add(image, i, (score, all) => {
      if (allClasses) out.set(all!, e * k);
      else out[e] = score;
    });
  }
  await pending.flush();
  return out;
}

/** Collects copies until a model call is full, then scores them in one call. */
class CopyBuffer {
  readonly #model: MetricModel;
  readonly #shape: ShapeNHWC;
  readonly #targets: Int32Array;
  readonly #softmax: boolean;
  readonly #allClasses: boolean;
  readonly #copies: Float32Array;
  readonly #copyTargets: Int32Array;
  readonly #done: ((score: number, all?: Float32Array) => void)[] = [];

  constructor(model: MetricModel, batch: CurveBatch, softmax: boolean, allClasses = false) {
    const [, h, w, c] = batch.shapeNHWC;
    this.#model = model;
    this.#shape = [model.batchSize, h, w, c];
    this.#targets = batch.targets;
    this.#softmax = softmax;
    this.#allClasses = allClasses;
    this.#copies = new Float32Array(model.batchSize * h * w * c);
    this.#copyTargets = new Int32Array(model.batchSize);
  }

  async add(
    imageHWC: Float32Array,
    image: number,
    done: (score: number, all?: Float32Array) => void,
  ): Promise<void> {
    const slot = this.#done.length;
    this.#copies.set(imageHWC, slot * imageHWC.length);
    this.#copyTargets[slot] = this.#targets[image];
    this.#done.push(done);
    if (this.#done.length === this.#model.batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    const count = this.#done.length;
    if (count === 0) return;
    const [, h, w, c] = this.#shape;
    const x = this.#copies.subarray(0, count * h * w * c);
    const k = this.#model.numClasses;
    const all = await this.#model.scores(x, [count, h, w, c], { softmax: this.#softmax });
    for (let slot = 0; slot < count; slot++) {
      const row = all.subarray(slot * k, (slot + 1) * k);
      this.#done[slot](row[this.#copyTargets[slot]], this.#allClasses ? row : undefined);
    }
    this.#done.length = 0;
  }
}

/**
 * Splits a pixel order into consecutive steps of `featuresInStep` pixels (the last step takes
 * what is left), as Quantus's `order[k*fis:(k+1)*fis]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { orderedSteps } from "./perturbation_curve.ts";
 * assert(orderedSteps(Int32Array.of(4, 2, 0, 1, 3), 2).map((s) => s.join()).join("|") === "4,2|0,1|3");
 * ```
 */
export function orderedSteps(order: Int32Array, featuresInStep: number): Int32Array[] {
  const steps: Int32Array[] = [];
  for (let start = 0; start < order.length; start += featuresInStep) {
    steps.push(order.subarray(start, start + featuresInStep));
  }
  return steps;
}

/**
 * The area under a curve sampled at unit spacing by the trapezoidal rule (`np.trapz(y, dx=1)`);
 * 0 for fewer than two points.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { trapezoid } from "./perturbation_curve.ts";
 * assert(trapezoid([1, 3, 1]) === 4 && trapezoid([5]) === 0);
 * ```
 */
export function trapezoid(values: ArrayLike<number>): number {
  let area = 0;
  for (let j = 1; j < values.length; j++) area += (values[j - 1] + values[j]) / 2;
  return area;
}

/**
 * The pixels per step: `featuresInStep` when given, else (undefined or 0) one image row's worth
 * (W), so that a curve has H points at any resolution (Quantus's default of 1 pixel per step costs H·W model
 * calls per image).
 *
 * @throws {InputError} naming the metric when it is not an integer from 1 to H·W.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveFeaturesInStep } from "./perturbation_curve.ts";
 * assert(resolveFeaturesInStep("pixel_flipping", 0, 28, 28) === 28);
 * assert(resolveFeaturesInStep("pixel_flipping", 4, 28, 28) === 4);
 * ```
 */
export function resolveFeaturesInStep(
  metric: string,
  featuresInStep: number | undefined,
  heightPx: number,
  widthPx: number,
): number {
  const value = featuresInStep || widthPx;
  if (!Number.isInteger(value) || value < 1 || value > heightPx * widthPx) {
    throw new InputError(
      `${metric}: featuresInStep ${value} must be an integer from 1 to ${
        heightPx * widthPx
      } (H x W pixels)`,
    );
  }
  return value;
}

/**
 * Marks images whose prepared map is constant as undefined (NaN with a reason), in place: a
 * constant map ranks no pixel above another, so any order-based score would only measure the
 * sort's tie-breaking. With `quantusCompat` the result is left as Quantus gives it (a score from
 * numpy's order of the ties).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { prepareBatch } from "../metric.ts";
 * import { markConstantMaps } from "./perturbation_curve.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [2, 1, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(3, 3, 1, 2),
 * };
 * const prepared = prepareBatch(batch, { abs: false, normalise: false, quantusCompat: false });
 * const result = { scores: Float64Array.of(1, 2), reasons: [undefined, undefined] };
 * markConstantMaps(result, prepared, false);
 * assert(Number.isNaN(result.scores[0]) && result.scores[1] === 2);
 * ```
 */
export function markConstantMaps(
  result: { scores: Float64Array; reasons: (string | undefined)[] },
  prepared: PreparedBatch,
  quantusCompat: boolean,
): void {
  if (quantusCompat) return;
  for (let i = 0; i < result.scores.length; i++) {
    const map = prepared.map(i);
    if (map.every((v) => v === map[0])) {
      result.scores[i] = NaN;
      result.reasons[i] = `the attribution map is constant (${map[0]} everywhere): it ranks no ` +
        "pixel above another, so the perturbation order is arbitrary";
    }
  }
}
