/**
 * Which explanation method is better on a metric: every pair of methods compared on the same
 * images, and the methods ranked into groups that the data cannot tell apart.
 *
 * For one model and metric, each pair (A, B) gets the mean of the per-image differences A − B
 * over the images where both have a score, its paired bootstrap 95 % interval, and the two-sided
 * Wilcoxon signed-rank p-value (as scipy computes it, see `statistics/wilcoxon.ts`); Holm's
 * correction then runs over the pairs of that model and metric. A pair whose Holm-adjusted p is
 * below {@link SIGNIFICANCE_LEVEL} names the better method, direction-aware: for a
 * lower-is-better metric the method with the lower scores wins.
 *
 * @module
 */
import type { Random } from "../core/random.ts";
import { holmAdjust } from "../statistics/holm.ts";
import { pairedBootstrap, pairedDifferences } from "../statistics/paired.ts";
import { groupLetters, rankGroups } from "../statistics/rank_groups.ts";
import { wilcoxonSignedRank } from "../statistics/wilcoxon.ts";
import type { ScoreDirection } from "./metric.ts";
import { BOOTSTRAP_RESAMPLES } from "./summary.ts";

/** The columns of `quantus_comparisons.csv`: one row per model, metric and pair of methods. */
export const QUANTUS_COMPARISON_COLUMNS = [
  "model",
  "metric",
  "method_a",
  "method_b",
  "n",
  "mean_diff",
  "ci_low",
  "ci_high",
  "p",
  "p_holm",
  "better",
] as const;

/** The family-wise error rate of the Holm-corrected tests of one model and metric. */
export const SIGNIFICANCE_LEVEL = 0.05;

/** One metric's per-image scores of one model's methods. */
export interface MetricScores {
  /** Snake-case metric id. */
  metric: string;
  direction: ScoreDirection;
  /** Per method, its scores over the model's images, in one order for all methods; NaN where
   * the metric is undefined or the image was not scored. Methods without the metric are absent. */
  scores: Map<string, Float64Array>;
}

/** One model's scores: every metric, methods in the order they are compared. */
export interface ModelScores {
  model: string;
  /** Image ids, the order of every score array. */
  images: string[];
  methods: string[];
  metrics: MetricScores[];
}

/** One row of `quantus_comparisons.csv`. */
export interface MethodComparison {
  model: string;
  metric: string;
  methodA: string;
  methodB: string;
  /** Images where both methods have a score (the rest are left out of this pair). */
  n: number;
  /** Mean of the per-image differences A − B. */
  meanDiff: number;
  /** Paired bootstrap 95 % interval of `meanDiff`. */
  ciLow: number;
  ciHigh: number;
  /** Two-sided Wilcoxon signed-rank p-value. */
  p: number;
  /** `p` after Holm's correction over the pairs of this model and metric. */
  pHolm: number;
  /** The better method when `pHolm` < {@link SIGNIFICANCE_LEVEL}, else "". */
  better: string;
}

/**
 * Every pair of methods (in `methods` order, A before B) compared on one metric. The bootstrap
 * stream of each pair is forked from `random` by model, metric and the two methods, so a row
 * does not change when other methods or metrics are added. The better method follows the
 * Wilcoxon statistic: A is higher when its positive-difference ranks outweigh the negative ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { compareMethods } from "./comparisons.ts";
 * const a = Float64Array.from({ length: 10 }, (_, i) => i + 1); // always 1 above b
 * const b = a.map((x) => x - 1);
 * const scores = new Map([["a", a], ["b", b]]);
 * const [row] = compareMethods(
 *   "m", ["a", "b"], { metric: "x", direction: "lower", scores }, new SeededRandom(1),
 * );
 * assert(row.n === 10 && row.meanDiff === 1 && row.p === 2 / 1024);
 * assert(row.better === "b"); // lower is better
 * ```
 */
export function compareMethods(
  model: string,
  methods: readonly string[],
  metric: MetricScores,
  random: Random,
): MethodComparison[] {
  const present = methods.filter((m) => metric.scores.has(m));
  const rows: (Omit<MethodComparison, "pHolm" | "better"> & { aHigher: boolean })[] = [];
  for (const [i, methodA] of present.entries()) {
    for (const methodB of present.slice(i + 1)) {
      const a = metric.scores.get(methodA)!, b = metric.scores.get(methodB)!;
      const stream = random.fork(`${model}/${metric.metric}/${methodA}/${methodB}`);
      const { n, meanDiff, ciLow, ciHigh } = pairedBootstrap(a, b, stream, BOOTSTRAP_RESAMPLES);
      const test = wilcoxonSignedRank(pairedDifferences(a, b).differences);
      const aHigher = test.rPlus > test.rMinus;
      rows.push({
        model,
        metric: metric.metric,
        methodA,
        methodB,
        n,
        meanDiff,
        ciLow,
        ciHigh,
        p: test.p,
        aHigher,
      });
    }
  }
  const adjusted = holmAdjust(rows.map((r) => r.p));
  return rows.map(({ aHigher, ...row }, k) => {
    const aWins = aHigher === (metric.direction === "higher");
    const better = adjusted[k] < SIGNIFICANCE_LEVEL ? (aWins ? row.methodA : row.methodB) : "";
    return { ...row, pHolm: adjusted[k], better };
  });
}

/** A method's place on one metric. */
export interface RankedMethod {
  method: string;
  mean: number;
  /** 1 for the best mean, direction-aware. */
  rank: number;
  /** Its rank groups, 0-based: methods sharing a group do not differ significantly. */
  groups: number[];
  /** The groups as letters, e.g. `ab`: methods sharing a letter do not differ significantly. */
  letters: string;
}

/**
 * The methods with a finite mean, best first (by mean, direction-aware), with their rank groups
 * from the pairs `comparisons` found significant (rows naming a `better` method).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rankMethods } from "./comparisons.ts";
 * const ranked = rankMethods(
 *   [{ method: "a", mean: 0.2 }, { method: "b", mean: 0.9 }, { method: "c", mean: 0.5 }],
 *   "higher",
 *   [{ methodA: "a", methodB: "b", better: "b" }], // only b vs a is significant
 * );
 * assert(ranked.map((r) => `${r.method}:${r.letters}`).join() === "b:a,c:ab,a:b");
 * ```
 */
export function rankMethods(
  means: readonly { method: string; mean: number }[],
  direction: ScoreDirection,
  comparisons: readonly Pick<MethodComparison, "methodA" | "methodB" | "better">[],
): RankedMethod[] {
  const sign = direction === "higher" ? -1 : 1;
  const ordered = means.filter((m) => Number.isFinite(m.mean))
    .sort((x, y) => sign * (x.mean - y.mean));
  const index = new Map(ordered.map((m, i) => [m.method, i]));
  const differing = comparisons
    .filter((c) => c.better !== "" && index.has(c.methodA) && index.has(c.methodB))
    .map((c): [number, number] => [index.get(c.methodA)!, index.get(c.methodB)!]);
  const groups = rankGroups(ordered.length, differing);
  return ordered.map((m, i) => ({
    method: m.method,
    mean: m.mean,
    rank: i + 1,
    groups: groups[i],
    letters: groupLetters(groups[i]),
  }));
}

/**
 * The mean of the finite values; NaN when there are none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { finiteMean } from "./comparisons.ts";
 * assert(finiteMean([1, NaN, 3]) === 2 && Number.isNaN(finiteMean([NaN])));
 * ```
 */
export function finiteMean(values: ArrayLike<number>): number {
  let sum = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i])) {
      sum += values[i];
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}
