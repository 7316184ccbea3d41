/**
 * Every metric, by name.
 *
 * Adding a metric: write `metrics/<category>/<name>.ts` exporting the metric built with
 * `defineMetric` (its definition's fields and its `score`; `metric.ts`'s module doc walks through
 * a runnable example) and append it to {@link METRICS}.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { AVG_SENSITIVITY } from "./robustness/avg_sensitivity.ts";
import { FAITHFULNESS_CORRELATION } from "./faithfulness/faithfulness_correlation.ts";
import { LOCAL_LIPSCHITZ_ESTIMATE } from "./robustness/local_lipschitz_estimate.ts";
import { MAX_SENSITIVITY } from "./robustness/max_sensitivity.ts";
import { MPRT } from "./randomisation/mprt.ts";
import type { CommonParams, MetricDefinition } from "./metric.ts";
import { PIXEL_FLIPPING } from "./faithfulness/pixel_flipping.ts";
import { REGION_PERTURBATION } from "./faithfulness/region_perturbation.ts";
import { SELECTIVITY } from "./faithfulness/selectivity.ts";
import { MONOTONICITY_ARYA } from "./faithfulness/monotonicity_arya.ts";
import { MONOTONICITY_NGUYEN } from "./faithfulness/monotonicity_nguyen.ts";
import { FAITHFULNESS_ESTIMATE } from "./faithfulness/faithfulness_estimate.ts";
import { IROF } from "./faithfulness/irof.ts";
import { ROAD } from "./faithfulness/road.ts";
import { SUFFICIENCY } from "./faithfulness/sufficiency.ts";
import { SENSITIVITY_N } from "./faithfulness/sensitivity_n.ts";
import { INFIDELITY } from "./faithfulness/infidelity.ts";
import { DELETION, INSERTION } from "./faithfulness/insertion_deletion.ts";
import { SPARSENESS } from "./complexity/sparseness.ts";
import { COMPLEXITY } from "./complexity/complexity.ts";
import { EFFECTIVE_COMPLEXITY } from "./complexity/effective_complexity.ts";
import { MSTC } from "./complexity/mstc.ts";
import { POINTING_GAME } from "./localisation/pointing_game.ts";
import { ATTRIBUTION_LOCALISATION } from "./localisation/attribution_localisation.ts";
import { TOP_K_INTERSECTION } from "./localisation/top_k_intersection.ts";
import { RELEVANCE_RANK_ACCURACY } from "./localisation/relevance_rank_accuracy.ts";
import { RELEVANCE_MASS_ACCURACY } from "./localisation/relevance_mass_accuracy.ts";
import { AUC } from "./localisation/auc.ts";
import { FOCUS } from "./localisation/focus.ts";
import { COMPLETENESS } from "./axiomatic/completeness.ts";
import { NON_SENSITIVITY } from "./axiomatic/non_sensitivity.ts";
import { INPUT_INVARIANCE } from "./axiomatic/input_invariance.ts";
import { RANDOM_LOGIT } from "./randomisation/random_logit.ts";
import { SMOOTH_MPRT } from "./randomisation/smooth_mprt.ts";
import { EFFICIENT_MPRT } from "./randomisation/efficient_mprt.ts";
import { CONSISTENCY } from "./robustness/consistency.ts";
import { CONTINUITY } from "./robustness/continuity.ts";
import { RELATIVE_INPUT_STABILITY } from "./robustness/relative_input_stability.ts";
import { RELATIVE_OUTPUT_STABILITY } from "./robustness/relative_output_stability.ts";
import { RELATIVE_REPRESENTATION_STABILITY } from "./robustness/relative_representation_stability.ts";

/**
 * The metrics, in the order `--help` and the tables list them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { METRICS } from "./registry.ts";
 * assert(METRICS.some((m) => m.quantusName === "FaithfulnessCorrelation"));
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
  SENSITIVITY_N,
  INFIDELITY,
  INSERTION,
  DELETION,
  MAX_SENSITIVITY,
  AVG_SENSITIVITY,
  LOCAL_LIPSCHITZ_ESTIMATE,
  CONTINUITY,
  CONSISTENCY,
  RELATIVE_INPUT_STABILITY,
  RELATIVE_OUTPUT_STABILITY,
  RELATIVE_REPRESENTATION_STABILITY,
  MPRT,
  SMOOTH_MPRT,
  EFFICIENT_MPRT,
  RANDOM_LOGIT,
  POINTING_GAME,
  ATTRIBUTION_LOCALISATION,
  TOP_K_INTERSECTION,
  RELEVANCE_RANK_ACCURACY,
  RELEVANCE_MASS_ACCURACY,
  AUC,
  FOCUS,
  SPARSENESS,
  COMPLEXITY,
  EFFECTIVE_COMPLEXITY,
  MSTC,
  COMPLETENESS,
  NON_SENSITIVITY,
  INPUT_INVARIANCE,
];

const squash = (name: string) => name.toLowerCase().replaceAll("_", "").replaceAll("-", "");

/**
 * The metric registered as `name`: its snake_case name or Quantus's class name, in any case.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { getMetric } from "./registry.ts";
 * assert(getMetric("FaithfulnessCorrelation").name === "faithfulness_correlation");
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
