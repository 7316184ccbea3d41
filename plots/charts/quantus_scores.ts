/**
 * Putting Quantus metrics on one scale where larger is better: each metric's means are min-max
 * scaled over every model and method, and flipped when lower is better. The radar and the
 * "XAI quality" axis use this; the raw means stay in every tooltip.
 *
 * @module
 */
import type { QuantusSummaryRow } from "../inputs.ts";

/** A summary row with its oriented score in [0, 1] (1 = best of all rows of that metric). */
export interface OrientedScore {
  model: string;
  method: string;
  metric: string;
  label: string;
  direction: "higher" | "lower";
  mean: number;
  score: number;
}

/**
 * Oriented scores of the rows whose mean is finite. A metric whose means are all equal scores
 * 0.5 everywhere (nothing to tell apart).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { orientedScores } from "./quantus_scores.ts";
 * const row = (method: string, mean: number) => ({
 *   model: "m", method, metric: "max_sensitivity", label: "MaxSensitivity", category: "robustness",
 *   direction: "lower" as const, n: 1, mean, std: 0, ci95Low: mean, ci95High: mean, nanCount: 0,
 * });
 * const s = orientedScores([row("a", 0.1), row("b", 0.5)]);
 * assert(s[0].score === 1 && s[1].score === 0); // lower sensitivity is better
 * ```
 */
export function orientedScores(rows: readonly QuantusSummaryRow[]): OrientedScore[] {
  const range = new Map<string, [number, number]>();
  for (const r of rows) {
    if (!Number.isFinite(r.mean)) continue;
    const [lo, hi] = range.get(r.metric) ?? [Infinity, -Infinity];
    range.set(r.metric, [Math.min(lo, r.mean), Math.max(hi, r.mean)]);
  }
  return rows.filter((r) => Number.isFinite(r.mean)).map((r) => {
    const [lo, hi] = range.get(r.metric)!;
    const up = hi === lo ? 0.5 : (r.mean - lo) / (hi - lo);
    return {
      model: r.model,
      method: r.method,
      metric: r.metric,
      label: r.label,
      direction: r.direction,
      mean: r.mean,
      score: r.direction === "higher" ? up : 1 - up,
    };
  });
}

/**
 * The mean oriented score of each model and method over its metrics: one "XAI quality" number
 * in [0, 1], keyed `model\tmethod`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { xaiQuality } from "./quantus_scores.ts";
 * const q = xaiQuality([
 *   { model: "m", method: "a", metric: "x", label: "X", direction: "higher", mean: 1, score: 1 },
 *   { model: "m", method: "a", metric: "y", label: "Y", direction: "lower", mean: 1, score: 0 },
 * ]);
 * assert(q.get("m\ta")!.quality === 0.5 && q.get("m\ta")!.metrics === 2);
 * ```
 */
export function xaiQuality(
  scores: readonly OrientedScore[],
): Map<string, { model: string; method: string; quality: number; metrics: number }> {
  const sums = new Map<string, { model: string; method: string; sum: number; metrics: number }>();
  for (const s of scores) {
    const key = `${s.model}\t${s.method}`;
    const entry = sums.get(key) ?? { model: s.model, method: s.method, sum: 0, metrics: 0 };
    entry.sum += s.score;
    entry.metrics++;
    sums.set(key, entry);
  }
  return new Map(
    [...sums].map(([key, e]) => [key, {
      model: e.model,
      method: e.method,
      quality: e.sum / e.metrics,
      metrics: e.metrics,
    }]),
  );
}

/**
 * Metrics whose means are all equal over every model and method: nothing to tell apart, so
 * the radar does not draw them and XAI quality leaves them out (their oriented score, 0.5,
 * would read as "average").
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { constantMetrics } from "./quantus_scores.ts";
 * const s = (metric: string, mean: number) =>
 *   ({ model: "m", method: "a", metric, label: metric, direction: "higher" as const, mean, score: 0.5 });
 * assert.deepStrictEqual([...constantMetrics([s("x", 0), s("x", 0), s("y", 1), s("y", 2)])], ["x"]);
 * ```
 */
export function constantMetrics(scores: readonly OrientedScore[]): Set<string> {
  const means = new Map<string, Set<number>>();
  for (const s of scores) means.set(s.metric, (means.get(s.metric) ?? new Set()).add(s.mean));
  return new Set([...means].filter(([, m]) => m.size === 1).map(([metric]) => metric));
}

/** What the oriented scale means, as subtitle lines. */
export const ORIENTED_SCALE_NOTE: readonly string[] = [
  "each metric min-max scaled over all models and methods,",
  "lower-is-better metrics flipped, so larger = better",
];
