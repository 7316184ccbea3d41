/**
 * The sanity checks of one model (`sanity/sanity_summary.csv`): per method, the mean
 * similarity of the permuted-label model's maps to the real model's beside the mean similarity
 * between seeds, each with its bootstrap 95 % interval, Spearman and SSIM side by side. A
 * method passes where its permuted-label point lies clearly left of its seeds point.
 *
 * @module
 */
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, legendSelection, numberTip } from "./theme.ts";

/** One point: a method's mean similarity in one comparison. */
export interface SanityPoint {
  method: string;
  statistic: string;
  /** `permuted labels` or `seeds`. */
  comparison: string;
  mean: number;
  low: number;
  high: number;
  verdict: string;
}

/**
 * The dot-and-interval chart of `model`'s points, one row per method, one column per statistic.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanitySimilarityChart } from "./sanity_similarity.ts";
 * const point = { method: "saliency", statistic: "spearman", comparison: "seeds", mean: 0.8,
 *   low: 0.7, high: 0.9, verdict: "passes" };
 * const chart = sanitySimilarityChart("ecgnet", [point, { ...point, comparison: "permuted labels", mean: 0.1 }]);
 * assert(JSON.stringify(chart.spec).includes('"permuted labels"'));
 * ```
 */
export function sanitySimilarityChart(model: string, points: readonly SanityPoint[]): ChartSpec {
  const pick = legendSelection("comparison");
  const colour = {
    field: "comparison",
    type: "nominal" as const,
    scale: { domain: ["permuted labels", "seeds"], range: ["#e45756", "#4c78a8"] },
  };
  const y = { field: "method", type: "nominal" as const, title: null };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(
        `Sanity checks: ${model}`,
        "similarity to the real model's maps: permuted-label model vs other seeds (mean, 95% CI)",
      ),
      config: CHART_CONFIG,
      data: { values: points.map((p) => ({ ...p })) },
      facet: { column: { field: "statistic", type: "nominal", title: null } },
      spec: {
        width: 220,
        height: { step: 22 },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 2 },
            encoding: {
              y,
              yOffset: { field: "comparison" },
              x: { field: "low", type: "quantitative", title: "similarity" },
              x2: { field: "high" },
              color: colour,
              opacity: pick.opacity,
            },
          },
          {
            // The legend selection lives in one layer; a faceted layer chart may define it once.
            params: pick.params,
            mark: { type: "point", filled: true, size: 50 },
            encoding: {
              y,
              yOffset: { field: "comparison" },
              x: { field: "mean", type: "quantitative", scale: { domain: [-1, 1] } },
              color: colour,
              opacity: pick.opacity,
              tooltip: [
                { field: "method" },
                { field: "comparison" },
                numberTip("mean", "mean"),
                numberTip("low", "95% CI low"),
                numberTip("high", "95% CI high"),
                { field: "verdict" },
              ],
            },
          },
        ],
      },
    },
  };
}
