/**
 * Quantus results per metric: one panel per metric, a bar per model and method with its 95 %
 * confidence interval, from `results/quantus_summary.csv`.
 *
 * @module
 */
import type { QuantusSummaryRow } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, legendSelection, numberTip } from "./theme.ts";

/**
 * The rows as chart data: raw numbers, and the panel title naming which way is better.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { summaryValues } from "./quantus_metrics.ts";
 * const v = summaryValues([{ model: "m", method: "a", metric: "x", label: "X", category: "complexity",
 *   direction: "lower", n: 2, mean: 1, std: 0, ci95Low: 1, ci95High: 1, nanCount: 0 }]);
 * assert(v[0].panel === "X (lower is better)");
 * ```
 */
export function summaryValues(rows: readonly QuantusSummaryRow[]) {
  return rows.map((r) => ({
    model: r.model,
    method: r.method,
    metric: r.metric,
    label: r.label,
    category: r.category,
    direction: r.direction,
    panel: `${r.label} (${r.direction} is better)`,
    n: r.n,
    mean: Number.isFinite(r.mean) ? r.mean : null,
    std: Number.isFinite(r.std) ? r.std : null,
    ci95_low: Number.isFinite(r.ci95Low) ? r.ci95Low : null,
    ci95_high: Number.isFinite(r.ci95High) ? r.ci95High : null,
    nan_count: r.nanCount,
  }));
}

/** Tooltip of a summary row. */
export const SUMMARY_TOOLTIP = [
  { field: "model" },
  { field: "method" },
  { field: "label", title: "metric" },
  { field: "direction", title: "better when" },
  numberTip("mean", "mean"),
  numberTip("ci95_low", "95% CI low"),
  numberTip("ci95_high", "95% CI high"),
  { field: "n", title: "images" },
  { field: "nan_count", title: "NaN images" },
];

/**
 * Bars of each metric's mean with 95 % CI whiskers, one panel per metric (its own y scale),
 * methods along x, models side by side in colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusMetricsChart } from "./quantus_metrics.ts";
 * const chart = quantusMetricsChart([{ model: "m", method: "a", metric: "x", label: "X",
 *   category: "complexity", direction: "higher", n: 2, mean: 1, std: 0, ci95Low: 0.9, ci95High: 1.1, nanCount: 0 }]);
 * assert(JSON.stringify(chart.spec).includes("ci95_high"));
 * ```
 */
export function quantusMetricsChart(rows: readonly QuantusSummaryRow[]): ChartSpec {
  const pick = legendSelection("model");
  const x = { field: "method", type: "nominal" as const, title: null, axis: { labelAngle: -30 } };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Quantus results per metric", "mean over test images, whiskers: 95% CI"),
      config: CHART_CONFIG,
      data: { values: summaryValues(rows) },
      facet: { field: "panel", type: "nominal", title: null, header: { labelFontSize: 12 } },
      columns: 3,
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 200,
        height: 150,
        encoding: { x, xOffset: { field: "model", type: "nominal" } },
        layer: [
          {
            params: pick.params,
            mark: "bar",
            encoding: {
              y: { field: "mean", type: "quantitative", title: "mean" },
              color: { field: "model", type: "nominal" },
              opacity: pick.opacity,
              tooltip: SUMMARY_TOOLTIP,
            },
          },
          {
            mark: { type: "rule", color: "black" },
            encoding: {
              y: { field: "ci95_low", type: "quantitative" },
              y2: { field: "ci95_high" },
              tooltip: SUMMARY_TOOLTIP,
            },
          },
        ],
      },
    },
  };
}
