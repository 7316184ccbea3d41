/**
 * The loop the robustness metrics share: perturb the inputs with random noise `nrSamples` times,
 * re-explain every perturbed batch with the method under evaluation, and compare each image's
 * new explanation with its original one.
 *
 * Draws happen in Quantus's order (one noise array for the whole batch per sample); the noisy
 * copies of several samples are built in one kernel dispatch (`metrics/kernels/add_noise.ts`) and
 * re-explained in one explain call.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { argmaxRows } from "../../evaluation/inference.ts";
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

/** One image before and after one noise sample. */
export interface PerturbedPair {
  /** Prepared attributions of the image and of its perturbed copy ([H·W]). */
  a: Float32Array;
  aPerturbed: Float32Array;
  /**
   * The image and its perturbed copy ([H·W·C]), only when `noiseSensitivity` was asked to read
   * the inputs (the perturbed copies otherwise stay on the backend, never read back).
   */
  x?: Float32Array;
  xPerturbed?: Float32Array;
}

/**
 * Runs the perturb → re-explain → compare loop on a batch already checked and prepared (the
 * metric's `score` under `defineMetric`); returns `[sample][image]` values of `compare`, NaN
 * where the prediction changed and `returnNanWhenPredictionChanges` is set.
 *
 * @param drawNoise one noise sample for the whole batch: `[N·H·W·C]` values added to x.
 * @param readsInputs pass the images and their perturbed copies to `compare`.
 * @throws {InputError} without an explain function or for `nrSamples` < 1.
 *
 * @example
 * ```ts ignore
 * const ratios = await noiseSensitivity(context, prepared, params, "max_sensitivity",
 *   (count) => context.draws.uniform(-0.2, 0.2, count),
 *   ({ a, aPerturbed }) => frobeniusNorm(difference(a, aPerturbed)) / frobeniusNorm(a));
 * ```
 */
export async function noiseSensitivity(
  context: MetricContext,
  prepared: PreparedBatch,
  params: NoiseSensitivityParams,
  metric: string,
  drawNoise: (count: number) => Float64Array,
  compare: (pair: PerturbedPair) => number,
  readsInputs = false,
): Promise<Float64Array[]> {
  if (!context.explain) {
    throw new InputError(`${metric}: re-explains perturbed inputs, so it needs the explainer`);
  }
  if (!Number.isInteger(params.nrSamples) || params.nrSamples < 1) {
    throw new InputError(`${metric}: nrSamples ${params.nrSamples} must be an integer >= 1`);
  }
  const { batch, pixels } = prepared;
  const [n, , , c] = batch.shapeNHWC;
  const values = pixels * c;
  const predicted = params.returnNanWhenPredictionChanges
    ? argmaxRows(
      await context.model.scores(batch.xNHWC, batch.shapeNHWC, { softmax: false }),
      context.model.numClasses,
    )
    : undefined;

  const results: Float64Array[] = [];
  // Re-explained in calls of about the model's batch size.
  const samplesPerCall = Math.max(1, Math.floor(context.model.batchSize / n));
  for (let first = 0; first < params.nrSamples; first += samplesPerCall) {
    const count = Math.min(samplesPerCall, params.nrSamples - first);
    // Drawn call by call (nothing else draws in between, so the order stays Quantus's); all
    // samples of the call in one kernel dispatch, which on webgpu stay on the GPU.
    const noiseSNHWC = new Float64Array(count * n * values);
    for (let k = 0; k < count; k++) noiseSNHWC.set(drawNoise(n * values), k * n * values);
    const xs = addNoise({ xNHWC: batch.xNHWC, shapeNHWC: batch.shapeNHWC, noiseSNHWC });
    let maps: Float32Array, changed: Uint8Array | undefined, xsValues: Float32Array | undefined;
    try {
      const targets = Int32Array.from({ length: count * n }, (_, j) => batch.targets[j % n]);
      maps = await context.explain(context.model.layers, xs, xs.shape, targets);
      changed = predicted &&
        Uint8Array.from(
          argmaxRows(
            await context.model.scoresOfTensor(xs, { softmax: false }),
            context.model.numClasses,
          ),
          (p, j) => (p !== predicted[j % n] ? 1 : 0),
        );
      if (readsInputs) xsValues = new Float32Array(await xs.data());
    } finally {
      xs.dispose();
    }
    for (let k = 0; k < count; k++) {
      // Prepared per noise sample: Quantus normalises each re-explained batch on its own.
      const aPerturbedBatch = prepareAttributions(
        maps.subarray(k * n * pixels, (k + 1) * n * pixels),
        pixels,
        params,
      );
      results.push(Float64Array.from({ length: n }, (_, i) => {
        if (changed?.[k * n + i]) return NaN;
        const row = k * n + i;
        return compare({
          a: prepared.map(i),
          aPerturbed: aPerturbedBatch.subarray(i * pixels, (i + 1) * pixels),
          x: readsInputs ? batch.xNHWC.subarray(i * values, (i + 1) * values) : undefined,
          xPerturbed: xsValues?.subarray(row * values, (row + 1) * values),
        });
      }));
    }
  }
  return results;
}

/**
 * Reduces `[sample][image]` values to one score per image with `reduce` over the non-NaN
 * samples; an image whose samples are all NaN gets NaN and `allNaNReason`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reduceSamples } from "./noise_sensitivity.ts";
 * const r = reduceSamples([Float64Array.of(1, NaN), Float64Array.of(3, NaN)], Math.max, "changed");
 * assert(r.scores[0] === 3 && Number.isNaN(r.scores[1]) && r.reasons[1] === "changed");
 * ```
 */
export function reduceSamples(
  samples: readonly Float64Array[],
  reduce: (...values: number[]) => number,
  allNaNReason: string,
): { scores: Float64Array; reasons: (string | undefined)[] } {
  const n = samples[0]?.length ?? 0;
  const scores = new Float64Array(n);
  const reasons: (string | undefined)[] = Array(n).fill(undefined);
  for (let i = 0; i < n; i++) {
    const finite = samples.map((s) => s[i]).filter((v) => !Number.isNaN(v));
    scores[i] = finite.length ? reduce(...finite) : NaN;
    if (!finite.length) reasons[i] = allNaNReason;
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
