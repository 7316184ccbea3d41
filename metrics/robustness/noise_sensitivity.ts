/**
 * The loop the robustness metrics share: perturb the inputs `samples` times (random noise, or
 * Continuity's translations), re-explain every perturbed batch with the method under evaluation,
 * and compare each image's new explanation with its original one.
 *
 * Noise is drawn in Quantus's order (one noise array for the whole batch per sample); the noisy
 * copies of several samples are built in one kernel dispatch (`metrics/kernels/add_noise.ts`) and
 * re-explained in one explain call, as are the copies of any other perturbation.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { argmaxRows } from "../../models/inference.ts";
import type { CommonParams, MetricContext, PreparedBatch } from "../metric.ts";
import { prepareAttributions } from "../functions/normalise.ts";
import { addNoise } from "../kernels/add_noise.ts";

/** Parameters every noise-robustness metric has. */
export interface NoiseSensitivityParams extends CommonParams {
  /** Noise samples per image. */
  nrSamples: number;
  /** A sample whose perturbation changes the predicted class scores NaN (Quantus's option). */
  returnNanWhenPredictionChanges: boolean;
}

/** One image before and after one perturbation. */
export interface PerturbedPair {
  /** Which image of the batch, and which perturbation of it. */
  image: number;
  sample: number;
  /** Prepared attributions of the image and of its perturbed copy ([H·W]). */
  a: Float32Array;
  aPerturbed: Float32Array;
  /**
   * The image and its perturbed copy ([H·W·C]), only with `readsInputs` (the perturbed copies
   * otherwise stay on the backend, never read back).
   */
  x?: Float32Array;
  xPerturbed?: Float32Array;
  /** The model's outputs (logits, or softmax with `params.softmax`) for both, with `readsOutputs`. */
  outputs?: Float32Array;
  outputsPerturbed?: Float32Array;
  /** What `measure` gave this copy, where the loop has one. */
  measured?: number;
}

/** How a robustness metric perturbs and compares (see {@link perturbationRobustness}). */
export interface PerturbationLoop {
  /**
   * The copies of perturbations `first` to `first + count − 1` of the whole batch: a
   * `[count·N, H, W, C]` tensor, perturbation-major (copy k·N + i is image i), which the loop
   * disposes. Called in perturbation order, so draws keep Quantus's order.
   */
  perturb(first: number, count: number): tf.Tensor4D;
  /** One image's value for one perturbation (NaN allowed). */
  compare(pair: PerturbedPair): number;
  /** Pass the images and their perturbed copies to `compare`. */
  readsInputs?: boolean;
  /** Pass the model's outputs (as `params.softmax` asks) to `compare`. */
  readsOutputs?: boolean;
  /**
   * One value per copy computed while the copies are on the backend (a hidden-representation
   * distance), `[count·N]`, passed to `compare` as `measured`.
   */
  measure?(copies: tf.Tensor4D): Promise<Float64Array>;
  /**
   * Which class a copy must keep for its value to count when `returnNanWhenPredictionChanges` is
   * set: the image's predicted class (default) or its target (Continuity, as Quantus).
   */
  keep?: "prediction" | "target";
}

/**
 * Runs the perturb → re-explain → compare loop on a batch already checked and prepared (the
 * metric's `score` under `defineMetric`); returns `[perturbation][image]` values of
 * `loop.compare`, NaN where the prediction changed and `returnNanWhenPredictionChanges` is set.
 * Perturbations are re-explained in calls of about the model's batch size.
 *
 * @param samples how many perturbations, and the parameter that set it (for the error).
 * @throws {InputError} without an explain function or for fewer than 1 perturbation.
 *
 * @example
 * ```ts ignore
 * const samples = { count: params.nrSteps, field: "nrSteps" };
 * const values = await perturbationRobustness(context, prepared, params, "continuity", samples, {
 *   perturb: (first, count) => translatedCopies(first, count),
 *   compare: ({ a, aPerturbed }) => manhattan(a, aPerturbed),
 *   keep: "target",
 * });
 * ```
 */
