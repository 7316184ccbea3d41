/**
 * Relative Input Stability (Agarwal et al., "Rethinking Stability for Attribution-based
 * Explanations", 2022): how much the explanation changes, relative to itself, per relative change
 * of the input, RIS = max ‖(e − e') / ê‖₂ / ‖(x − x') / x̂‖₂ over noisy copies x' that keep the
 * predicted class (`relative_stability.ts` for the shared terms). Lower is more stable.
 *
 * @module
 */
import { defineMetric } from "../metric.ts";
import {
  RELATIVE_STABILITY_DEFAULTS,
  relativeChangeNorm,
  relativeStability,
  relativeStabilityFromQuantus,
  type RelativeStabilityParams,
} from "./relative_stability.ts";

/**
 * Relative Input Stability, with the relative stabilities' defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { RELATIVE_INPUT_STABILITY } from "./relative_input_stability.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 2, 1] });
 * const logits = tf.layers.dense({ units: 2, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: logits }));
 * // An explanation that never changes is perfectly stable: RIS = 0.
 * const explain = () => Promise.resolve(Float32Array.of(1, 2));
 * const batch = {
 *   xNHWC: Float32Array.of(0.5, 0.25), shapeNHWC: [1, 1, 2, 1] as const,
 *   targets: Int32Array.of(0), attributionsNHW: Float32Array.of(1, 2),
 * };
 * const r = await RELATIVE_INPUT_STABILITY.evaluate(
 *   { model, explain, draws: new SeededDraws(1) }, batch, RELATIVE_INPUT_STABILITY.defaults,
 * );
 * assert(r.scores[0] === 0);
 * model.dispose();
 * ```
 */
export const RELATIVE_INPUT_STABILITY = defineMetric<RelativeStabilityParams>({
  name: "relative_input_stability",
  quantusName: "RelativeInputStability",
  category: "robustness",
  direction: "lower",
  paper: "Agarwal et al. 2022, Rethinking Stability for Attribution-based Explanations",
  description: "largest relative change of the explanation per relative change of the input",
  needs: ["model", "explain"],
  defaults: RELATIVE_STABILITY_DEFAULTS,
  fromQuantus: relativeStabilityFromQuantus,
  score(context, prepared, params) {
    return relativeStability(
      context,
      prepared,
      params,
      this.name,
      ({ x, xPerturbed }) => relativeChangeNorm(x!, xPerturbed!, params.epsMin),
      { readsInputs: true },
    );
  },
  toQuantus: (result) => Array.from(result.scores),
});
