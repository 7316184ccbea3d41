/**
 * Summarising one metric's per-image scores: mean, standard deviation and a 95 % bootstrap
 * confidence interval of the mean, with NaNs counted and left out.
 *
 * @module
 */
import type { Random } from "../core/random.ts";
import { bootstrapMeanInterval } from "../statistics/bootstrap.ts";

/** The columns of `quantus_summary.csv`: one row per model, method and metric. */
export const QUANTUS_SUMMARY_COLUMNS = [
  "model",
  "method",
  "metric",
  "label",
  "category",
  "direction",
  "n",
  "mean",
  "std",
  "ci95_low",
  "ci95_high",
  "nan_count",
] as const;

/** Bootstrap resamples behind each confidence interval. */
export const BOOTSTRAP_RESAMPLES = 1000;

/** A metric's scores over a set of images. */
export interface ScoreSummary {
  /** Finite scores. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); NaN below two scores. */
  std: number;
  /** Percentile bootstrap 95 % interval of the mean; NaN below two scores. */
  ci95Low: number;
  ci95High: number;
  /** Scores that were NaN (undefined for that image). */
  nanCount: number;
}

/**
 * Summarises `scores`; `random` drives the bootstrap (pass a stream forked per metric so the
 * interval is reproducible).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { summariseScores } from "./summary.ts";
 * const s = summariseScores([1, 2, 3, NaN], new SeededRandom(1));
 * assert(s.n === 3 && s.mean === 2 && s.std === 1 && s.nanCount === 1);
 * assert(s.ci95Low >= 1 && s.ci95High <= 3 && s.ci95Low <= 2 && s.ci95High >= 2);
 * ```
 */
export function summariseScores(scores: ArrayLike<number>, random: Random): ScoreSummary {
  const finite = Array.from(scores).filter((s) => !Number.isNaN(s));
  const n = finite.length;
  const nanCount = scores.length - n;
  const mean = n ? finite.reduce((a, b) => a + b, 0) / n : NaN;
  if (n < 2) return { n, mean, std: NaN, ci95Low: NaN, ci95High: NaN, nanCount };
  const std = Math.sqrt(finite.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const { low, high } = bootstrapMeanInterval(finite, random, BOOTSTRAP_RESAMPLES);
  return { n, mean, std, ci95Low: low, ci95High: high, nanCount };
}
