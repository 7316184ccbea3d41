/**
 * The sanity checks' files under `<out>/sanity/`: per architecture a folder (`<model>/`: one
 * CSV per method, `accuracy.csv`, `state.json`) and its models' checkpoints
 * (`checkpoints/<model>-labels-permuted_*`, `checkpoints/<model>-seed-<seed>_*`), and the
 * combined tables made from every such folder.
 *
 * The combined tables are derived: {@link writeSanityTables} rebuilds them from the folders,
 * each architecture summarised with its real model's seed (its `accuracy.csv`), so the tables of
 * folders made by separate shards, or left after a run moved away (`runs/park.ts`), are what one
 * run of them all writes.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { accuracyCsv, type AccuracyRow, parseAccuracyCsv } from "./accuracy.ts";
import { combinedCsvs, parsePartCsv, type SimilarityRow } from "./similarity_table.ts";
import { type SanitySummaryRow, summariseSanity, summaryCsv } from "./summary.ts";

/** The folder under the outputs folder that holds everything the sanity checks write. */
export const SANITY_DIR = "sanity";

/** The sanity models' checkpoints, below {@link SANITY_DIR}. */
const CHECKPOINTS = "checkpoints";

/** The combined tables under `<out>/sanity/`. */
export const SANITY_FILES = {
  dataRandomisation: "sanity_data_randomisation.csv",
  seeds: "sanity_seeds.csv",
  summary: "sanity_summary.csv",
  accuracy: "sanity_accuracy.csv",
} as const;

/** What the combined tables hold. */
export interface SanityTables {
  summary: SanitySummaryRow[];
  accuracy: AccuracyRow[];
  /** The combined tables' paths. */
  files: string[];
}

/**
 * The checkpoint name of an architecture's permuted-label model (`seed` undefined) or of its
 * model of training seed `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanityCheckpointName } from "./outputs.ts";
 * assert(sanityCheckpointName("ecgnet") === "ecgnet-labels-permuted");
 * assert(sanityCheckpointName("ecgnet", 43) === "ecgnet-seed-43");
 * ```
 */
export function sanityCheckpointName(architecture: string, seed?: number): string {
  return seed === undefined ? `${architecture}-labels-permuted` : `${architecture}-seed-${seed}`;
}

/**
 * The architectures with a folder under `<out>/sanity/` (one holding `state.json`), sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanityArchitectures } from "./outputs.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/sanity/ecgnet`, { recursive: true });
 * await Deno.writeTextFile(`${out}/sanity/ecgnet/state.json`, "{}");
 * await Deno.mkdir(`${out}/sanity/checkpoints/ecgnet-seed-43_best`, { recursive: true });
 * assert.deepStrictEqual(await sanityArchitectures(out), ["ecgnet"]);
 * ```
 */
export async function sanityArchitectures(out: string): Promise<string[]> {
  const root = join(out, SANITY_DIR);
  if (!(await statOrUndefined(root))?.isDirectory) return [];
  const found: string[] = [];
  for (const entry of await listDirSorted(root)) {
    if (!entry.isDirectory || entry.name === CHECKPOINTS) continue;
    if (await statOrUndefined(join(root, entry.name, "state.json"))) found.push(entry.name);
  }
  return found;
}

/**
 * The paths, relative to the outputs folder, of what the sanity checks made for `architecture`:
 * its folder and its sanity models' checkpoints, those that exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanityPaths } from "./outputs.ts";
 * const out = await Deno.makeTempDir();
 * for (const dir of ["ecgnet", "checkpoints/ecgnet-seed-43_best", "checkpoints/ecgnet-labels-permuted_last",
 *   "checkpoints/ecgnet-v2-seed-43_best"]) await Deno.mkdir(`${out}/sanity/${dir}`, { recursive: true });
 * assert.deepStrictEqual(await sanityPaths(out, "ecgnet"), [
 *   "sanity/ecgnet", "sanity/checkpoints/ecgnet-labels-permuted_last", "sanity/checkpoints/ecgnet-seed-43_best",
 * ]);
 * ```
 */
