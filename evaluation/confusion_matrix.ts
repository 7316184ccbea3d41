/**
 * The confusion matrix (rows: true class, columns: predicted class, as scikit-learn's
 * `confusion_matrix`) and its CSV. Its picture is the chart of
 * `plots/charts/confusion_matrix.ts` (`confusionMatrixPng`), the one confusion-matrix style.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";

/**
 * Counts `[true][predicted]` over `numClasses` classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrix } from "./confusion_matrix.ts";
 * assert(JSON.stringify(confusionMatrix([0, 1, 1], [0, 0, 1], 2)) === "[[1,0],[1,1]]");
 * ```
 */
export function confusionMatrix(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < actual.length; i++) matrix[actual[i]][predicted[i]]++;
  return matrix;
}

/**
 * The matrix as CSV: a header row of predicted classes, then one row per true class.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrixCsv } from "./confusion_matrix.ts";
 * assert(confusionMatrixCsv([[1, 0], [1, 1]], ["a", "b"]) === "true\\pred,a,b\na,1,0\nb,1,1\n");
 * ```
 */
export function confusionMatrixCsv(
  matrix: readonly number[][],
  classes: readonly string[],
): string {
  return stringifyCsv([
    ["true\\pred", ...classes],
    ...matrix.map((row, i) => [classes[i], ...row.map(String)]),
  ]);
}
