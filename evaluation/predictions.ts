/**
 * `predictions.csv`: one row per image with its file, true and predicted class, and the
 * softmax probability of every class.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";

/** Predictions for a list of images. */
export interface Predictions {
  /** Image files, in row order. */
  files: string[];
  /** True class index per image. */
  actual: ArrayLike<number>;
  /** Predicted class index per image (argmax of the logits). */
  predicted: ArrayLike<number>;
  /** Row-major `[files.length, classes.length]` softmax probabilities. */
  probabilitiesNC: ArrayLike<number>;
}

/**
 * The CSV text: `file,true,pred,prob_<Class>...`, classes by name, probabilities with 6
 * decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { predictionsCsv } from "./predictions.ts";
 * const text = predictionsCsv(
 *   { files: ["a.png"], actual: [1], predicted: [0], probabilitiesNC: [0.75, 0.25] },
 *   ["A", "B"],
 * );
 * assert(text === "file,true,pred,prob_A,prob_B\na.png,B,A,0.750000,0.250000\n");
 * ```
 */
export function predictionsCsv(predictions: Predictions, classes: readonly string[]): string {
  const k = classes.length;
  return stringifyCsv([
    ["file", "true", "pred", ...classes.map((c) => `prob_${c}`)],
    ...predictions.files.map((file, i) => [
      file,
      classes[predictions.actual[i]],
      classes[predictions.predicted[i]],
      ...Array.from({ length: k }, (_, c) => predictions.probabilitiesNC[i * k + c].toFixed(6)),
    ]),
  ]);
}
