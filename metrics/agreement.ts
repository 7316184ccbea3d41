/**
 * Whether the metrics agree on which method is better: for one model, Kendall's τ-b between
 * the rankings of its methods by every pair of metrics, with lower-is-better metrics flipped
 * first so that τ = 1 means "the two metrics order the methods alike".
 *
 * Overall, methods are ranked by their mean score on each metric. Per image, they are ranked by
 * their scores on that image (the methods with a score on both metrics there, at least two), and
 * the τ are averaged over the images where τ is defined: per-image agreement is usually lower,
 * since means smooth out the noise of single images.
 *
 * @module
 */
import { kendallTauB } from "../statistics/kendall_tau.ts";
import { finiteMean, type MetricScores, type ModelScores } from "./comparisons.ts";

/** The columns of `quantus_agreement.csv`: one row per model and pair of metrics. */
export const QUANTUS_AGREEMENT_COLUMNS = [
  "model",
  "metric_a",
  "metric_b",
  "methods",
  "tau_overall",
  "images",
  "tau_per_image",
] as const;

/** One row of `quantus_agreement.csv`. */
export interface MetricAgreement {
  model: string;
  metricA: string;
  metricB: string;
  /** Methods with a finite mean on both metrics (those ranked overall). */
  methods: number;
  /** τ-b between the rankings by mean; NaN below two methods or when a side is all equal. */
  tauOverall: number;
  /** Images whose per-image τ is defined. */
  images: number;
  /** Mean of the per-image τ-b; NaN when no image has one. */
  tauPerImage: number;
}

/** Scores oriented so that larger is better. */
function oriented(metric: MetricScores, value: number): number {
  return metric.direction === "higher" ? value : -value;
}

/**
 * Kendall's τ between every pair of the model's metrics (A before B in `metrics` order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metricAgreement } from "./agreement.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const agreement = metricAgreement({
 *   model: "m", images: ["i1", "i2"], methods: ["a", "b", "c"],
 *   metrics: [
 *     { metric: "faith", direction: "higher", scores: new Map([["a", up(1, 1)], ["b", up(2, 2)], ["c", up(3, 3)]]) },
 *     // lower is better and it puts c first too: the two agree once flipped.
 *     { metric: "noise", direction: "lower", scores: new Map([["a", up(9, 9)], ["b", up(5, 5)], ["c", up(1, 1)]]) },
 *   ],
 * });
 * assert(agreement[0].tauOverall === 1 && agreement[0].tauPerImage === 1 && agreement[0].images === 2);
 * ```
 */
export function metricAgreement(table: ModelScores): MetricAgreement[] {
  const rows: MetricAgreement[] = [];
  for (const [i, a] of table.metrics.entries()) {
    for (const b of table.metrics.slice(i + 1)) {
      const methods = table.methods.filter((m) => a.scores.has(m) && b.scores.has(m));
      const means = methods
        .map((m) => [finiteMean(a.scores.get(m)!), finiteMean(b.scores.get(m)!)])
        .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const tauOverall = kendallTauB(
        means.map(([x]) => oriented(a, x)),
        means.map(([, y]) => oriented(b, y)),
      );
      let sum = 0, images = 0;
      for (let k = 0; k < table.images.length; k++) {
        const pairs = methods
          .map((m) => [a.scores.get(m)![k], b.scores.get(m)![k]])
          .filter(([x, y]) => !Number.isNaN(x) && !Number.isNaN(y));
        const tau = kendallTauB(
          pairs.map(([x]) => oriented(a, x)),
          pairs.map(([, y]) => oriented(b, y)),
        );
        if (Number.isNaN(tau)) continue;
        sum += tau;
        images++;
      }
      rows.push({
        model: table.model,
        metricA: a.metric,
        metricB: b.metric,
        methods: means.length,
        tauOverall,
        images,
        tauPerImage: images === 0 ? NaN : sum / images,
      });
    }
  }
  return rows;
}
