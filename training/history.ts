/**
 * The per-epoch training history and its CSV (`<out>/metrics/<model>/history.csv`).
 *
 * @module
 */
import { parseCsv, stringifyCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";

/** One finished epoch. */
export interface HistoryRow {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  valLoss: number;
  trainAccuracy: number;
  valAccuracy: number;
  /** Wall-clock seconds the epoch took (training and validation). */
  seconds: number;
}

/** The CSV columns, in order (the reference's names). */
export const HISTORY_COLUMNS = [
  "epoch",
  "train_loss",
  "val_loss",
  "train_acc",
  "val_acc",
  "seconds",
] as const;

/**
 * The history as CSV text. Losses and accuracies keep every digit (JavaScript's shortest
 * round-trip form), so a resumed run can be compared byte for byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { historyCsv } from "./history.ts";
 * const text = historyCsv([{ epoch: 1, trainLoss: 1.5, valLoss: 1.25, trainAccuracy: 0.5, valAccuracy: 0.75, seconds: 2.5 }]);
 * assert(text === "epoch,train_loss,val_loss,train_acc,val_acc,seconds\n1,1.5,1.25,0.5,0.75,2.500\n");
 * ```
 */
export function historyCsv(rows: readonly HistoryRow[]): string {
  return stringifyCsv([
    [...HISTORY_COLUMNS],
    ...rows.map((r) =>
      [
        r.epoch,
        r.trainLoss,
        r.valLoss,
        r.trainAccuracy,
        r.valAccuracy,
        r.seconds.toFixed(3),
      ].map(String)
    ),
  ]);
}

/**
 * Parses a `history.csv`; `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { historyCsv, parseHistoryCsv } from "./history.ts";
 * const rows = [{ epoch: 1, trainLoss: 1, valLoss: 2, trainAccuracy: 0.5, valAccuracy: 0.25, seconds: 3 }];
 * assert(parseHistoryCsv(historyCsv(rows), "h.csv")[0].valLoss === 2);
 * ```
 */
export function parseHistoryCsv(text: string, source: string): HistoryRow[] {
  const records = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  return records.map((record, i) => {
    const value = (column: (typeof HISTORY_COLUMNS)[number]) => {
      const number = Number(record[column]);
      if (record[column] === undefined || !Number.isFinite(number)) {
        throw new InputError(
          `${source}: row ${i + 2} has no number in column "${column}"; rerun deno task train`,
        );
      }
      return number;
    };
    return {
      epoch: value("epoch"),
      trainLoss: value("train_loss"),
      valLoss: value("val_loss"),
      trainAccuracy: value("train_acc"),
      valAccuracy: value("val_acc"),
      seconds: value("seconds"),
    };
  });
}
