/**
 * `<out>/results/model_performance.csv`: one row per model with the reference's columns.
 *
 * @module
 */
import { parseCsv, stringifyCsv } from "../deps.ts";
import type { HistoryRow } from "../training/history.ts";
import type { ClassificationReport } from "./classification_metrics.ts";

/** The columns, exactly as the reference writes them. */
export const MODEL_PERFORMANCE_COLUMNS = [
  "Model",
  "Test Accuracy",
  "Macro F1 (Test)",
  "Weighted F1 (Test)",
  "Final Training Loss",
  "Final Validation Loss",
  "Final Training Accuracy",
  "Final Validation Accuracy",
  "Best Validation Accuracy",
  "Epoch of Best Validation Accuracy",
] as const;

/**
 * One model's row: test scores from `report`, the rest from the training `history` (the best
 * epoch is the first with the highest validation accuracy, as early stopping picked it), left
 * empty when there is none (imported weights). Numbers keep 6 decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classificationReport } from "./classification_metrics.ts";
 * import { modelPerformanceRow } from "./model_performance.ts";
 * const report = classificationReport([0, 1], [0, 1], ["a", "b"]);
 * const history = [
 *   { epoch: 1, trainLoss: 1, valLoss: 1, trainAccuracy: 0.5, valAccuracy: 0.75, seconds: 1 },
 *   { epoch: 2, trainLoss: 0.5, valLoss: 0.9, trainAccuracy: 0.75, valAccuracy: 0.5, seconds: 1 },
 * ];
 * const row = modelPerformanceRow("m", report, history);
 * assert(row.join() === "m,1.000000,1.000000,1.000000,0.500000,0.900000,0.750000,0.500000,0.750000,1");
 * assert(modelPerformanceRow("m", report, []).join() === "m,1.000000,1.000000,1.000000,,,,,,");
 * ```
 */
export function modelPerformanceRow(
  model: string,
  report: ClassificationReport,
  history: readonly HistoryRow[],
): string[] {
  const fixed = (x: number) => x.toFixed(6);
  const test = [model, fixed(report.accuracy), fixed(report.macro.f1), fixed(report.weighted.f1)];
  if (history.length === 0) {
    return [...test, ...Array(MODEL_PERFORMANCE_COLUMNS.length - test.length).fill("")];
  }
  const last = history[history.length - 1];
  const best = history.reduce((b, r) => (r.valAccuracy > b.valAccuracy ? r : b), history[0]);
  return [
    ...test,
    fixed(last.trainLoss),
    fixed(last.valLoss),
    fixed(last.trainAccuracy),
    fixed(last.valAccuracy),
    fixed(best.valAccuracy),
    String(best.epoch),
  ];
}

/**
 * The CSV with `rows`, keeping the rows of other models from `existingCsv` (a previous eval
 * run), so evaluating one model does not drop the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { modelPerformanceCsv } from "./model_performance.ts";
 * const first = modelPerformanceCsv([["a", ...Array(9).fill("1")]]);
 * const both = modelPerformanceCsv([["b", ...Array(9).fill("2")]], first);
 * assert(both.split("\n").length === 4 && both.includes("\na,"));
 * ```
 */
export function modelPerformanceCsv(rows: readonly string[][], existingCsv?: string): string {
  const replaced = new Set(rows.map((r) => r[0]));
  const kept = existingCsv
    ? (parseCsv(existingCsv, { from_line: 2, skip_empty_lines: true }) as string[][])
      .filter((r) => !replaced.has(r[0]) && r.length === MODEL_PERFORMANCE_COLUMNS.length)
    : [];
  return stringifyCsv([[...MODEL_PERFORMANCE_COLUMNS], ...kept, ...rows]);
}