export async function sanityPaths(out: string, architecture: string): Promise<string[]> {
  const root = join(out, SANITY_DIR);
  const paths: string[] = [];
  if ((await statOrUndefined(join(root, architecture)))?.isDirectory) {
    paths.push(`${SANITY_DIR}/${architecture}`);
  }
  if (!(await statOrUndefined(join(root, CHECKPOINTS)))?.isDirectory) return paths;
  const permuted = sanityCheckpointName(architecture);
  const seedPrefix = sanityCheckpointName(architecture, 0).slice(0, -1);
  const seeded = (name: string) =>
    name.startsWith(seedPrefix) && /^\d+$/.test(name.slice(seedPrefix.length));
  for (const entry of await listDirSorted(join(root, CHECKPOINTS))) {
    const name = entry.name.replace(/_(best|last)$/, "");
    if (name === entry.name || (name !== permuted && !seeded(name))) continue;
    paths.push(`${SANITY_DIR}/${CHECKPOINTS}/${entry.name}`);
  }
  return paths;
}

/**
 * Writes the combined tables under `<out>/sanity/` from the folders of `architectures` that
 * exist (every architecture folder there when undefined), each summarised with its real model's
 * seed; with no folder left the tables are removed.
 *
 * @throws {InputError} for a folder with method files but no `accuracy.csv` (the real model's
 * seed), naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeSanityTables } from "./outputs.ts";
 * const out = await Deno.makeTempDir();
 * const tables = await writeSanityTables(out);
 * assert(tables.summary.length === 0 && tables.files.length === 0);
 * ```
 */
export async function writeSanityTables(
  out: string,
  architectures?: readonly string[],
): Promise<SanityTables> {
  const root = join(out, SANITY_DIR);
  const files = Object.fromEntries(
    Object.entries(SANITY_FILES).map(([key, name]) => [key, join(root, name)]),
  ) as Record<keyof typeof SANITY_FILES, string>;
  const present = await sanityArchitectures(out);
  const chosen = (architectures ?? present).filter((a) => present.includes(a));
  if (chosen.length === 0) {
    for (const file of Object.values(files)) await Deno.remove(file).catch(() => {});
    return { summary: [], accuracy: [], files: [] };
  }
  const rows: SimilarityRow[] = [];
  const accuracy: AccuracyRow[] = [];
  const summary: SanitySummaryRow[] = [];
  for (const architecture of [...chosen].sort((a, b) => a.localeCompare(b))) {
    const folder = join(root, architecture);
    const mine: SimilarityRow[] = [];
    const accuracyFile = join(folder, "accuracy.csv");
    const own = (await statOrUndefined(accuracyFile))
      ? parseAccuracyCsv(await Deno.readTextFile(accuracyFile), accuracyFile)
      : [];
    for (const entry of await listDirSorted(folder)) {
      if (!entry.isFile || !entry.name.endsWith(".csv") || entry.name === "accuracy.csv") continue;
      const file = join(folder, entry.name);
      const text = await Deno.readTextFile(file);
      mine.push(...parsePartCsv(text, file, architecture, entry.name.slice(0, -4)));
    }
    const seed = own.find((r) => r.role === "real")?.seed;
    if (mine.length > 0 && seed === undefined) {
      throw new InputError(
        `${accuracyFile}: missing or without the real model's row, which gives the seed of the ` +
          `summary; delete ${folder} and rerun deno task sanity`,
      );
    }
    mine.sort((a, b) => a.method.localeCompare(b.method));
    rows.push(...mine);
    accuracy.push(...own);
    // The summary forks its stream by model, method and statistic, so summarising each
    // architecture alone gives the rows a summary of all of them gives.
    if (seed !== undefined) summary.push(...summariseSanity(mine, seed));
  }
  const tables = combinedCsvs(rows);
  await writeFileAtomic(files.dataRandomisation, tables.dataRandomisation);
  await writeFileAtomic(files.seeds, tables.seeds);
  await writeFileAtomic(files.summary, summaryCsv(summary));
  await writeFileAtomic(files.accuracy, accuracyCsv(accuracy));
  return { summary, accuracy, files: Object.values(files) };
}
