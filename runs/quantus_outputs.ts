/**
 * The files of the `quantus` stage: one per-image CSV per model x method, the parts a sharded or
 * interrupted run leaves beside it, and the summary rebuilt from every per-image file.
 *
 * A run writes each finished batch of images as a part in `<out>/metrics/quantus_<model>_<method>/`
 * (`runs/shard.ts`); merging turns the parts into `quantus_<model>_<method>.csv` and removes the
 * folder. The summary is a pure function of the per-image files (its bootstrap streams are seeded
 * by model, method and metric names), so merged, resumed and single runs give the same bytes.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { SeededRandom } from "../core/random.ts";
import { getMetric } from "../metrics/registry.ts";
import { QUANTUS_SUMMARY_COLUMNS, summariseScores } from "../metrics/summary.ts";
import { ARCHITECTURES } from "../models/registry.ts";
import { plannedRecord, readProvenance, sameSubject, writeProvenance } from "./provenance.ts";
import { OutputSelection } from "./selection.ts";
import { readAllParts } from "./shard.ts";

/** Columns of a per-image file before the metric columns; `nan_reasons` comes last. */
export const QUANTUS_ROW_COLUMNS = ["id", "file", "true_class", "target_class"] as const;

/**
 * The settings two quantus runs of one checkpoint, data set and method must share for one
 * per-image file to hold columns or images of both (a run of other metrics adds its columns, a
 * run on other images its rows).
 */
export const QUANTUS_SUBJECT_SETTINGS: readonly string[] = ["--target", "--chunk-size"];

/** What a per-image cell of a metric says when no run scored that image with it. */
const NOT_SCORED = "not scored on this image (the run of this metric had other images)";

/** Seed of the summary's bootstrap streams (forked per model, method and metric). */
const SUMMARY_SEED = 0x5eed;

/**
 * A score as the CSV writes it: shortest round-trip text, `NaN` for undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatScore } from "./quantus_outputs.ts";
 * assert(formatScore(0.5) === "0.5" && formatScore(NaN) === "NaN");
 * ```
 */
export function formatScore(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "NaN" : String(value);
}

/**
 * `<out>/metrics/quantus_<model>_<method>.csv`, the per-image file of one model and method.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusFile } from "./quantus_outputs.ts";
 * assert(quantusFile("outputs", "ecgnet", "gradcam") === "outputs/metrics/quantus_ecgnet_gradcam.csv");
 * ```
 */
export function quantusFile(out: string, model: string, method: string): string {
  return `${quantusPartsFolder(out, model, method)}.csv`;
}

/**
 * The folder holding a model x method's parts until they are merged.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusPartsFolder } from "./quantus_outputs.ts";
 * assert(quantusPartsFolder("o", "ecgnet", "lime") === "o/metrics/quantus_ecgnet_lime");
 * ```
 */
export function quantusPartsFolder(out: string, model: string, method: string): string {
  return join(out, "metrics", `quantus_${model}_${method}`);
}

/**
 * The model and method of a per-image file name `quantus_<model>_<method>.csv` (or of its parts
 * folder, without `.csv`), or undefined for another name. Model names contain underscores
 * (`efficientnet_b0`), so the longest registered architecture name that fits wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseQuantusFileName } from "./quantus_outputs.ts";
 * const parsed = parseQuantusFileName("quantus_efficientnet_b0_integrated_gradients.csv");
 * assert(parsed?.model === "efficientnet_b0" && parsed.method === "integrated_gradients");
 * ```
 */
export function parseQuantusFileName(name: string): { model: string; method: string } | undefined {
  const match = name.match(/^quantus_(.+?)(\.csv)?$/);
  if (!match) return undefined;
  const model = ARCHITECTURES.map((a) => a.name)
    .sort((a, b) => b.length - a.length)
    .find((m) => match[1].startsWith(`${m}_`));
  return model ? { model, method: match[1].slice(model.length + 1) } : undefined;
}

/**
 * Every model x method folder of parts under `<out>/metrics/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusPartsFolders } from "./quantus_outputs.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/metrics/quantus_ecgnet_gradcam`, { recursive: true });
 * assert((await quantusPartsFolders(out))[0].method === "gradcam");
 * ```
 */
export async function quantusPartsFolders(
  out: string,
): Promise<{ model: string; method: string; dir: string }[]> {
  const root = join(out, "metrics");
  if (!(await statOrUndefined(root))) return [];
  const found = [];
  for (const entry of await listDirSorted(root)) {
    const parsed = entry.isDirectory ? parseQuantusFileName(entry.name) : undefined;
    if (parsed) found.push({ ...parsed, dir: join(root, entry.name) });
  }
  return found;
}

