/**
 * Reading the tables the charts draw from: what eval, train, xai and quantus wrote. A missing
 * file is `undefined` (the chart is skipped with a note); a malformed one is an `InputError`.
 *
 * @module
 */
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { QUANTUS_SUMMARY_COLUMNS, type ScoreSummary } from "../metrics/summary.ts";

/** One CSV row, by column name. */
export type CsvRecord = Record<string, string>;

/**
 * A CSV file's rows by column name, or `undefined` when the file does not exist.
 *
 * @throws {InputError} when a `required` column is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readCsvRecords } from "./inputs.ts";
 * assert((await readCsvRecords("no/such.csv")) === undefined);
 * ```
 */
export async function readCsvRecords(
  path: string,
  required: readonly string[] = [],
): Promise<CsvRecord[] | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return parseCsvRecords(text, path, required);
}

/**
 * Parses CSV text with a header row; `source` names it in errors.
 *
 * @throws {InputError} when the text is not CSV or a `required` column is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseCsvRecords } from "./inputs.ts";
 * assert(parseCsvRecords("a,b\n1,2\n", "x.csv", ["a"])[0].b === "2");
 * ```
 */
export function parseCsvRecords(
  text: string,
  source: string,
  required: readonly string[] = [],
): CsvRecord[] {
  let header: string[];
  let records: CsvRecord[];
  try {
    header = (parseCsv(text, { to_line: 1 }) as string[][])[0] ?? [];
    records = parseCsv(text, { columns: true, skip_empty_lines: true }) as CsvRecord[];
  } catch (e) {
    throw new InputError(`${source}: not a CSV table (${(e as Error).message})`);
  }
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new InputError(
      `${source}: missing column(s) ${missing.join(", ")}; the file has ${header.join(", ")}. ` +
        "Rerun the stage that writes it",
    );
  }
  return records;
}

/**
 * A cell as a number: `NaN` for an empty or `nan` cell (Quantus writes those), an error for
 * anything else that is not a number.
 *
 * @throws {InputError} naming the file, row and column.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cellNumber } from "./inputs.ts";
 * assert(cellNumber({ x: "0.5" }, "x", "f.csv", 0) === 0.5);
 * assert(Number.isNaN(cellNumber({ x: "nan" }, "x", "f.csv", 0)));
 * ```
 */
export function cellNumber(record: CsvRecord, column: string, source: string, row: number): number {
  const text = (record[column] ?? "").trim();
  if (text === "" || text.toLowerCase() === "nan") return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) {
    throw new InputError(
      `${source}: row ${row + 2}, column "${column}" holds "${text}", not a number`,
    );
  }
  return value;
}

/** Which way a metric is better. */
export type Direction = "higher" | "lower";

/** One row of `quantus_summary.csv`: a metric's summary for one model and method. */
export interface QuantusSummaryRow extends ScoreSummary {
  model: string;
  method: string;
  /** Snake-case id, e.g. `faithfulness_correlation`. */
  metric: string;
  /** Quantus's name, e.g. `FaithfulnessCorrelation`. */
  label: string;
  /** faithfulness, robustness, localisation, complexity, randomisation or axiomatic. */
  category: string;
  direction: Direction;
}

/**
 * Parses `quantus_summary.csv`.
 *
 * @throws {InputError} for a missing column or a direction other than higher/lower.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseQuantusSummary } from "./inputs.ts";
 * const rows = parseQuantusSummary(
 *   "model,method,metric,label,category,direction,n,mean,std,ci95_low,ci95_high,nan_count\n" +
 *     "m,gradcam,sparseness,Sparseness,complexity,higher,8,0.4,0.1,0.33,0.47,0\n",
 *   "s.csv",
 * );
 * assert(rows[0].ci95High === 0.47 && rows[0].direction === "higher");
 * ```
 */
export function parseQuantusSummary(text: string, source: string): QuantusSummaryRow[] {
  return parseCsvRecords(text, source, QUANTUS_SUMMARY_COLUMNS).map((r, i) => {
    if (r.direction !== "higher" && r.direction !== "lower") {
      throw new InputError(
        `${source}: row ${i + 2}, direction "${r.direction}" must be higher or lower`,
      );
    }
    const num = (c: string) => cellNumber(r, c, source, i);
    return {
      model: r.model,
      method: r.method,
      metric: r.metric,
      label: r.label,
      category: r.category,
      direction: r.direction,
      n: num("n"),
      mean: num("mean"),
      std: num("std"),
      ci95Low: num("ci95_low"),
      ci95High: num("ci95_high"),
      nanCount: num("nan_count"),
    };
  });
}

/** One row of `model_performance.csv`, numbers parsed, keyed by the reference's column names. */
export interface ModelPerformanceRow {
  model: string;
  values: Record<string, number>;
}

/**
 * Parses `model_performance.csv` (the columns eval writes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseModelPerformance } from "./inputs.ts";
 * const rows = parseModelPerformance("Model,Test Accuracy\nm,0.9\n", "p.csv");
 * assert(rows[0].values["Test Accuracy"] === 0.9);
 * ```
 */
export function parseModelPerformance(text: string, source: string): ModelPerformanceRow[] {
  return parseCsvRecords(text, source, ["Model", "Test Accuracy"]).map((r, i) => ({
    model: r.Model,
    values: Object.fromEntries(
      Object.keys(r).filter((c) => c !== "Model").map((c) => [c, cellNumber(r, c, source, i)]),
    ),
  }));
}
