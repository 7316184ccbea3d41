/**
 * What the three relative stabilities (Agarwal et al., "Rethinking Stability for Attribution-based
 * Explanations", 2022) share: the same perturbations and the same explanation term, divided by
 * how much something else changed — the input (RIS), the model's outputs (ROS) or its hidden
 * representations (RRS).
 *
 * For `nrSamples` draws of uniform noise in [lowerBound, upperBound) added to x (Quantus's
 * `batch_uniform_noise`: the noise only adds), with e = the prepared explanation of x and e' that
 * of x + noise:
 *
 *   R = ‖(e − e') / ê‖₂ / D,   ê = e where e ≠ 0, else `epsMin`,
 *
 * with D `epsMin` where it is 0. The score is the largest R over the noise samples that keep the
 * predicted class (the paper's maximum over the neighbourhood whose prediction is unchanged); lower
 * is more stable. `normalise` divides each map by its root mean square (Quantus's
 * `normalise_by_average_second_moment_estimate`).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import {
  commonFromQuantus,
  type MetricContext,
  type MetricResult,
  type PreparedBatch,
} from "../metric.ts";
import { requireDefaultPerturbFunc } from "../functions/perturb.ts";
import {
  noiseSensitivity,
  type NoiseSensitivityParams,
  type PerturbationLoop,
  type PerturbedPair,
  reduceSamples,
} from "./noise_sensitivity.ts";

/** Parameters of the relative stabilities. */
export interface RelativeStabilityParams extends NoiseSensitivityParams {
  /** The noise is uniform in [lowerBound, upperBound). */
  lowerBound: number;
  upperBound: number;
  /** What a zero entry (or a zero distance D) is replaced by in a division. */
  epsMin: number;
}

/**
 * The relative stabilities' defaults: Quantus's (noise in [0.02, 0.2), `epsMin` 1e-6, NaN for a
 * sample that changes the class, no abs or normalise) but 7 samples, as the reference's
 * Max-Sensitivity, instead of Quantus's 200.
 */
export const RELATIVE_STABILITY_DEFAULTS: RelativeStabilityParams = {
  abs: false,
  normalise: false,
  normaliseBy: "second_moment",
  softmax: false,
  quantusCompat: false,
  nrSamples: 7,
  lowerBound: 0.02,
  upperBound: 0.2,
  epsMin: 1e-6,
  returnNanWhenPredictionChanges: true,
};

/** Quantus's `normalise_func` names the relative stabilities accept. */
const SECOND_MOMENT = "normalise_by_average_second_moment_estimate";

/**
 * The relative stabilities' parameters from Quantus's arguments (`nr_samples` defaults to 200,
 * `perturb_func_kwargs` may set `lower_bound`/`upper_bound`).
 *
 * @throws {InputError} for a `perturb_func` or `normalise_func` other than the defaults (or
 *   `normalise_by_max`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { relativeStabilityFromQuantus } from "./relative_stability.ts";
 * const p = relativeStabilityFromQuantus(
 *   { nr_samples: 4, normalise: true, perturb_func_kwargs: { upper_bound: 0.05 } },
 *   { softmax: false },
 * );
 * assert(p.nrSamples === 4 && p.lowerBound === 0.02 && p.upperBound === 0.05);
 * assert(p.normaliseBy === "second_moment" && p.returnNanWhenPredictionChanges && p.quantusCompat);
 * ```
 */
