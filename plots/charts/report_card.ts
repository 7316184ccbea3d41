/**
 * A report card per metric, for one model: metrics down, the criteria across (validity against
 * ground truth, mean agreement with the other metrics, MetaQuantus's noise resilience and
 * reactivity), from `results/quantus_report_card.csv`. τ on a diverging red-blue scale from −1
 * to 1; a criterion that is absent or not computed is a grey cell saying so.
 *
 * @module
 */
import { NOT_COMPUTED, type ReportCard } from "../../metrics/report_card.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, numberTip } from "./theme.ts";

/** One cell: a metric on one criterion. */
export interface ReportCardCell {
  /** The metric's label with its direction, e.g. `Sparseness (higher)`. */
  metric: string;
  criterion: string;
  /** What the colour shows; null where absent or not computed. */
  value: number | null;
  /** The cell's text: the value (with its 95 % CI for validity), or why there is none. */
  text: string;
  /** The longer why (the card's validity note), for the tooltip. */
  note: string;
}

/** One criterion column: the longest header, "validity (tau vs ground truth)", fits in full. */
const CRITERION_WIDTH_PX = 240;

/** The criteria, in column order. */
export const REPORT_CARD_CRITERIA = [
  "validity (tau vs ground truth)",
  "agreement (mean tau)",
  "noise resilience",
  "reactivity",
] as const;

const two = (x: number) => x.toFixed(2);

/**
 * The cells of `model`'s cards, metrics named by `labels` (metric id → label; the id where
 * missing) in card order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportCardCells } from "./report_card.ts";
 * const cells = reportCardCells("m", [{ model: "m", metric: "x", direction: "higher",
 *   validityReference: "relevance_mass_accuracy", validityTau: 0.5, validityCiLow: 0.25,
 *   validityCiHigh: 0.75, validityImages: 9, validityNote: "", agreementTau: NaN,
 *   agreementMetrics: 0 }], new Map([["x", "X"]]));
 * assert(cells[0].metric === "X (higher)" && cells[0].text === "0.50 [0.25, 0.75]");
 * assert(cells[1].value === null && cells[1].text === "no other metric");
 * assert(cells[2].text === "not computed" && cells[3].text === "not computed");
 * ```
 */
export function reportCardCells(
  model: string,
  cards: readonly ReportCard[],
  labels: ReadonlyMap<string, string>,
): ReportCardCell[] {
  return cards.filter((c) => c.model === model).flatMap((c) => {
    const metric = `${labels.get(c.metric) ?? c.metric} (${c.direction})`;
    const validity = Number.isFinite(c.validityTau)
      ? {
        value: c.validityTau,
        text: `${two(c.validityTau)} [${two(c.validityCiLow)}, ${two(c.validityCiHigh)}]`,
      }
      : { value: null, text: c.validityNote === "" ? "undefined" : "absent" };
    const agreement = Number.isFinite(c.agreementTau)
      ? { value: c.agreementTau, text: `${two(c.agreementTau)} (${c.agreementMetrics})` }
      : { value: null, text: "no other metric" };
    const criterion = (value: number | undefined) =>
      value === undefined ? { value: null, text: NOT_COMPUTED } : { value, text: two(value) };
    const values = [
      validity,
      agreement,
      criterion(c.noiseResilience),
      criterion(c.reactivity),
    ];
    const note = c.validityNote === ""
      ? `validity against ${c.validityReference} over ${c.validityImages} image(s)`
      : c.validityNote;
    return values.map((v, k) => ({ metric, criterion: REPORT_CARD_CRITERIA[k], ...v, note }));
  });
}

/**
 * The heatmap of {@link reportCardCells}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportCardChart } from "./report_card.ts";
 * const chart = reportCardChart("m", [{ metric: "X (higher)", criterion: "agreement (mean tau)",
 *   value: 0.5, text: "0.50 (3)", note: "" }]);
 * assert(JSON.stringify(chart.spec).includes("redblue"));
 * ```
 */
export function reportCardChart(model: string, cells: readonly ReportCardCell[]): ChartSpec {
  const metrics = [...new Set(cells.map((c) => c.metric))];
  const tooltip = [
    { field: "metric" },
    { field: "criterion" },
    numberTip("value", "tau", 3),
    { field: "text", title: "cell" },
    { field: "note" },
  ];
  const text = {
    mark: { type: "text" as const, fontSize: 10 },
    encoding: {
      text: { field: "text", type: "nominal" as const },
      color: {
        condition: { test: "datum.value !== null && abs(datum.value) > 0.6", value: "white" },
        value: "black",
      },
      tooltip,
    },
  };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(`Metric report card: ${model}`, [
        "validity: Kendall's tau with the ground-truth ranking of the methods [95% CI];",
        "agreement: mean tau with the other metrics (how many); noise resilience, reactivity:",
        "MetaQuantus's criteria in [0, 1] (deno task meta); grey: absent or not computed",
      ]),
      config: CHART_CONFIG,
      data: { values: cells.map((c) => ({ ...c })) },
      // Wide enough for the longest criterion and metric names in full (a paper figure: no
      // truncated label).
      width: CRITERION_WIDTH_PX * REPORT_CARD_CRITERIA.length,
      height: 24 * metrics.length,
      encoding: {
        x: {
          field: "criterion",
          type: "nominal",
          sort: [...REPORT_CARD_CRITERIA],
          title: null,
          // No limit: Vega's width estimate without a canvas (about 0.8 em a character) cut
          // headers that fit.
          axis: { orient: "top", labelAngle: 0, labelLimit: 0 },
        },
        y: {
          field: "metric",
          type: "nominal",
          sort: metrics,
          title: null,
          axis: { labelLimit: 0 },
        },
      },
      layer: [
        { mark: { type: "rect", color: "#eee" }, encoding: { tooltip } },
        {
          transform: [{ filter: "datum.value !== null" }],
          mark: "rect",
          encoding: {
            color: {
              field: "value",
              type: "quantitative",
              title: "tau",
              scale: { scheme: "redblue", domain: [-1, 1] },
            },
            tooltip,
          },
        },
        text,
      ],
    },
  };
}
