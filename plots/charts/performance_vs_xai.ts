/**
 * Classification performance against explanation quality, one point per model and method.
 *
 * @module
 */
import type { ModelPerformanceRow } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import {
  constantMetrics,
  ORIENTED_SCALE_NOTE,
  type OrientedScore,
  xaiQuality,
} from "./quantus_scores.ts";
import { CHART_CONFIG, chartTitle, legendSelection, methodColour, numberTip } from "./theme.ts";

/**
 * The accuracy axis's domain: the accuracies' range, widened to at least 0.1 around them
 * (within [0, 1]) so that a single accuracy gets sensible ticks instead of one "0.500000".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracyDomain } from "./performance_vs_xai.ts";
 * assert.deepStrictEqual(accuracyDomain([0.5]), [0.45, 0.55]);
 * assert.deepStrictEqual(accuracyDomain([0.98, 1]), [0.9, 1]);
 * ```
 */
export function accuracyDomain(accuracies: readonly number[]): [number, number] {
  const [low, high] = [Math.min(...accuracies), Math.max(...accuracies)];
  const pad = Math.max(0, (0.1 - (high - low)) / 2);
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  let [from, to] = [low - pad, high + pad];
  if (from < 0) [from, to] = [0, Math.min(1, to - from)];
  if (to > 1) [from, to] = [Math.max(0, from - (to - 1)), 1];
  return [round(from), round(to)];
}

/**
 * Test accuracy (x, from `model_performance.csv`) against XAI quality (y: the mean oriented
 * score over the metrics, see `quantus_scores.ts`). Undefined when no model has both.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { performanceVsXaiChart } from "./performance_vs_xai.ts";
 * const chart = performanceVsXaiChart(
 *   [{ model: "m", values: { "Test Accuracy": 0.9, "Macro F1 (Test)": 0.8 } }],
 *   [{ model: "m", method: "a", metric: "x", label: "X", direction: "higher", mean: 1, score: 1 }],
 * );
 * assert(chart !== undefined && JSON.stringify(chart.spec).includes("XAI quality"));
 * ```
 */
export function performanceVsXaiChart(
  performance: readonly ModelPerformanceRow[],
  scores: readonly OrientedScore[],
): ChartSpec | undefined {
  const byModel = new Map(performance.map((p) => [p.model, p.values]));
  // Metrics without variation tell no method apart; left out unless nothing else is left.
  const flat = constantMetrics(scores);
  const varying = scores.filter((s) => !flat.has(s.metric));
  const values = [...xaiQuality(varying.length > 0 ? varying : scores).values()].flatMap((q) => {
    const p = byModel.get(q.model);
    if (!p) return [];
    return [{
      model: q.model,
      method: q.method,
      accuracy: p["Test Accuracy"],
      macro_f1: p["Macro F1 (Test)"] ?? null,
      quality: q.quality,
      metrics: q.metrics,
    }];
  });
  if (values.length === 0) return undefined;
  const pick = legendSelection("method");
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle("Performance vs XAI quality", [
        "XAI quality: mean over the metrics that vary of a 0-1 score, 1 = best;",
        ...ORIENTED_SCALE_NOTE,
      ]),
      config: CHART_CONFIG,
      data: { values },
      width: 380,
      height: 280,
      params: pick.params,
      mark: { type: "point", filled: true, size: 90 },
      encoding: {
        x: {
          field: "accuracy",
          type: "quantitative",
          title: "test accuracy",
          scale: { domain: accuracyDomain(values.map((v) => v.accuracy)) },
          axis: { format: ".2~f", tickCount: 5 },
        },
        y: {
          field: "quality",
          type: "quantitative",
          title: "XAI quality (higher is better)",
          scale: { domain: [0, 1] },
          axis: { format: ".2~f" },
        },
        color: methodColour(values.map((v) => v.method)),
        shape: { field: "model", type: "nominal" },
        opacity: pick.opacity,
        tooltip: [
          { field: "model" },
          { field: "method" },
          numberTip("accuracy", "test accuracy"),
          numberTip("macro_f1", "macro F1"),
          numberTip("quality", "XAI quality", 3),
          { field: "metrics", title: "metrics averaged" },
        ],
      },
    },
  };
}
