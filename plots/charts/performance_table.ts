/**
 * The model performance table as Markdown, from `results/model_performance.csv`.
 *
 * @module
 */
import type { CsvRecord } from "../inputs.ts";

/**
 * A Markdown table of the records, decimal numbers rounded to 4 places (integers and text as
 * they are), columns in `columns` order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { markdownTable } from "./performance_table.ts";
 * const md = markdownTable(["Model", "Test Accuracy"], [{ Model: "m", "Test Accuracy": "0.916667" }]);
 * assert(md.split("\n")[2] === "| m | 0.9167 |");
 * ```
 */
export function markdownTable(columns: readonly string[], records: readonly CsvRecord[]): string {
  const cell = (text: string) =>
    (/^[-+]?\d+\.\d+$/.test(text.trim()) ? Number(text).toFixed(4) : text).replaceAll("|", "\\|");
  return [
    `| ${columns.join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...records.map((r) => `| ${columns.map((c) => cell(r[c] ?? "")).join(" | ")} |`),
  ].join("\n") + "\n";
}
