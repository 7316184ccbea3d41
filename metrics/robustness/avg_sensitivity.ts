/**
 * Avg-Sensitivity (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations",
 * NeurIPS 2019): as Max-Sensitivity, but the expected rather than the largest relative change,
 * SENS_avg = E_δ ‖Φ(f, x + δ) − Φ(f, x)‖ / ‖Φ(f, x)‖, estimated over `nrSamples` uniform noise
 * draws. Lower is better.
 *
 * @module
 */
import { defineMetric } from "../metric.ts";
import {
  MAX_SENSITIVITY,
  NO_SAMPLE_REASON,
  relativeChanges,
  type SensitivityParams,
} from "./max_sensitivity.ts";
import { mean, reduceSamples } from "./noise_sensitivity.ts";

/**
 * Avg-Sensitivity, with Max-Sensitivity's defaults (Quantus's 200 samples: `nrSamples: 200`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { AVG_SENSITIVITY } from "./avg_sensitivity.ts";
 * assert(AVG_SENSITIVITY.quantusName === "AvgSensitivity");
 * ```
 */
export const AVG_SENSITIVITY = defineMetric<SensitivityParams>({
  ...MAX_SENSITIVITY,
  name: "avg_sensitivity",
  quantusName: "AvgSensitivity",
  description: "mean relative change of the explanation under small uniform input noise",
  async score(context, prepared, params) {
    const samples = await relativeChanges(context, prepared, params, this.name);
    return reduceSamples(samples, mean, NO_SAMPLE_REASON);
  },
});
