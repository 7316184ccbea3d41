/**
 * Faithfulness against sensitivity, one point per model and method, and the sensitivity trend
 * across models, from `results/quantus_summary.csv`.
 *
 * @module
 */
import type { QuantusSummaryRow } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import {
  panelNoteLayer,
  panelNoteTransforms,
  SUMMARY_TOOLTIP,
  summaryValues,
} from "./quantus_metrics.ts";
import {
  AXIS_NUMBER_FORMAT,
  CHART_CONFIG,
  chartTitle,
  legendSelection,
  methodColour,
  numberTip,
} from "./theme.ts";

/** Metric ids tried first, in order, for each axis. */
const PREFERRED = {
  faithfulness: ["faithfulness_correlation", "faithfulness_estimate"],
  sensitivity: ["max_sensitivity", "avg_sensitivity"],
};

function pickMetric(
  rows: readonly QuantusSummaryRow[],
  preferred: readonly string[],
  fits: (r: QuantusSummaryRow) => boolean,
): QuantusSummaryRow | undefined {
  return preferred.map((id) => rows.find((r) => r.metric === id)).find((r) => r) ??
    rows.find(fits);
}

/**
 * The faithfulness metric of the scatter's x axis (faithfulness_correlation when present, else
 * the first faithfulness metric), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { faithfulnessMetric } from "./quantus_scatter.ts";
 * assert(faithfulnessMetric([]) === undefined);
 * ```
 */
export function faithfulnessMetric(
  rows: readonly QuantusSummaryRow[],
): QuantusSummaryRow | undefined {
  return pickMetric(rows, PREFERRED.faithfulness, (r) => r.category === "faithfulness");
}

/**
 * The sensitivity metrics (ids containing `sensitivity`: max_sensitivity, avg_sensitivity),
 * preferred one first.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sensitivityMetrics } from "./quantus_scatter.ts";
 * const r = { model: "m", method: "a", label: "L", category: "robustness", direction: "lower" as const,
 *   n: 1, mean: 1, std: 0, ci95Low: 1, ci95High: 1, nanCount: 0 };
 * assert(sensitivityMetrics([{ ...r, metric: "avg_sensitivity" }, { ...r, metric: "max_sensitivity" }])[0] === "max_sensitivity");
 * ```
 */
export function sensitivityMetrics(rows: readonly QuantusSummaryRow[]): string[] {
  const ids = [...new Set(rows.map((r) => r.metric).filter((m) => m.includes("sensitivity")))];
  const rank = (m: string) => {
    const i = PREFERRED.sensitivity.indexOf(m);
    return i < 0 ? PREFERRED.sensitivity.length : i;
  };
  return ids.sort((a, b) => rank(a) - rank(b));
}

/**
 * The scatter of faithfulness (x) against sensitivity (y), or undefined when the summary lacks
 * either kind of metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusScatterChart } from "./quantus_scatter.ts";
 * const r = { model: "m", method: "a", category: "robustness", n: 1, std: 0, ci95Low: 1, ci95High: 1, nanCount: 0 };
 * const chart = quantusScatterChart([
 *   { ...r, metric: "max_sensitivity", label: "MaxSensitivity", direction: "lower", mean: 0.2 },
 *   { ...r, metric: "faithfulness_correlation", label: "FaithfulnessCorrelation", category: "faithfulness", direction: "higher", mean: 0.3 },
 * ]);
 * assert(chart !== undefined && JSON.stringify(chart.spec).includes("MaxSensitivity"));
 * ```
 */
