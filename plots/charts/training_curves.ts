/**
 * Training curves of one model (loss and accuracy, train and validation) and the validation
 * loss of every model, from `metrics/<model>/history.csv`.
 *
 * @module
 */
import type { HistoryRow } from "../../training/history.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, legendSelection } from "./theme.ts";

function curveValues(history: readonly HistoryRow[]) {
  return history.flatMap((h) => [
    { epoch: h.epoch, measure: "loss", split: "train", value: h.trainLoss },
    { epoch: h.epoch, measure: "loss", split: "validation", value: h.valLoss },
    { epoch: h.epoch, measure: "accuracy", split: "train", value: h.trainAccuracy },
    { epoch: h.epoch, measure: "accuracy", split: "validation", value: h.valAccuracy },
  ]);
}

/**
 * Loss and accuracy per epoch, side by side, train and validation as two lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { trainingCurvesChart } from "./training_curves.ts";
 * const h = [{ epoch: 1, trainLoss: 1, valLoss: 1.2, trainAccuracy: 0.5, valAccuracy: 0.4, seconds: 1 }];
 * const chart = trainingCurvesChart("m", h);
 * assert(JSON.stringify(chart.spec).includes('"validation"'));
 * ```
 */
export function trainingCurvesChart(model: string, history: readonly HistoryRow[]): ChartSpec {
  const pick = legendSelection("split");
  const panel = (measure: string) => ({
    title: measure,
    width: 260,
    height: 200,
    transform: [{ filter: { field: "measure", equal: measure } }],
    mark: { type: "line" as const, point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative" as const, axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative" as const, title: measure, scale: { zero: false } },
      color: { field: "split", type: "nominal" as const, title: "split" },
      opacity: pick.opacity,
      tooltip: [
        { field: "epoch" },
        { field: "split" },
        { field: "value", format: ".4f", title: measure },
      ],
    },
  });
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(`Training curves: ${model}`),
      config: CHART_CONFIG,
      data: { values: curveValues(history) },
      hconcat: [{ ...panel("loss"), params: pick.params }, panel("accuracy")],
    },
  };
}

/**
 * Every model's validation loss per epoch, one line per model.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { validationLossChart } from "./training_curves.ts";
 * const h = [{ epoch: 1, trainLoss: 1, valLoss: 1.2, trainAccuracy: 0.5, valAccuracy: 0.4, seconds: 1 }];
 * const chart = validationLossChart(new Map([["a", h], ["b", h]]));
 * assert(JSON.stringify(chart.spec).includes('"b"'));
 * ```
 */
export function validationLossChart(
  histories: ReadonlyMap<string, readonly HistoryRow[]>,
): ChartSpec {
  const values = [...histories].flatMap(([model, history]) =>
    history.map((h) => ({ model, epoch: h.epoch, val_loss: h.valLoss, val_acc: h.valAccuracy }))
  );
  const pick = legendSelection("model");
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Validation loss of all models"),
      config: CHART_CONFIG,
      data: { values },
      width: 420,
      height: 260,
      params: pick.params,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
        y: { field: "val_loss", type: "quantitative", title: "validation loss" },
        color: { field: "model", type: "nominal" },
        opacity: pick.opacity,
        tooltip: [
          { field: "model" },
          { field: "epoch" },
          { field: "val_loss", format: ".4f", title: "validation loss" },
          { field: "val_acc", format: ".4f", title: "validation accuracy" },
        ],
      },
    },
  };
}