/**
 * Merges a parts folder whose chunks are all done into its per-image file, removes the folder,
 * writes the file's provenance record and rebuilds the summary; returns the number of rows.
 * When the file holds a finished run of the same checkpoint, data set, target and batch size
 * (its record says so), the parts are combined with it ({@link combineScoreTables}): a run of
 * other metrics adds or replaces just its columns, a run on other images just its rows.
 *
 * @throws {InputError} listing the chunks not done yet.
 *
 * @example
 * ```ts ignore
 * await mergeQuantusParts("outputs/metrics/quantus_ecgnet_gradcam");
 * ```
 */
export async function mergeQuantusParts(dir: string): Promise<number> {
  const planned = await plannedRecord(dir);
  const fresh = await readAllParts(dir);
  const out = join(dir, "..", "..");
  const file = `${dir}.csv`;
  let table = fresh;
  let record = planned;
  if (planned) {
    const previous = await readProvenance(out, "quantus", planned.model, planned.method);
    const text = await Deno.readTextFile(file).catch(() => undefined);
    if (
      previous && text !== undefined && sameSubject(previous, planned, QUANTUS_SUBJECT_SETTINGS)
    ) {
      table = combineScoreTables(parseCsv(text), fresh);
      const metrics = table[0].slice(QUANTUS_ROW_COLUMNS.length, -1);
      const params = {
        ...previous.settings["--params"] as object,
        ...planned.settings["--params"] as object,
      };
      const columns = { ...previous.columns, ...planned.columns };
      record = {
        ...planned,
        settings: { ...planned.settings, "--metrics": metrics, "--params": params },
        columns: Object.fromEntries(metrics.flatMap((m) => m in columns ? [[m, columns[m]]] : [])),
      };
    }
  }
  await writeFileAtomic(file, stringifyCsv(table));
  await Deno.remove(dir, { recursive: true });
  if (record) await writeProvenance(out, record);
  await writeQuantusSummary(out);
  return table.length - 1;
}

/**
 * One per-image table from an earlier run's (`previous`) and a new run's (`fresh`), both with
 * the columns of {@link QUANTUS_ROW_COLUMNS}, metric columns and `nan_reasons`: the new run's
 * rows in its order, then the earlier rows of images it did not score; the earlier metric
 * columns in their order (a metric the new run scored takes its values), then the new ones. A
 * cell neither run scored is `NaN`, with its reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { combineScoreTables } from "./quantus_outputs.ts";
 * const head = ["id", "file", "true_class", "target_class"];
 * const previous = [[...head, "a", "b", "nan_reasons"], ["x", "x.png", "N", "N", "1", "NaN", "b: flat map"]];
 * const fresh = [[...head, "a", "nan_reasons"], ["x", "x.png", "N", "N", "3", ""]];
 * const table = combineScoreTables(previous, fresh);
 * assert.deepStrictEqual(table[1], ["x", "x.png", "N", "N", "3", "NaN", "b: flat map"]);
 * ```
 */
export function combineScoreTables(
  previous: readonly string[][],
  fresh: readonly string[][],
): string[][] {
  const fixed = QUANTUS_ROW_COLUMNS.length;
  const metricsOf = (table: readonly string[][]) => table[0].slice(fixed, -1);
  const [before, now] = [metricsOf(previous), metricsOf(fresh)];
  const metrics = [...before, ...now.filter((m) => !before.includes(m))];
  const byId = (table: readonly string[][]) => new Map(table.slice(1).map((r) => [r[0], r]));
  const [oldRows, newRows] = [byId(previous), byId(fresh)];
  const ids = [...newRows.keys(), ...[...oldRows.keys()].filter((id) => !newRows.has(id))];
  const cell = (row: string[] | undefined, names: string[], metric: string) => {
    const k = names.indexOf(metric);
    if (!row || k < 0) return undefined;
    return { value: row[fixed + k], reason: nanReasons(row.at(-1) ?? "", names).get(metric) };
  };
  const rows = ids.map((id) => {
    const [n, o] = [newRows.get(id), oldRows.get(id)];
    const cells = metrics.map((m) =>
      cell(n, now, m) ?? cell(o, before, m) ?? { value: "NaN", reason: NOT_SCORED }
    );
    const reasons = metrics.flatMap((m, k) =>
      cells[k].value === "NaN" ? [`${m}: ${cells[k].reason ?? "undefined"}`] : []
    );
    return [...(n ?? o)!.slice(0, fixed), ...cells.map((c) => c.value), reasons.join("; ")];
  });
  return [[...QUANTUS_ROW_COLUMNS, ...metrics, "nan_reasons"], ...rows];
}

/** A row's `nan_reasons` (`metric: why; metric: why`) by metric. */
function nanReasons(text: string, metrics: readonly string[]): Map<string, string> {
  const reasons = new Map<string, string>();
  if (text === "" || metrics.length === 0) return reasons;
  const names = metrics.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const starts = [...text.matchAll(new RegExp(`(?:^|; )(${names}): `, "g"))];
  starts.forEach((match, k) => {
    const end = k + 1 < starts.length ? starts[k + 1].index : text.length;
    reasons.set(match[1], text.slice(match.index + match[0].length, end));
  });
  return reasons;
}

