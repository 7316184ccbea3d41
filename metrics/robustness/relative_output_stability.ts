/**
 * Relative Output Stability (Agarwal et al., "Rethinking Stability for Attribution-based
 * Explanations", 2022): how much the explanation changes, relative to itself, per change of the
 * model's outputs, ROS = max ‖(e − e') / ê‖₂ / ‖h(x) − h(x')‖₂ over noisy copies x' that keep the
 * predicted class, h the logits (or softmax probabilities with `softmax`;
 * `relative_stability.ts` for the shared terms). Lower is more stable.
 *
 * @module
 */
import { defineMetric } from "../metric.ts";
import { frobeniusNorm } from "../functions/norm.ts";
import { difference } from "../functions/similarity.ts";
import {
  RELATIVE_STABILITY_DEFAULTS,
  relativeStability,
  relativeStabilityFromQuantus,
  type RelativeStabilityParams,
} from "./relative_stability.ts";

/**
 * Relative Output Stability, with the relative stabilities' defaults (logits).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { RELATIVE_OUTPUT_STABILITY } from "./relative_output_stability.ts";
 * assert(RELATIVE_OUTPUT_STABILITY.direction === "lower");
 * assert(!RELATIVE_OUTPUT_STABILITY.defaults.softmax);
 * ```
 */
export const RELATIVE_OUTPUT_STABILITY = defineMetric<RelativeStabilityParams>({
  name: "relative_output_stability",
  quantusName: "RelativeOutputStability",
  category: "robustness",
  direction: "lower",
  paper: "Agarwal et al. 2022, Rethinking Stability for Attribution-based Explanations",
  description: "largest relative change of the explanation per change of the model's outputs",
  needs: ["model", "explain"],
  defaults: RELATIVE_STABILITY_DEFAULTS,
  fromQuantus: relativeStabilityFromQuantus,
  score(context, prepared, params) {
    return relativeStability(
      context,
      prepared,
      params,
      this.name,
      ({ outputs, outputsPerturbed }) => frobeniusNorm(difference(outputs!, outputsPerturbed!)),
      { readsOutputs: true },
    );
  },
  toQuantus: (result) => Array.from(result.scores),
});
