/**
 * Reading the files a run leaves behind and reads again: a checkpoint's `meta.json` and
 * `model.json`, a resumable run's `state.json`, a shard's `plan.json` and part CSVs.
 *
 * Such a file can be cut short (a full disk, a copy broken off), edited by hand or come from
 * another version. Read raw, it fails on every rerun with a SyntaxError's stack trace, or worse
 * with a value that passes parsing and then does harm (`imgSizePx: 100000` asks for gigabytes).
 * Checked here against a schema (the config's library), it is one line naming the file, what is
 * wrong, and the way out.
 *
 * @module
 */
import { parseCsv, type z } from "../deps.ts";
import { InputError } from "./errors.ts";
import { describeIssue } from "./schema_issues.ts";

/**
 * The error for a damaged state file: `<file>: damaged or not written by this version (<why>);
 * <fix>`, on one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { damagedFile } from "./state_file.ts";
 * const e = damagedFile("out/state.json", "not JSON:\n end", "pass --fresh to start over");
 * assert(e.message === "out/state.json: damaged or not written by this version (not JSON: end); pass --fresh to start over");
 * ```
 */
export function damagedFile(file: string, why: string, fix: string): InputError {
  const oneLine = why.replace(/\s+/g, " ").trim();
  return new InputError(`${file}: damaged or not written by this version (${oneLine}); ${fix}`);
}

/**
 * Parses `text`, the content of the JSON state file `file`, and checks it against `schema`.
 *
 * @param fix the way out, e.g. `pass --fresh to start over`.
 * @throws {InputError} ({@link damagedFile}) for text that is not JSON or does not fit `schema`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { z } from "../deps.ts";
 * import { parseStateJson } from "./state_file.ts";
 * const schema = z.object({ chunks: z.number().int().positive() });
 * assert(parseStateJson('{"chunks": 3}', "plan.json", schema, "delete it").chunks === 3);
 * assert.throws(() => parseStateJson('{"chu', "plan.json", schema, "delete it"), /plan.json: damaged .*not JSON.*; delete it$/);
 * assert.throws(() => parseStateJson('{"chunks": 0}', "plan.json", schema, "delete it"), /field "chunks": got 0/);
 * ```
 */
export function parseStateJson<T>(
  text: string,
  file: string,
  schema: z.ZodType<T>,
  fix: string,
): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw damagedFile(file, `not JSON: ${(e as Error).message}`, fix);
  }
  const result = schema.safeParse(parsed);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => describeIssue(issue, parsed));
  const shown = issues.length > 3 ? [...issues.slice(0, 3), `${issues.length - 3} more`] : issues;
  throw damagedFile(file, shown.join("; "), fix);
}

/**
 * Parses `text`, the content of the CSV state file `file`, into rows (header first); every row
 * must have the header's number of fields.
 *
 * @throws {InputError} ({@link damagedFile}) for text that is not CSV or has no header.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseStateCsv } from "./state_file.ts";
 * assert.deepStrictEqual(parseStateCsv("a,b\n1,2\n", "p.csv", "delete it"), [["a", "b"], ["1", "2"]]);
 * assert.throws(() => parseStateCsv('a,b\n"1,2\n', "p.csv", "delete it"), /p.csv: damaged/);
 * assert.throws(() => parseStateCsv("a,b\n1\n", "p.csv", "delete it"), /p.csv: damaged/);
 * ```
 */
export function parseStateCsv(text: string, file: string, fix: string): string[][] {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (e) {
    throw damagedFile(file, `not CSV: ${(e as Error).message}`, fix);
  }
  if (rows.length === 0) throw damagedFile(file, "empty, no header row", fix);
  return rows;
}