/** A merged per-image file `<out>/metrics/quantus_<model>_<method>.csv`. */
export interface QuantusScoreFile {
  model: string;
  method: string;
  path: string;
}

/**
 * The merged per-image files under `<out>/metrics/` that belong to their model's current
 * checkpoint and the data set `selection` describes (by default each model's training data),
 * sorted by name, and one line for each file left out, with why.
 *
 * @throws {Deno.errors.NotFound} when `<out>/metrics` does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { selectQuantusScoreFiles } from "./quantus_outputs.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/metrics/quantus_ecgnet_lime`, { recursive: true }); // parts, not merged
 * await Deno.writeTextFile(`${out}/metrics/quantus_ecgnet_gradcam.csv`, "id\n");
 * const { files, leftOut } = await selectQuantusScoreFiles(out);
 * assert(files.map((f) => f.method).join() === "gradcam" && leftOut.length === 0);
 * ```
 */
export async function selectQuantusScoreFiles(
  out: string,
  selection?: OutputSelection,
): Promise<{ files: QuantusScoreFile[]; leftOut: string[] }> {
  const dir = join(out, "metrics");
  const found: QuantusScoreFile[] = [];
  for (const entry of await listDirSorted(dir)) {
    const parsed = parseQuantusFileName(entry.name);
    if (entry.isFile && entry.name.endsWith(".csv") && parsed) {
      found.push({ ...parsed, path: join(dir, entry.name) });
    }
  }
  const chosen = selection ?? await OutputSelection.open(out);
  const leftOut = found.flatMap((f) => chosen.leftOutLine("quantus", f.model, f.method) ?? []);
  const files = found.filter((f) => chosen.leftOut("quantus", f.model, f.method) === undefined);
  return { files, leftOut };
}

/**
 * The files of {@link selectQuantusScoreFiles}, without the lines.
 *
 * @throws {Deno.errors.NotFound} when `<out>/metrics` does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusScoreFiles } from "./quantus_outputs.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/metrics/quantus_ecgnet_lime`, { recursive: true }); // parts, not merged
 * await Deno.writeTextFile(`${out}/metrics/quantus_ecgnet_gradcam.csv`, "id\n");
 * assert((await quantusScoreFiles(out)).map((f) => f.method).join() === "gradcam");
 * ```
 */
export async function quantusScoreFiles(
  out: string,
  selection?: OutputSelection,
): Promise<QuantusScoreFile[]> {
  return (await selectQuantusScoreFiles(out, selection)).files;
}

/**
 * Rebuilds `<out>/results/quantus_summary.csv` from the per-image files in `<out>/metrics/` that
 * belong to `selection` (by default each model's current checkpoint and training data), so runs
 * of different models, methods or shards add up and runs of other checkpoints or data sets stay
 * out. Returns the file and one line per per-image file left out.
 *
 * @example
 * ```ts ignore
 * const { file, leftOut } = await writeQuantusSummary("outputs");
 * ```
 */
export async function writeQuantusSummary(
  out: string,
  selection?: OutputSelection,
): Promise<{ file: string; leftOut: string[] }> {
  const rows: string[][] = [];
  const { files, leftOut } = await selectQuantusScoreFiles(out, selection);
  for (const { path, ...parsed } of files) {
    const [header, ...body]: string[][] = parseCsv(await Deno.readTextFile(path));
    for (const [column, name] of header.entries()) {
      if (column < QUANTUS_ROW_COLUMNS.length || name === "nan_reasons") continue;
      const metric = getMetric(name);
      const scores = body.map((r) => Number(r[column]));
      const random = new SeededRandom(SUMMARY_SEED).fork(
        `${parsed.model}/${parsed.method}/${name}`,
      );
      const s = summariseScores(scores, random);
      rows.push([
        parsed.model,
        parsed.method,
        metric.name,
        metric.quantusName,
        metric.category,
        metric.direction,
        String(s.n),
        ...[s.mean, s.std, s.ci95Low, s.ci95High].map(formatScore),
        String(s.nanCount),
      ]);
    }
  }
  const file = join(out, "results", "quantus_summary.csv");
  await writeFileAtomic(file, stringifyCsv([[...QUANTUS_SUMMARY_COLUMNS], ...rows]));
  return { file, leftOut };
}

/**
 * The rows of `<out>/results/quantus_summary.csv` as objects keyed by column.
 *
 * @example
 * ```ts ignore
 * const rows = await readQuantusSummary("outputs");
 * ```
 */
export async function readQuantusSummary(out: string): Promise<Record<string, string>[]> {
  const text = await Deno.readTextFile(join(out, "results", "quantus_summary.csv"));
  return parseCsv(text, { columns: true });
}
