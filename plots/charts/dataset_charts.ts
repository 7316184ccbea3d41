/**
 * The data set: images per class, and the train/val/test split by class, counted from the
 * files under `--data`.
 *
 * @module
 */
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, legendSelection } from "./theme.ts";

/** Images per split and class (as `countSamples` gives them). */
export type SplitCounts = Record<string, Record<string, number>>;

function countValues(counts: SplitCounts) {
  return Object.entries(counts).flatMap(([split, byClass]) =>
    Object.entries(byClass).map(([className, images]) => ({ split, class: className, images }))
  );
}

/**
 * Images per class over all splits, counts written on the bars.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classDistributionChart } from "./dataset_charts.ts";
 * const chart = classDistributionChart({ train: { A: 3, B: 2 }, val: { A: 1, B: 1 }, test: { A: 1, B: 1 } });
 * assert(JSON.stringify(chart.spec).includes('"sum"'));
 * ```
 */
export function classDistributionChart(counts: SplitCounts): ChartSpec {
  const y = {
    aggregate: "sum" as const,
    field: "images",
    type: "quantitative" as const,
    title: "images",
  };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Class distribution", "all splits"),
      config: CHART_CONFIG,
      data: { values: countValues(counts) },
      width: 320,
      height: 220,
      encoding: { x: { field: "class", type: "nominal", axis: { labelAngle: 0 } }, y },
      layer: [
        {
          mark: "bar",
          encoding: {
            color: { field: "class", type: "nominal", legend: null },
            tooltip: [{ field: "class" }, { ...y }],
          },
        },
        { mark: { type: "text", dy: -6 }, encoding: { text: { ...y } } },
      ],
    },
  };
}

/**
 * Images per split, stacked by class.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dataSplitChart } from "./dataset_charts.ts";
 * const chart = dataSplitChart({ train: { A: 3 }, val: { A: 1 }, test: { A: 1 } });
 * assert(JSON.stringify(chart.spec).includes('"train"'));
 * ```
 */
export function dataSplitChart(counts: SplitCounts): ChartSpec {
  const pick = legendSelection("class");
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Train / val / test split", "images per split, stacked by class"),
      config: CHART_CONFIG,
      data: { values: countValues(counts) },
      width: 320,
      height: 220,
      params: pick.params,
      mark: "bar",
      encoding: {
        x: {
          field: "split",
          type: "nominal",
          sort: ["train", "val", "test"],
          axis: { labelAngle: 0 },
        },
        y: { field: "images", type: "quantitative", title: "images" },
        color: { field: "class", type: "nominal" },
        opacity: pick.opacity,
        tooltip: [{ field: "split" }, { field: "class" }, { field: "images" }],
      },
    },
  };
}
