/**
 * Significance marks for the summary chart (`quantus_metrics.ts`): above each bar, the method's
 * rank-group letters on that metric (methods sharing a letter do not differ significantly,
 * from `results/quantus_comparisons.csv`), and a `*` on the best mean and on every method whose
 * difference from the best is not significant: the methods the data cannot rank below the best.
 *
 * @module
 */
import { type MethodComparison, rankMethods } from "../../metrics/comparisons.ts";
import type { QuantusSummaryRow } from "../inputs.ts";

/** One method's mark on one metric of one model. */
export interface SignificanceMark {
  model: string;
  metric: string;
  method: string;
  /** Rank-group letters, e.g. `ab`. */
  letters: string;
  /** The best mean, or not significantly different from it (Holm-corrected). */
  tiedWithBest: boolean;
}

/** The subtitle line the marks add to the chart. */
export const SIGNIFICANCE_NOTE =
  "letters: rank groups (Wilcoxon, Holm p < 0.05); *: best or not significantly worse";

/**
 * The marks of every model and metric of `rows` that `comparisons` cover, the methods ranked
 * by mean (direction-aware).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { significanceMarks } from "./significance_marks.ts";
 * const row = (method: string, mean: number) => ({ model: "m", method, metric: "x", label: "X",
 *   category: "complexity", direction: "higher" as const, n: 9, mean, std: 0, ci95Low: mean,
 *   ci95High: mean, nanCount: 0 });
 * const pair = (methodA: string, methodB: string, better: string) => ({ model: "m", metric: "x",
 *   methodA, methodB, n: 9, meanDiff: 0, ciLow: 0, ciHigh: 0, p: 0, pHolm: 0, better });
 * // a is best; b does not differ from a, c is worse than a (and than nothing else).
 * const marks = significanceMarks(
 *   [row("a", 3), row("b", 2), row("c", 1)],
 *   [pair("a", "b", ""), pair("a", "c", "a"), pair("b", "c", "")],
 * );
 * assert(marks.map((m) => `${m.method}:${m.letters}${m.tiedWithBest ? "*" : ""}`).join() === "a:a*,b:ab*,c:b");
 * ```
 */
export function significanceMarks(
  rows: readonly QuantusSummaryRow[],
  comparisons: readonly MethodComparison[],
): SignificanceMark[] {
  const keys = [...new Set(comparisons.map((c) => `${c.model}\t${c.metric}`))];
  return keys.flatMap((key) => {
    const [model, metric] = key.split("\t");
    const mine = rows.filter((r) => r.model === model && r.metric === metric);
    if (mine.length === 0) return [];
    const pairs = comparisons.filter((c) => c.model === model && c.metric === metric);
    const ranked = rankMethods(mine, mine[0].direction, pairs);
    const best = ranked[0]?.method;
    const differsFromBest = (method: string) =>
      pairs.some((c) =>
        c.better !== "" &&
        ((c.methodA === best && c.methodB === method) ||
          (c.methodB === best && c.methodA === method))
      );
    return ranked.map((r) => ({
      model,
      metric,
      method: r.method,
      letters: r.letters,
      tiedWithBest: !differsFromBest(r.method),
    }));
  });
}

/**
 * Summary chart values with their mark: `significance` (letters, `*` when tied with the best;
 * "" where the metric has no comparisons) and `significance_y`, the top of the bar or its
 * whisker, where the mark sits.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { withSignificance } from "./significance_marks.ts";
 * const [v] = withSignificance(
 *   [{ model: "m", metric: "x", method: "a", mean: 2, ci95_high: 3 }],
 *   [{ model: "m", metric: "x", method: "a", letters: "a", tiedWithBest: true }],
 * );
 * assert(v.significance === "a*" && v.significance_y === 3);
 * ```
 */
export function withSignificance<
  T extends { model: string; metric: string; method: string; mean: number | null },
>(
  values: readonly (T & { ci95_high: number | null })[],
  marks: readonly SignificanceMark[],
): (T & { significance: string; significance_y: number | null })[] {
  const byKey = new Map(marks.map((m) => [`${m.model}\t${m.metric}\t${m.method}`, m]));
  return values.map((v) => {
    const mark = byKey.get(`${v.model}\t${v.metric}\t${v.method}`);
    const tops = [v.mean, v.ci95_high].filter((x): x is number => x !== null);
    return {
      ...v,
      significance: mark ? `${mark.letters}${mark.tiedWithBest ? "*" : ""}` : "",
      significance_y: tops.length === 0 ? null : Math.max(...tops),
    };
  });
}

/**
 * The layer writing each bar's mark above it, on the bar chart's method axis `x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { significanceLayer } from "./significance_marks.ts";
 * assert(significanceLayer({ field: "method" }).encoding.text.field === "significance");
 * ```
 */
export function significanceLayer<X>(x: X) {
  return {
    transform: [{ filter: "datum.significance && isValid(datum.significance_y)" }],
    mark: { type: "text" as const, fontSize: 10, baseline: "bottom" as const, dy: -2 },
    encoding: {
      x,
      y: { field: "significance_y", type: "quantitative" as const },
      text: { field: "significance", type: "nominal" as const },
      color: { value: "#333" },
    },
  };
}