export function relativeStabilityFromQuantus(
  init: Record<string, unknown>,
  call: Record<string, unknown>,
): RelativeStabilityParams {
  requireDefaultPerturbFunc("relative stability", init);
  const normaliseFunc = init.normalise_func == null ? SECOND_MOMENT : String(init.normalise_func);
  const bySecondMoment = normaliseFunc.endsWith(SECOND_MOMENT);
  const common = commonFromQuantus(
    { ...init, normalise_func: bySecondMoment ? null : normaliseFunc },
    call,
  );
  const noise = (init.perturb_func_kwargs ?? {}) as Record<string, unknown>;
  return {
    ...common,
    normaliseBy: bySecondMoment ? "second_moment" : "max",
    nrSamples: Number(init.nr_samples ?? 200),
    lowerBound: Number(noise.lower_bound ?? 0.02),
    upperBound: Number(noise.upper_bound ?? 0.2),
    epsMin: Number(init.eps_min ?? 1e-6),
    returnNanWhenPredictionChanges: init.return_nan_when_prediction_changes == null
      ? true
      : Boolean(init.return_nan_when_prediction_changes),
  };
}

/**
 * ‖(before − after) / b̂‖₂ with b̂ = before where it is not 0, else `epsMin`: the relative change
 * every relative stability measures (of the explanation, and for RIS of the input too).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { relativeChangeNorm } from "./relative_stability.ts";
 * // (2 − 1) / 2 = 0.5; the zero entry divides by epsMin: (0 − 1e-6) / 1e-6 = −1.
 * assert(Math.abs(relativeChangeNorm([2, 0], [1, 1e-6], 1e-6) - Math.hypot(0.5, 1)) < 1e-12);
 * ```
 */
export function relativeChangeNorm(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  epsMin: number,
): number {
  let sum = 0;
  for (let j = 0; j < before.length; j++) {
    const ratio = (before[j] - after[j]) / (before[j] === 0 ? epsMin : before[j]);
    sum += ratio * ratio;
  }
  return Math.sqrt(sum);
}

/**
 * Checks the relative stabilities' own parameters.
 *
 * @throws {InputError} naming the field.
 */
function checkParams(metric: string, params: RelativeStabilityParams): void {
  if (!(params.lowerBound <= params.upperBound)) {
    throw new InputError(
      `${metric}: lowerBound ${params.lowerBound} must be <= upperBound ${params.upperBound}`,
    );
  }
  if (params.normaliseBy !== undefined && !["max", "second_moment"].includes(params.normaliseBy)) {
    throw new InputError(
      `${metric}: normaliseBy ${JSON.stringify(params.normaliseBy)}: choose max or second_moment`,
    );
  }
  if (!(params.epsMin > 0)) {
    throw new InputError(`${metric}: epsMin ${params.epsMin} must be > 0`);
  }
}

/**
 * Scores a prepared batch with one relative stability: `denominator` gives D for one image and
 * one noise sample (the loop's `readsInputs`, `readsOutputs` and `measure` supply what it reads).
 * Without `quantusCompat`, the largest R over the samples that kept the class (NaN with a reason
 * when none did); with it, Quantus's `np.max`, NaN as soon as one sample changed the class.
 *
 * @example
 * ```ts ignore
 * return relativeStability(context, prepared, params, this.name,
 *   ({ x, xPerturbed }) => relativeChangeNorm(x!, xPerturbed!, params.epsMin), { readsInputs: true });
 * ```
 */
export async function relativeStability(
  context: MetricContext,
  prepared: PreparedBatch,
  params: RelativeStabilityParams,
  metric: string,
  denominator: (pair: PerturbedPair) => number,
  options: Omit<PerturbationLoop, "perturb" | "compare" | "keep"> = {},
): Promise<MetricResult> {
  checkParams(metric, params);
  const samples = await noiseSensitivity(
    context,
    prepared,
    params,
    metric,
    (count) => context.draws.uniform(params.lowerBound, params.upperBound, count),
    (pair) => {
      const d = denominator(pair);
      return relativeChangeNorm(pair.a, pair.aPerturbed, params.epsMin) /
        (d === 0 ? params.epsMin : d);
    },
    options,
  );
  return reduceSamples(
    samples,
    Math.max,
    "the predicted class changed under every noise sample",
    params.quantusCompat
      ? "the predicted class changed under at least one noise sample (Quantus's np.max keeps " +
        "that sample's NaN)"
      : undefined,
  );
}
