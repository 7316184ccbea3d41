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
import { readAllParts } from "./shard.ts";

/** Columns of a per-image file before the metric columns; `nan_reasons` comes last. */
export const QUANTUS_ROW_COLUMNS = ["id", "file", "true_class", "target_class"] as const;

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
 * and rebuilds the summary; returns the number of rows.
 *
 * @throws {InputError} listing the chunks not done yet.
 *
 * @example
 * ```ts ignore
 * await mergeQuantusParts("outputs/metrics/quantus_ecgnet_gradcam");
 * ```
 */
export async function mergeQuantusParts(dir: string): Promise<number> {
  const [header, ...rows] = await readAllParts(dir);
  await writeFileAtomic(`${dir}.csv`, stringifyCsv([header, ...rows]));
  await Deno.remove(dir, { recursive: true });
  await writeQuantusSummary(join(dir, "..", ".."));
  return rows.length;
}

/**
 * Every merged per-image file `<out>/metrics/quantus_<model>_<method>.csv`, sorted by name.
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
): Promise<{ model: string; method: string; path: string }[]> {
  const dir = join(out, "metrics");
  const found = [];
  for (const entry of await listDirSorted(dir)) {
    const parsed = parseQuantusFileName(entry.name);
    if (entry.isFile && entry.name.endsWith(".csv") && parsed) {
      found.push({ ...parsed, path: join(dir, entry.name) });
    }
  }
  return found;
}

/**
 * Rebuilds `<out>/results/quantus_summary.csv` from every per-image file in `<out>/metrics/`, so
 * runs of different models, methods or shards add up.
 *
 * @example
 * ```ts ignore
 * await writeQuantusSummary("outputs");
 * ```
 */
export async function writeQuantusSummary(out: string): Promise<string> {
  const rows: string[][] = [];
  for (const { path, ...parsed } of await quantusScoreFiles(out)) {
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
  return file;
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