export function quantusScatterChart(rows: readonly QuantusSummaryRow[]): ChartSpec | undefined {
  const faith = faithfulnessMetric(rows);
  const sensitivityId = sensitivityMetrics(rows)[0];
  if (!faith || !sensitivityId) return undefined;
  const sens = rows.find((r) => r.metric === sensitivityId)!;
  const byKey = (metric: string) =>
    new Map(rows.filter((r) => r.metric === metric).map((r) => [`${r.model}\t${r.method}`, r]));
  const sensitivity = byKey(sens.metric);
  const values = [...byKey(faith.metric)].flatMap(([key, f]) => {
    const s = sensitivity.get(key);
    if (!s || !Number.isFinite(f.mean) || !Number.isFinite(s.mean)) return [];
    return [{ model: f.model, method: f.method, faithfulness: f.mean, sensitivity: s.mean }];
  });
  const pick = legendSelection("method");
  const axisTitle = (r: QuantusSummaryRow) => `${r.label} (${r.direction} is better)`;
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(
        "Faithfulness vs sensitivity",
        "one point per model and method; best corner: high faithfulness, low sensitivity",
      ),
      config: CHART_CONFIG,
      data: { values },
      width: 380,
      height: 280,
      params: pick.params,
      mark: { type: "point", filled: true, size: 90 },
      encoding: {
        x: {
          field: "faithfulness",
          type: "quantitative",
          title: axisTitle(faith),
          scale: { zero: false, padding: 12 },
          axis: { format: AXIS_NUMBER_FORMAT, tickCount: 5 },
        },
        y: {
          field: "sensitivity",
          type: "quantitative",
          title: axisTitle(sens),
          scale: { zero: false, padding: 12 },
          axis: { format: AXIS_NUMBER_FORMAT, tickCount: 5 },
        },
        color: methodColour(values.map((v) => v.method)),
        shape: { field: "model", type: "nominal" },
        opacity: pick.opacity,
        tooltip: [
          { field: "model" },
          { field: "method" },
          numberTip("faithfulness", faith.label),
          numberTip("sensitivity", sens.label),
        ],
      },
    },
  };
}

/**
 * Sensitivity of each method across models (models in `modelOrder`), with 95 % CI whiskers;
 * one panel per sensitivity metric. Undefined when the summary has no sensitivity metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sensitivityTrendChart } from "./quantus_scatter.ts";
 * const r = { method: "a", metric: "max_sensitivity", label: "MaxSensitivity", category: "robustness",
 *   direction: "lower" as const, n: 1, std: 0, nanCount: 0 };
 * const chart = sensitivityTrendChart([{ ...r, model: "m1", mean: 1, ci95Low: 0.9, ci95High: 1.1 },
 *   { ...r, model: "m2", mean: 2, ci95Low: 1.9, ci95High: 2.1 }], ["m1", "m2"]);
 * assert(chart !== undefined && JSON.stringify(chart.spec).includes('"line"'));
 * ```
 */
export function sensitivityTrendChart(
  rows: readonly QuantusSummaryRow[],
  modelOrder: readonly string[],
): ChartSpec | undefined {
  const ids = sensitivityMetrics(rows);
  if (ids.length === 0) return undefined;
  const pick = legendSelection("method");
  const x = {
    field: "model",
    type: "nominal" as const,
    sort: [...modelOrder],
    axis: { labelAngle: -30 },
  };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Sensitivity across models", "mean over test images, whiskers: 95% CI"),
      config: CHART_CONFIG,
      data: { values: summaryValues(rows.filter((r) => ids.includes(r.metric))) },
      facet: { field: "panel", type: "nominal", title: null },
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 320,
        height: 220,
        transform: panelNoteTransforms("panel"),
        encoding: { x, color: methodColour(rows.map((r) => r.method)) },
        layer: [
          {
            params: pick.params,
            mark: { type: "line", point: true },
            encoding: {
              y: {
                field: "mean",
                type: "quantitative",
                title: "mean",
                scale: { zero: false },
                axis: { format: AXIS_NUMBER_FORMAT, tickCount: 5 },
              },
              opacity: pick.opacity,
              tooltip: SUMMARY_TOOLTIP,
            },
          },
          {
            mark: "rule",
            encoding: {
              y: { field: "ci95_low", type: "quantitative" },
              y2: { field: "ci95_high" },
              opacity: pick.opacity,
            },
          },
          panelNoteLayer("panel", 320),
        ],
      },
    },
  };
}
