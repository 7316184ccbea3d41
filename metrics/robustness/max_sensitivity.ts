/**
 * Max-Sensitivity (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations",
 * NeurIPS 2019).
 *
 * SENS_max(Φ, f, x) = max over ‖δ‖ ≤ r of ‖Φ(f, x + δ) − Φ(f, x)‖ / ‖Φ(f, x)‖, estimated with
 * `nrSamples` uniform noise draws δ ∈ [−lowerBound, upperBound]^d, re-explaining every perturbed
 * input with the method under evaluation (Frobenius norms). An explanation that barely moves
 * under imperceptible noise is robust: lower is better.
 *
 * @module
 */
import {
  commonFromQuantus,
  defineMetric,
  type MetricContext,
  type PreparedBatch,
} from "../metric.ts";
import { frobeniusNorm } from "../functions/norm.ts";
import {
  noiseSensitivity,
  type NoiseSensitivityParams,
  reduceSamples,
} from "./noise_sensitivity.ts";
import { difference } from "../functions/similarity.ts";

/** Parameters of {@link MAX_SENSITIVITY} and {@link AVG_SENSITIVITY}. */
export interface SensitivityParams extends NoiseSensitivityParams {
  /** Noise is uniform in [−lowerBound, upperBound]. */
  lowerBound: number;
  /** Upper end of the noise; `undefined` means `lowerBound` (symmetric noise). */
  upperBound?: number;
}

/** Sensitivity defaults: the reference pipeline's MaxSensitivity (7 samples, ±0.2, abs, normalise). */
export const SENSITIVITY_DEFAULTS: SensitivityParams = {
  abs: true,
  normalise: true,
  softmax: false,
  quantusCompat: false,
  nrSamples: 7,
  lowerBound: 0.2,
  returnNanWhenPredictionChanges: false,
};

/**
 * Sensitivity parameters from Quantus's arguments (its default `nr_samples` is 200).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sensitivityFromQuantus } from "./max_sensitivity.ts";
 * const p = sensitivityFromQuantus({ nr_samples: 5, lower_bound: 0.1 }, { softmax: false });
 * assert(p.nrSamples === 5 && p.lowerBound === 0.1 && p.quantusCompat);
 * ```
 */
export function sensitivityFromQuantus(
  init: Record<string, unknown>,
  call: Record<string, unknown>,
): SensitivityParams {
  return {
    ...commonFromQuantus(init, call),
    nrSamples: Number(init.nr_samples ?? 200),
    lowerBound: Number(init.lower_bound ?? 0.2),
    upperBound: init.upper_bound == null ? undefined : Number(init.upper_bound),
    returnNanWhenPredictionChanges: Boolean(init.return_nan_when_prediction_changes),
  };
}

/**
 * `[sample][image]` relative changes ‖a − a'‖ / ‖a‖ of the explanation under uniform noise
 * (NaN for an all-zero map).
 *
 * @example
 * ```ts ignore
 * const samples = await relativeChanges(context, prepared, MAX_SENSITIVITY.defaults, "max_sensitivity");
 * ```
 */
export function relativeChanges(
  context: MetricContext,
  prepared: PreparedBatch,
  params: SensitivityParams,
  metric: string,
): Promise<Float64Array[]> {
  const low = -params.lowerBound, high = params.upperBound ?? params.lowerBound;
  return noiseSensitivity(
    context,
    prepared,
    params,
    metric,
    (count) => context.draws.uniform(low, high, count),
    ({ a, aPerturbed }) => {
      const denominator = frobeniusNorm(a);
      return denominator === 0 ? NaN : frobeniusNorm(difference(a, aPerturbed)) / denominator;
    },
  );
}

/** Why an image has no sensitivity score. */
export const NO_SAMPLE_REASON =
  "no finite sample: the attribution map is all zero (relative change undefined) or the " +
  "predicted class changed under every noise sample";

/**
 * Max-Sensitivity, with the reference pipeline's settings as defaults (7 samples, noise ±0.2,
 * abs and normalise on).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MAX_SENSITIVITY } from "./max_sensitivity.ts";
 * assert(MAX_SENSITIVITY.direction === "lower" && MAX_SENSITIVITY.defaults.nrSamples === 7);
 * ```
 */
export const MAX_SENSITIVITY = defineMetric<SensitivityParams>({
  name: "max_sensitivity",
  quantusName: "MaxSensitivity",
  category: "robustness",
  direction: "lower",
  paper: "Yeh et al. 2019, On the (In)fidelity and Sensitivity of Explanations",
  description: "largest relative change of the explanation under small uniform input noise",
  needs: ["model", "explain"],
  defaults: SENSITIVITY_DEFAULTS,
  fromQuantus: sensitivityFromQuantus,
  async score(context, prepared, params) {
    const samples = await relativeChanges(context, prepared, params, this.name);
    return reduceSamples(samples, Math.max, NO_SAMPLE_REASON);
  },
  toQuantus: (result) => Array.from(result.scores),
});
