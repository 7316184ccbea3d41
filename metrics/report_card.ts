/**
 * A report card per metric, for choosing which metrics to trust before choosing a method: for
 * one model, the metric's validity (Kendall's τ between its ranking of the methods and the
 * ground-truth ranking, `validity.ts`), its agreement with the other metrics (the mean τ over
 * `agreement.ts`'s pairs that hold it), and MetaQuantus's two criteria (Hedström et al. 2023):
 * noise resilience (the metric's ranking stays put under minor perturbations of the model or
 * input) and reactivity (it moves under disruptive ones). The last two come from `deno task
 * meta` (`results/meta_evaluation.csv`: noise resilience the mean of IAC_NR and IEC_NR,
 * reactivity of IAC_AR and IEC_AR, over the model and input tests) and are "not computed" until
 * it has run for the metric; nothing stands in for them.
 *
 * @module
 */
import type { MetricAgreement } from "./agreement.ts";
import type { ModelScores } from "./comparisons.ts";
import type { ScoreDirection } from "./metric.ts";
import type { MetricValidity, ModelValidity } from "./validity.ts";

/** The columns of `quantus_report_card.csv`: one row per model and metric. */
export const QUANTUS_REPORT_CARD_COLUMNS = [
  "model",
  "metric",
  "direction",
  "validity_reference",
  "validity_tau",
  "validity_ci_low",
  "validity_ci_high",
  "validity_images",
  "validity_note",
  "agreement_tau",
  "agreement_metrics",
  "noise_resilience",
  "reactivity",
] as const;

/** What a criterion's cell says while nothing has computed it. */
export const NOT_COMPUTED = "not computed";

/** One row of `quantus_report_card.csv`. */
export interface ReportCard {
  model: string;
  metric: string;
  direction: ScoreDirection;
  /** The ground-truth metric of the validity columns. */
  validityReference: string;
  /** τ between the metric's and the reference's rankings by mean; NaN where absent. */
  validityTau: number;
  /** Bootstrap 95 % interval of `validityTau` over the images. */
  validityCiLow: number;
  validityCiHigh: number;
  /** Images with a per-image τ against the reference (0 where absent). */
  validityImages: number;
  /** Why the validity cells are empty, or that the row is the reference itself; else "". */
  validityNote: string;
  /** Mean τ with the other metrics (rankings by mean, pairs with a defined τ); NaN if none. */
  agreementTau: number;
  /** The other metrics in that mean. */
  agreementMetrics: number;
  /** MetaQuantus noise resilience; undefined: {@link NOT_COMPUTED}. */
  noiseResilience?: number;
  /** MetaQuantus reactivity; undefined: {@link NOT_COMPUTED}. */
  reactivity?: number;
}

/**
 * The report cards of every model's metrics, in `models`' metric order, from the model's
 * validity (rows or why absent, keyed by model), the agreement rows and MetaQuantus's criteria
 * (`meta`, keyed `model\tmetric`; a metric absent there keeps them undefined).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportCards } from "./report_card.ts";
 * const table = { model: "m", images: [], methods: [], metrics: [
 *   { metric: "x", direction: "higher" as const, scores: new Map() },
 *   { metric: "y", direction: "lower" as const, scores: new Map() },
 *   { metric: "z", direction: "lower" as const, scores: new Map() },
 * ] };
 * const pair = (metricA: string, metricB: string, tauOverall: number) =>
 *   ({ model: "m", metricA, metricB, methods: 3, tauOverall, images: 5, tauPerImage: 0 });
 * const [x] = reportCards(
 *   [table],
 *   new Map([["m", { absent: "m: no masks" }]]),
 *   [pair("x", "y", 1), pair("x", "z", -0.5), pair("y", "z", 0.2)],
 *   "relevance_mass_accuracy",
 * );
 * assert(x.agreementTau === 0.25 && x.agreementMetrics === 2);
 * assert(Number.isNaN(x.validityTau) && x.validityNote === "m: no masks");
 * assert(x.noiseResilience === undefined && x.reactivity === undefined);
 * // deno task meta's criteria, keyed "model\tmetric", fill their cells.
 * const meta = new Map([["m\tx", { noiseResilience: 0.75, reactivity: 0.5 }]]);
 * const [withMeta] = reportCards([table], new Map(), [], "relevance_mass_accuracy", meta);
 * assert(withMeta.noiseResilience === 0.75 && withMeta.reactivity === 0.5);
 * ```
 */
export function reportCards(
  models: readonly ModelScores[],
  validity: ReadonlyMap<string, ModelValidity>,
  agreement: readonly MetricAgreement[],
  reference: string,
  meta: ReadonlyMap<string, { noiseResilience: number; reactivity: number }> = new Map(),
): ReportCard[] {
  return models.flatMap((table) => {
    const valid = validity.get(table.model);
    return table.metrics.map((metric): ReportCard => {
      const row: MetricValidity | undefined = valid && "rows" in valid
        ? valid.rows.find((r) => r.metric === metric.metric)
        : undefined;
      const taus = agreement
        .filter((a) =>
          a.model === table.model && (a.metricA === metric.metric || a.metricB === metric.metric)
        )
        .map((a) => a.tauOverall)
        .filter((t) => !Number.isNaN(t));
      return {
        model: table.model,
        metric: metric.metric,
        direction: metric.direction,
        validityReference: row?.reference ?? reference,
        validityTau: row?.tauOverall ?? NaN,
        validityCiLow: row?.ciLow ?? NaN,
        validityCiHigh: row?.ciHigh ?? NaN,
        validityImages: row?.images ?? 0,
        validityNote: valid && "absent" in valid
          ? valid.absent
          : metric.metric === reference
          ? "the ground-truth reference itself: tau = 1 by construction"
          : "",
        agreementTau: taus.length === 0 ? NaN : taus.reduce((s, t) => s + t, 0) / taus.length,
        agreementMetrics: taus.length,
        ...meta.get(`${table.model}\t${metric.metric}`),
      };
    });
  });
}
