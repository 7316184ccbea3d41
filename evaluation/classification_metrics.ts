/**
 * Classification metrics as scikit-learn computes them, and its `classification_report` text.
 *
 * Per class: precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2·tp / (2·tp + fp + fn)
 * (scikit-learn ≥ 1.3's form), each 0 when its denominator is 0 (`zero_division` "warn"
 * gives 0). Macro averages are plain means over classes; weighted averages weight by support.
 *
 * @module
 */

/** Precision, recall, F1 and support of one class or one average. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** What `classification_report(output_dict=True)` holds. */
export interface ClassificationReport {
  classes: string[];
  perClass: ClassScores[];
  accuracy: number;
  macro: ClassScores;
  weighted: ClassScores;
}

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? 0 : numerator / denominator;

/**
 * Computes the report of predictions `predicted` against `actual` (class indices).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classificationReport } from "./classification_metrics.ts";
 * const r = classificationReport([0, 0, 1, 1], [0, 1, 1, 1], ["a", "b"]);
 * assert(r.accuracy === 0.75 && r.perClass[1].precision === 2 / 3);
 * ```
 */
export function classificationReport(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: readonly string[],
): ClassificationReport {
  if (actual.length !== predicted.length) {
    throw new RangeError(
      `classificationReport: ${actual.length} labels but ${predicted.length} predictions`,
    );
  }
  const k = classes.length;
  const tp = new Array(k).fill(0), fp = new Array(k).fill(0), fn = new Array(k).fill(0);
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] === predicted[i]) {
      tp[actual[i]]++;
      correct++;
    } else {
      fn[actual[i]]++;
      fp[predicted[i]]++;
    }
  }
  const perClass = classes.map((_, c) => ({
    precision: ratio(tp[c], tp[c] + fp[c]),
    recall: ratio(tp[c], tp[c] + fn[c]),
    f1: ratio(2 * tp[c], 2 * tp[c] + fp[c] + fn[c]),
    support: tp[c] + fn[c],
  }));
  const total = actual.length;
  const average = (weight: (s: ClassScores) => number, divisor: number): ClassScores => {
    const sum = (key: "precision" | "recall" | "f1") =>
      ratio(perClass.reduce((acc, s) => acc + s[key] * weight(s), 0), divisor);
    return { precision: sum("precision"), recall: sum("recall"), f1: sum("f1"), support: total };
  };
  return {
    classes: [...classes],
    perClass,
    accuracy: ratio(correct, total),
    macro: average(() => 1, k),
    weighted: average((s) => s.support, total),
  };
}

/**
 * `x` with `digits` decimals, rounding exact ties to even as Python's `format` does
 * (`Number.prototype.toFixed` rounds them up: 0.125 → "0.13", Python gives "0.12").
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatFixedLikePython } from "./classification_metrics.ts";
 * assert(formatFixedLikePython(0.125, 2) === "0.12");
 * assert(formatFixedLikePython(0.375, 2) === "0.38");
 * assert(formatFixedLikePython(2 / 3, 2) === "0.67");
 * ```
 */
export function formatFixedLikePython(x: number, digits: number): string {
  // toFixed(100) is the exact decimal expansion of the double, so a tie shows as 5000...0.
  const exact = Math.abs(x).toFixed(100);
  const cut = exact.indexOf(".") + 1 + digits;
  const isTie = /^50*$/.test(exact.slice(cut));
  if (!isTie) return x.toFixed(digits);
  const truncated = exact.slice(0, digits === 0 ? cut - 1 : cut);
  const lastDigit = Number(truncated[truncated.length - 1]);
  const rounded = lastDigit % 2 === 0 ? truncated : x.toFixed(digits).replace("-", "");
  return (x < 0 ? "-" : "") + rounded;
}

/**
 * The report as text, laid out exactly as scikit-learn's `classification_report(y_true,
 * y_pred, target_names=classes, digits=digits)` prints it (default 2 digits).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classificationReport, formatClassificationReport } from "./classification_metrics.ts";
 * const text = formatClassificationReport(classificationReport([0, 1], [0, 0], ["a", "b"]));
 * assert(text.split("\n")[0] === "              precision    recall  f1-score   support");
 * ```
 */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const width = Math.max(...report.classes.map((c) => c.length), "weighted avg".length, digits);
  const number = (x: number) => formatFixedLikePython(x, digits).padStart(9);
  const row = (name: string, s: ClassScores) =>
    `${name.padStart(width)} ${
      [s.precision, s.recall, s.f1].map((x) => ` ${number(x)}`).join("")
    }` +
    ` ${String(s.support).padStart(9)}\n`;
  const header = `${"".padStart(width)} ` +
    ["precision", "recall", "f1-score", "support"].map((h) => ` ${h.padStart(9)}`).join("");
  let text = `${header}\n\n`;
  report.classes.forEach((name, c) => (text += row(name, report.perClass[c])));
  text += "\n";
  const total = report.macro.support;
  text += `${"accuracy".padStart(width)} ${" ".repeat(10)}${" ".repeat(10)} ` +
    `${number(report.accuracy)} ${String(total).padStart(9)}\n`;
  text += row("macro avg", report.macro);
  text += row("weighted avg", report.weighted);
  return text;
}