export async function perturbationRobustness(
  context: MetricContext,
  prepared: PreparedBatch,
  params: CommonParams & { returnNanWhenPredictionChanges: boolean },
  metric: string,
  { count: samples, field }: { count: number; field: string },
  loop: PerturbationLoop,
): Promise<Float64Array[]> {
  if (!context.explain) {
    throw new InputError(`${metric}: re-explains perturbed inputs, so it needs the explainer`);
  }
  if (!Number.isInteger(samples) || samples < 1) {
    throw new InputError(`${metric}: ${field} ${samples} must be an integer >= 1`);
  }
  const { batch, pixels } = prepared;
  const [n, , , c] = batch.shapeNHWC;
  const k = context.model.numClasses;
  const values = pixels * c;
  const checksClass = params.returnNanWhenPredictionChanges;
  const outputs = checksClass || loop.readsOutputs
    ? await context.model.scores(batch.xNHWC, batch.shapeNHWC, { softmax: params.softmax })
    : undefined;
  const kept = checksClass
    ? loop.keep === "target" ? batch.targets : argmaxRows(outputs!, k)
    : undefined;

  const results: Float64Array[] = [];
  const perCall = Math.max(1, Math.floor(context.model.batchSize / n));
  for (let first = 0; first < samples; first += perCall) {
    const count = Math.min(perCall, samples - first);
    const xs = loop.perturb(first, count);
    let maps: Float32Array, outputsPerturbed: Float32Array | undefined;
    let xsValues: Float32Array | undefined, measured: Float64Array | undefined;
    try {
      const targets = Int32Array.from({ length: count * n }, (_, j) => batch.targets[j % n]);
      maps = await context.explain(context.model.layers, xs, xs.shape, targets);
      if (outputs) {
        outputsPerturbed = await context.model.scoresOfTensor(xs, { softmax: params.softmax });
      }
      if (loop.readsInputs) xsValues = new Float32Array(await xs.data());
      measured = await loop.measure?.(xs);
    } finally {
      xs.dispose();
    }
    const changed = kept &&
      argmaxRows(outputsPerturbed!, k).map((p, j) => p !== kept[j % n] ? 1 : 0);
    for (let s = 0; s < count; s++) {
      // Prepared per perturbation: Quantus normalises each re-explained batch on its own.
      const aPerturbedBatch = prepareAttributions(
        maps.subarray(s * n * pixels, (s + 1) * n * pixels),
        pixels,
        params,
      );
      results.push(Float64Array.from({ length: n }, (_, i) => {
        const row = s * n + i;
        if (changed?.[row]) return NaN;
        return loop.compare({
          image: i,
          sample: first + s,
          a: prepared.map(i),
          aPerturbed: aPerturbedBatch.subarray(i * pixels, (i + 1) * pixels),
          x: xsValues && batch.xNHWC.subarray(i * values, (i + 1) * values),
          xPerturbed: xsValues?.subarray(row * values, (row + 1) * values),
          outputs: loop.readsOutputs ? outputs!.subarray(i * k, (i + 1) * k) : undefined,
          outputsPerturbed: loop.readsOutputs
            ? outputsPerturbed!.subarray(row * k, (row + 1) * k)
            : undefined,
          measured: measured?.[row],
        });
      }));
    }
  }
  return results;
}

/**
 * {@link perturbationRobustness} with `params.nrSamples` additive noise samples: `drawNoise`
 * gives one sample for the whole batch, `[N·H·W·C]` values added to x (in float64, the sum
 * stored as float32, as Quantus does).
 *
 * @throws {InputError} without an explain function or for `nrSamples` < 1.
 *
 * @example
 * ```ts ignore
 * const ratios = await noiseSensitivity(context, prepared, params, "max_sensitivity",
 *   (count) => context.draws.uniform(-0.2, 0.2, count),
 *   ({ a, aPerturbed }) => frobeniusNorm(difference(a, aPerturbed)) / frobeniusNorm(a));
 * ```
 */
export function noiseSensitivity(
  context: MetricContext,
  prepared: PreparedBatch,
  params: NoiseSensitivityParams,
  metric: string,
  drawNoise: (count: number) => Float64Array,
  compare: (pair: PerturbedPair) => number,
  options: Omit<PerturbationLoop, "perturb" | "compare" | "keep"> = {},
): Promise<Float64Array[]> {
  const { batch } = prepared;
  const size = batch.xNHWC.length;
  const samples = { count: params.nrSamples, field: "nrSamples" };
  return perturbationRobustness(context, prepared, params, metric, samples, {
    ...options,
    compare,
    perturb(_first, count) {
      // Drawn call by call (nothing else draws in between, so the order stays Quantus's); all
      // samples of the call in one kernel dispatch, which on webgpu stay on the GPU.
      const noiseSNHWC = new Float64Array(count * size);
      for (let s = 0; s < count; s++) noiseSNHWC.set(drawNoise(size), s * size);
      return addNoise({ xNHWC: batch.xNHWC, shapeNHWC: batch.shapeNHWC, noiseSNHWC });
    },
  });
}

/**
 * Reduces `[sample][image]` values to one score per image with `reduce` over the non-NaN
 * samples; an image whose samples are all NaN gets NaN and `allNaNReason`. With `anyNaNReason`,
 * a single NaN sample makes the image NaN with that reason (Quantus's `np.max`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reduceSamples } from "./noise_sensitivity.ts";
 * const samples = [Float64Array.of(1, NaN, 2), Float64Array.of(3, NaN, NaN)];
 * const r = reduceSamples(samples, Math.max, "changed");
 * assert(r.scores[0] === 3 && Number.isNaN(r.scores[1]) && r.reasons[1] === "changed");
 * assert(r.scores[2] === 2);
 * const strict = reduceSamples(samples, Math.max, "changed", "one changed");
 * assert(Number.isNaN(strict.scores[2]) && strict.reasons[2] === "one changed");
 * ```
 */
export function reduceSamples(
  samples: readonly Float64Array[],
  reduce: (...values: number[]) => number,
  allNaNReason: string,
  anyNaNReason?: string,
): { scores: Float64Array; reasons: (string | undefined)[] } {
  const n = samples[0]?.length ?? 0;
  const scores = new Float64Array(n);
  const reasons: (string | undefined)[] = Array(n).fill(undefined);
  for (let i = 0; i < n; i++) {
    const all = samples.map((s) => s[i]);
    const finite = all.filter((v) => !Number.isNaN(v));
    if (!finite.length) {
      scores[i] = NaN;
      reasons[i] = allNaNReason;
    } else if (anyNaNReason !== undefined && finite.length < all.length) {
      scores[i] = NaN;
      reasons[i] = anyNaNReason;
    } else {
      scores[i] = reduce(...finite);
    }
  }
  return { scores, reasons };
}

/**
 * The mean of its arguments (for {@link reduceSamples}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { mean } from "./noise_sensitivity.ts";
 * assert(mean(1, 2, 3) === 2);
 * ```
 */
export function mean(...values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
