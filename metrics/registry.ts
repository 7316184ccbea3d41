/**
 * Every metric, by name.
 *
 * Adding a metric: write `metrics/<name>.ts` exporting a {@link MetricDefinition} and append it
 * to {@link METRICS}.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { FAITHFULNESS_CORRELATION } from "./faithfulness_correlation.ts";
import type { CommonParams, MetricDefinition } from "./metric.ts";
import { PIXEL_FLIPPING } from "./pixel_flipping.ts";
import { REGION_PERTURBATION } from "./region_perturbation.ts";
import { SELECTIVITY } from "./selectivity.ts";
import { MONOTONICITY_ARYA } from "./monotonicity_arya.ts";
import { MONOTONICITY_NGUYEN } from "./monotonicity_nguyen.ts";
import { FAITHFULNESS_ESTIMATE } from "./faithfulness_estimate.ts";
import { IROF } from "./irof.ts";
import { ROAD } from "./road.ts";
import { SUFFICIENCY } from "./sufficiency.ts";

/**
 * The metrics, in the order `--help` and the tables list them.
 *
 * @example
 * ```ts
 * import { METRICS } from "./registry.ts";
 * console.assert(METRICS.some((m) => m.quantusName === "FaithfulnessCorrelation"));
 * ```
 */
// deno-lint-ignore no-explicit-any
export const METRICS: readonly MetricDefinition<any>[] = [
  FAITHFULNESS_CORRELATION,
  PIXEL_FLIPPING,
  REGION_PERTURBATION,
  SELECTIVITY,
  MONOTONICITY_ARYA,
  MONOTONICITY_NGUYEN,
  FAITHFULNESS_ESTIMATE,
  IROF,
  ROAD,
  SUFFICIENCY,
];

const squash = (name: string) => name.toLowerCase().replaceAll("_", "").replaceAll("-", "");

/**
 * The metric registered as `name`: its snake_case name or Quantus's class name, in any case.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import { getMetric } from "./registry.ts";
 * console.assert(getMetric("FaithfulnessCorrelation").name === "faithfulness_correlation");
 * ```
 */
export function getMetric(name: string): MetricDefinition<CommonParams> {
  const metric = METRICS.find((m) => squash(m.name) === squash(name));
  if (!metric) {
    throw new InputError(
      `unknown metric "${name}"; choose one of: ${METRICS.map((m) => m.name).join(", ")}`,
    );
  }
  return metric;
}
