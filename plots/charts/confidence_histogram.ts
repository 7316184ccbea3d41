/**
 * How confident a model's test predictions are, split by right and wrong, from
 * `metrics/<model>/predictions.csv`.
 *
 * @module
 */
import { cellNumber, type CsvRecord } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, legendSelection } from "./theme.ts";

/** One test prediction's confidence. */
export interface Confidence {
  file: string;
  trueClass: string;
  predictedClass: string;
  /** The predicted class's probability. */
  confidence: number;
}

/**
 * Each row's predicted-class probability (`prob_<pred>` column).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { predictionConfidences } from "./confidence_histogram.ts";
 * const c = predictionConfidences([{ file: "x", true: "A", pred: "B", prob_A: "0.3", prob_B: "0.7" }], "p.csv");
 * assert(c[0].confidence === 0.7);
 * ```
 */
export function predictionConfidences(records: readonly CsvRecord[], source: string): Confidence[] {
  return records.map((r, i) => ({
    file: r.file,
    trueClass: r.true,
    predictedClass: r.pred,
    confidence: cellNumber(r, `prob_${r.pred}`, source, i),
  }));
}

/**
 * A histogram of confidences in 0.05 bins, correct and wrong predictions stacked.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confidenceHistogramChart } from "./confidence_histogram.ts";
 * const chart = confidenceHistogramChart("m", [{ file: "x", trueClass: "A", predictedClass: "A", confidence: 0.9 }]);
 * assert(JSON.stringify(chart.spec).includes('"correct"'));
 * ```
 */
export function confidenceHistogramChart(
  model: string,
  confidences: readonly Confidence[],
): ChartSpec {
  const values = confidences.map((c) => ({
    file: c.file,
    true: c.trueClass,
    predicted: c.predictedClass,
    confidence: c.confidence,
    outcome: c.trueClass === c.predictedClass ? "correct" : "wrong",
  }));
  const pick = legendSelection("outcome");
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(
        `Prediction confidence: ${model}`,
        "probability of the predicted class, test split",
      ),
      config: CHART_CONFIG,
      data: { values },
      width: 400,
      height: 220,
      params: pick.params,
      mark: "bar",
      encoding: {
        x: {
          field: "confidence",
          type: "quantitative",
          bin: { extent: [0, 1], step: 0.05 },
          title: "confidence",
        },
        y: { aggregate: "count", type: "quantitative", title: "images" },
        color: {
          field: "outcome",
          type: "nominal",
          scale: { domain: ["correct", "wrong"], range: ["#4c78a8", "#e45756"] },
        },
        opacity: pick.opacity,
        tooltip: [{ field: "outcome" }, { aggregate: "count", title: "images" }],
      },
    },
  };
}
