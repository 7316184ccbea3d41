/**
 * Local Lipschitz Estimate (Alvarez-Melis & Jaakkola, "On the Robustness of Interpretability
 * Methods", ICML WHI 2018).
 *
 * L(x) = max over x' near x of ‖Φ(x) − Φ(x')‖₂ / ‖x − x'‖₂, estimated with `nrSamples` Gaussian
 * perturbations x' = x + N(perturbMean, perturbStd²), re-explaining each with the method under
 * evaluation. A small constant means similar inputs get similar explanations: lower is better.
 *
 * @module
 */
import { commonFromQuantus, defineMetric } from "../metric.ts";
import { frobeniusNorm } from "../functions/norm.ts";
import {
  noiseSensitivity,
  type NoiseSensitivityParams,
  reduceSamples,
} from "./noise_sensitivity.ts";
import { difference } from "../functions/similarity.ts";

/** Parameters of {@link LOCAL_LIPSCHITZ_ESTIMATE}. */
export interface LocalLipschitzEstimateParams extends NoiseSensitivityParams {
  /** Mean of the Gaussian noise. */
  perturbMean: number;
  /** Standard deviation of the Gaussian noise. */
  perturbStd: number;
}

/** Quantus's guard against dividing by an unperturbed input. */
const DENOMINATOR_EPSILON = 1e-10;

/**
 * Local Lipschitz Estimate. Defaults: Quantus's (noise N(0, 0.1²), abs and normalise on), but 7
 * samples as the reference's Max-Sensitivity instead of Quantus's 200.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { LOCAL_LIPSCHITZ_ESTIMATE } from "./local_lipschitz_estimate.ts";
 * assert(LOCAL_LIPSCHITZ_ESTIMATE.direction === "lower");
 * ```
 */
export const LOCAL_LIPSCHITZ_ESTIMATE = defineMetric<LocalLipschitzEstimateParams>({
  name: "local_lipschitz_estimate",
  quantusName: "LocalLipschitzEstimate",
  category: "robustness",
  direction: "lower",
  paper: "Alvarez-Melis & Jaakkola 2018, On the Robustness of Interpretability Methods",
  description: "largest ratio of explanation change to input change under Gaussian noise",
  needs: ["model", "explain"],
  defaults: {
    abs: true,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    nrSamples: 7,
    perturbMean: 0,
    perturbStd: 0.1,
    returnNanWhenPredictionChanges: false,
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      nrSamples: Number(init.nr_samples ?? 200),
      perturbMean: Number(init.perturb_mean ?? 0),
      perturbStd: Number(init.perturb_std ?? 0.1),
      returnNanWhenPredictionChanges: Boolean(init.return_nan_when_prediction_changes),
    };
  },
  async score(context, prepared, params) {
    const samples = await noiseSensitivity(
      context,
      prepared,
      params,
      this.name,
      (count) => context.draws.normal(params.perturbMean, params.perturbStd, count),
      ({ a, aPerturbed, x, xPerturbed }) =>
        frobeniusNorm(difference(a, aPerturbed)) /
        (frobeniusNorm(difference(x!, xPerturbed!)) + DENOMINATOR_EPSILON),
      { readsInputs: true },
    );
    return reduceSamples(
      samples,
      Math.max,
      "the predicted class changed under every noise sample",
    );
  },
  toQuantus: (result) => Array.from(result.scores),
});
