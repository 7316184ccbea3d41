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
 * Every image index of a model's score arrays, in order: the `images` argument of
 * {@link overallTau} and {@link perImageTaus} for all of a model's images.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allImages } from "./agreement.ts";
 * assert(allImages({ images: ["a", "b", "c"] }).join() === "0,1,2");
 * ```
 */
export function allImages(table: Pick<ModelScores, "images">): Int32Array {
  return Int32Array.from(table.images, (_, k) => k);
}

/**
 * Kendall's τ-b between the rankings of `methods` by their means on metric `a` and on metric `b`
 * (oriented, larger is better), the means taken over the image indices `images` (repeats count,
 * as in a bootstrap resample); methods without a finite mean on both are left out. NaN below two
 * methods or when a side is all equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { overallTau } from "./agreement.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const a = { metric: "a", direction: "higher" as const, scores: new Map([["x", up(1, 0)], ["y", up(0, 3)]]) };
 * const b = { metric: "b", direction: "lower" as const, scores: new Map([["x", up(1, 1)], ["y", up(0, 0)]]) };
 * // By means y is above x on both (b flipped); on image 0 alone a puts x first.
 * assert(overallTau(a, b, ["x", "y"], [0, 1]).tau === 1 && overallTau(a, b, ["x", "y"], [0]).tau === -1);
 * ```
 */
export function overallTau(
  a: MetricScores,
  b: MetricScores,
  methods: readonly string[],
  images: ArrayLike<number>,
): { methods: number; tau: number } {
  const mean = (scores: Float64Array) => finiteMean(Array.from(images, (k) => scores[k]));
  const means = methods
    .filter((m) => a.scores.has(m) && b.scores.has(m))
    .map((m) => [mean(a.scores.get(m)!), mean(b.scores.get(m)!)])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const tau = kendallTauB(
    means.map(([x]) => oriented(a, x)),
    means.map(([, y]) => oriented(b, y)),
  );
  return { methods: means.length, tau };
}

/**
 * Per image of `images`, Kendall's τ-b between the orders metrics `a` and `b` give the methods
 * scored on both there (oriented, larger is better); NaN where fewer than two methods are
 * scored on both or a side is all equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { perImageTaus } from "./agreement.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const a = { metric: "a", direction: "higher" as const, scores: new Map([["x", up(1, 0)], ["y", up(0, 3)]]) };
 * const b = { metric: "b", direction: "higher" as const, scores: new Map([["x", up(1, 5)], ["y", up(0, NaN)]]) };
 * const taus = perImageTaus(a, b, ["x", "y"], [0, 1]);
 * assert(taus[0] === 1 && Number.isNaN(taus[1])); // on image 1 only x has both scores
 * ```
 */
export function perImageTaus(
  a: MetricScores,
  b: MetricScores,
  methods: readonly string[],
  images: ArrayLike<number>,
): Float64Array {
  const both = methods.filter((m) => a.scores.has(m) && b.scores.has(m));
  return Float64Array.from(images, (k) => {
    const pairs = both
      .map((m) => [a.scores.get(m)![k], b.scores.get(m)![k]])
      .filter(([x, y]) => !Number.isNaN(x) && !Number.isNaN(y));
    return kendallTauB(
      pairs.map(([x]) => oriented(a, x)),
      pairs.map(([, y]) => oriented(b, y)),
    );
  });
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
  const images = allImages(table);
  return table.metrics.flatMap((a, i) =>
    table.metrics.slice(i + 1).map((b) => {
      const overall = overallTau(a, b, table.methods, images);
      const taus = perImageTaus(a, b, table.methods, images);
      return {
        model: table.model,
        metricA: a.metric,
        metricB: b.metric,
        methods: overall.methods,
        tauOverall: overall.tau,
        images: taus.filter((t) => !Number.isNaN(t)).length,
        tauPerImage: finiteMean(taus),
      };
    })
  );
}
