/**
 * The tables a paper prints, as Markdown and LaTeX: the Quantus summary (one row per model and
 * method, one column per metric, each cell the mean with its 95 % CI and, where the method
 * comparisons exist, its rank-group letters) and the model performance table.
 *
 * The LaTeX uses `booktabs` rules (`\usepackage{booktabs}`) and escapes TeX's special
 * characters, so a method or class name with `_` or `&` compiles as written.
 *
 * @module
 */
import type { CsvRecord, QuantusSummaryRow } from "../inputs.ts";

/** A table: a caption, its header and its rows of cell texts. */
export interface PaperTable {
  caption: string;
  columns: string[];
  rows: string[][];
}

/** A number with three significant digits, as in the charts ("0.123", "−1.2e-5", "NaN"). */
function significant(value: number): string {
  if (!Number.isFinite(value)) return "NaN";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 1e-3 && magnitude < 1e5
    ? String(Number(magnitude.toPrecision(3)))
    : magnitude.toExponential(2);
  // A real minus sign, which LaTeX gets as math ($-$), not a hyphen.
  return value < 0 ? `−${digits}` : digits;
}

/**
 * The Quantus summary as a table: rows model × method (in the summary's order), columns the
 * metrics with their direction (↑ higher is better, ↓ lower), cells `mean [low, high]` and,
 * with `groups` (model → metric → method → letters, from the comparisons), ` (a)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusSummaryTable } from "./paper_tables.ts";
 * const row = { model: "m", method: "gradcam", metric: "x", label: "X", category: "c",
 *   direction: "higher" as const, n: 4, mean: 0.5, std: 0.1, ci95Low: -0.41, ci95High: 0.6, nanCount: 0 };
 * const table = quantusSummaryTable([row], new Map([["m", new Map([["x", new Map([["gradcam", "a"]])]])]]));
 * assert.deepStrictEqual(table.columns, ["model", "method", "X ↑"]);
 * assert(table.rows[0][2] === "0.5 [−0.41, 0.6] (a)");
 * ```
 */
export function quantusSummaryTable(
  rows: readonly QuantusSummaryRow[],
  groups?: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>,
): PaperTable {
  const metrics = [...new Map(rows.map((r) => [r.metric, r])).values()];
  const keys = [...new Set(rows.map((r) => `${r.model}\t${r.method}`))];
  const cell = (model: string, method: string, metric: string) => {
    const r = rows.find((x) => x.model === model && x.method === method && x.metric === metric);
    if (!r) return "–";
    const letters = groups?.get(model)?.get(metric)?.get(method);
    const ci = Number.isFinite(r.ci95Low)
      ? ` [${significant(r.ci95Low)}, ${significant(r.ci95High)}]`
      : "";
    return `${significant(r.mean)}${ci}${letters ? ` (${letters})` : ""}`;
  };
  return {
    caption: "Quantus metrics: mean over the test images [95% CI]; ↑ higher is better, ↓ lower" +
      (groups
        ? "; letters: rank groups per metric, methods sharing a letter do not differ " +
          "(Wilcoxon signed-rank, Holm-corrected p < 0.05), a = best"
        : "") +
      ".",
    columns: ["model", "method", ...metrics.map((m) => `${m.label} ${arrow(m.direction)}`)],
    rows: keys.map((key) => {
      const [model, method] = key.split("\t");
      return [model, method, ...metrics.map((m) => cell(model, method, m.metric))];
    }),
  };
}

function arrow(direction: "higher" | "lower"): string {
  return direction === "higher" ? "↑" : "↓";
}

/**
 * The model performance records as a table, decimals rounded to 4 places.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { recordsTable } from "./paper_tables.ts";
 * const t = recordsTable("Test split.", ["Model", "Acc"], [{ Model: "m", Acc: "0.916667" }]);
 * assert(t.rows[0][1] === "0.9167");
 * ```
 */
export function recordsTable(
  caption: string,
  columns: readonly string[],
  records: readonly CsvRecord[],
): PaperTable {
  const cell = (text: string) =>
    /^[-+]?\d+\.\d+$/.test(text.trim()) ? Number(text).toFixed(4) : text;
  return {
    caption,
    columns: [...columns],
    rows: records.map((r) => columns.map((c) => cell(r[c] ?? ""))),
  };
}

/**
 * A table as Markdown (`|` in cells escaped), its caption as an italic line above.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { markdownOf } from "./paper_tables.ts";
 * const md = markdownOf({ caption: "C.", columns: ["a", "b"], rows: [["1", "x|y"]] });
 * assert(md === "_C._\n\n| a | b |\n| --- | --- |\n| 1 | x\\|y |\n");
 * ```
 */
export function markdownOf(table: PaperTable): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [
    `_${table.caption}_`,
    "",
    line(table.columns),
    `| ${table.columns.map(() => "---").join(" | ")} |`,
    ...table.rows.map(line),
  ].join("\n") + "\n";
}

/**
 * Text safe in LaTeX: its special characters escaped, the arrows and minus as math.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { latexEscape } from "./paper_tables.ts";
 * assert(latexEscape("a_b & 50% ↑") === "a\\_b \\& 50\\% $\\uparrow$");
 * ```
 */
export function latexEscape(text: string): string {
  const specials: Record<string, string> = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
    "↑": "$\\uparrow$",
    "↓": "$\\downarrow$",
    "−": "$-$",
    "–": "--",
  };
  return [...text].map((c) => specials[c] ?? c).join("");
}

/**
 * A table as a LaTeX `table` float with a `booktabs` tabular, `label` as its `\label`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { latexOf } from "./paper_tables.ts";
 * const tex = latexOf({ caption: "C.", columns: ["a", "b_c"], rows: [["1", "2"]] }, "tab:x");
 * assert(tex.includes("\\begin{tabular}{ll}") && tex.includes("a & b\\_c \\\\") && tex.includes("\\label{tab:x}"));
 * ```
 */
export function latexOf(table: PaperTable, label: string): string {
  const line = (cells: readonly string[]) => `${cells.map(latexEscape).join(" & ")} \\\\`;
  return [
    "% Needs \\usepackage{booktabs}. Written by deno task plots.",
    "\\begin{table}[htbp]",
    "\\centering",
    `\\caption{${latexEscape(table.caption)}}`,
    `\\label{${label}}`,
    `\\begin{tabular}{${"l".repeat(table.columns.length)}}`,
    "\\toprule",
    line(table.columns),
    "\\midrule",
    ...table.rows.map(line),
    "\\bottomrule",
    "\\end{tabular}",
    "\\end{table}",
    "",
  ].join("\n");
}
