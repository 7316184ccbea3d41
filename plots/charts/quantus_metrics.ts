/**
 * Quantus results per metric: one panel per metric (and model), a bar per method with its 95 %
 * confidence interval, from `results/quantus_summary.csv`.
 *
 * @module
 */
import type { QuantusSummaryRow } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import {
  SIGNIFICANCE_NOTE,
  significanceLayer,
  type SignificanceMark,
  withSignificance,
} from "./significance_marks.ts";
import {
  AXIS_NUMBER_FORMAT,
  CHART_CONFIG,
  chartTitle,
  legendSelection,
  methodColour,
  numberTip,
} from "./theme.ts";

/**
 * The rows as chart data: raw numbers, and the panel title naming the metric, which way is
 * better and, when the rows hold more than one model, the model.
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
  const severalModels = new Set(rows.map((r) => r.model)).size > 1;
  return rows.map((r) => ({
    model: r.model,
    method: r.method,
    metric: r.metric,
    label: r.label,
    category: r.category,
    direction: r.direction,
    panel: `${severalModels ? `${r.model}: ` : ""}${r.label} (${r.direction} is better)`,
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
 * Vega-Lite transforms that give each row of a panel its `note`: empty when the panel's means
 * differ, else what is wrong with it ("no variation: every mean = 0", "no finite mean"), so
 * a panel with nothing to compare says so inside itself instead of standing empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { panelNoteTransforms } from "./quantus_metrics.ts";
 * assert(JSON.stringify(panelNoteTransforms("panel")).includes("no variation"));
 * ```
 */
export function panelNoteTransforms(panelField: string) {
  return [
    {
      joinaggregate: [
        { op: "min" as const, field: "mean", as: "panel_min" },
        { op: "max" as const, field: "mean", as: "panel_max" },
        { op: "valid" as const, field: "mean", as: "panel_valid" },
      ],
      groupby: [panelField],
    },
    {
      calculate: "datum.panel_valid === 0 ? 'no finite mean: every image scored NaN' : " +
        "datum.panel_min === datum.panel_max ? 'no variation: every mean = ' + " +
        `format(datum.panel_min, '${AXIS_NUMBER_FORMAT}') : ''`,
      as: "note",
    },
  ];
}

/**
 * The layer writing a panel's note (see {@link panelNoteTransforms}) inside it, once, at the
 * top centre of a panel `widthPx` wide.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { panelNoteLayer } from "./quantus_metrics.ts";
 * assert(panelNoteLayer("panel", 200).encoding.x.value === 100);
 * ```
 */
export function panelNoteLayer(panelField: string, widthPx: number) {
  return {
    transform: [
      { filter: "datum.note !== ''" },
      { window: [{ op: "row_number" as const, as: "note_rank" }], groupby: [panelField] },
      { filter: "datum.note_rank === 1" },
    ],
    mark: { type: "text" as const, fontSize: 11, color: "#555", baseline: "top" as const },
    encoding: {
      x: { value: widthPx / 2 },
      y: { value: 8 },
      color: { value: "#555" },
      text: { field: "note", type: "nominal" as const },
    },
  };
}

const PANEL_WIDTH_PX = 200;

/**
 * Bars of each metric's mean with 95 % CI whiskers, one panel per metric (and model, when
 * there are several), each with its own y scale and its own method axis; one colour per
 * method, as in every chart. A panel whose means do not differ says so inside it. With `marks`
 * (from the method comparisons), each bar carries its rank-group letters and a `*` when it is
 * the best or not significantly worse (`significance_marks.ts`).
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
export function quantusMetricsChart(
  rows: readonly QuantusSummaryRow[],
  marks?: readonly SignificanceMark[],
): ChartSpec {
  const pick = legendSelection("method");
  const colour = methodColour(rows.map((r) => r.method));
  const x = {
    field: "method",
    type: "nominal" as const,
    title: null,
    sort: colour.scale.domain,
    axis: { labelAngle: -30 },
  };
  const yAxis = { format: AXIS_NUMBER_FORMAT, tickCount: 5 };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(
        "Quantus results per metric",
        marks
          ? ["mean over test images, whiskers: 95% CI", SIGNIFICANCE_NOTE]
          : "mean over test images, whiskers: 95% CI",
      ),
      config: CHART_CONFIG,
      data: { values: marks ? withSignificance(summaryValues(rows), marks) : summaryValues(rows) },
      facet: {
        field: "panel",
        type: "nominal",
        title: null,
        header: { labelFontSize: 12, labelLimit: 0 },
      },
      columns: 3,
      resolve: {
        scale: { y: "independent", x: "independent" },
        axis: { x: "independent", y: "independent" },
      },
      spec: {
        width: PANEL_WIDTH_PX,
        height: 150,
        transform: panelNoteTransforms("panel"),
        layer: [
          {
            params: pick.params,
            mark: "bar",
            encoding: {
              x,
              y: { field: "mean", type: "quantitative", title: "mean", axis: yAxis },
              color: colour,
              opacity: pick.opacity,
              tooltip: SUMMARY_TOOLTIP,
            },
          },
          {
            mark: { type: "rule", color: "black" },
            encoding: {
              x,
              y: { field: "ci95_low", type: "quantitative" },
              y2: { field: "ci95_high" },
              tooltip: SUMMARY_TOOLTIP,
            },
          },
          panelNoteLayer("panel", PANEL_WIDTH_PX),
          ...(marks ? [significanceLayer(x)] : []),
        ],
      },
    },
  };
}
