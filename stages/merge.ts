/**
 * `deno task merge`: combine the part files that sharded runs (`--shard i/n`) left under an
 * outputs folder into exactly what one unsharded run writes.
 *
 * Each sharded output kind registers a {@link PartMerger}; a stage that adds sharding adds
 * one line to {@link PART_MERGERS}.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { readPartsState } from "../runs/shard.ts";
import { mergeQuantusParts, quantusPartsFolders } from "../runs/quantus_outputs.ts";
import { mergeXaiMethod, xaiMethodDirs } from "../runs/xai_merge.ts";
import { sanityArchitectures, writeSanityTables } from "../sanity/outputs.ts";
import { mergeMetaParts, metaPartsFolders } from "../runs/meta_outputs.ts";

/** One kind of sharded output: where its part-holding folders are and how to merge one. */
export interface PartMerger {
  /** The stage that writes these parts, e.g. `xai`. */
  stage: string;
  /** Candidate folders under the outputs folder `out`, each with a label for messages. */
  folders: (out: string) => Promise<{ label: string; dir: string }[]>;
  /** Merges one folder whose parts are all done; returns the number of rows merged. */
  merge: (dir: string) => Promise<number>;
}

/** The mergers of every sharded stage (`train` needs none: its files are per model). */
export const PART_MERGERS: readonly PartMerger[] = [
  {
    stage: "xai",
    folders: async (out) =>
      (await xaiMethodDirs(out)).map(({ model, method, dir }) => ({
        label: `${model} ${method}`,
        dir,
      })),
    merge: mergeXaiMethod,
  },
  {
    stage: "quantus",
    folders: async (out) =>
      (await quantusPartsFolders(out)).map(({ model, method, dir }) => ({
        label: `${model} ${method}`,
        dir,
      })),
    merge: mergeQuantusParts,
  },
  {
    stage: "meta",
    folders: async (out) =>
      (await metaPartsFolders(out)).map(({ model, metric, dir }) => ({
        label: `${model} ${metric}`,
        dir,
      })),
    merge: mergeMetaParts,
  },
];

/** Command-line description of `merge`. */
export const mergeSpec: StageSpec = {
  name: "merge",
  summary: "Combine the part files of sharded runs into what one unsharded run writes.",
  shared: ["out"],
  details: "Run it once every shard has finished, on an outputs folder holding all shards' " +
    "files (on one file system, or the shards' outputs folders copied together).\n" +
    "Folders with missing chunks are listed and left as they are (exit code 1).\n" +
    "The sanity checks' shards leave whole architecture folders under <out>/sanity/; merge " +
    "rebuilds sanity's combined tables from every one there.\n" +
    "Example: deno task merge --out outputs",
};

/**
 * Runs `merge` with parsed arguments.
 *
 * @throws {InputError} listing every folder that could not be merged yet.
 *
 * @example
 * ```ts
 * import { merge } from "./merge.ts";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * await merge({ config: { ...DEFAULT_CONFIG, out: await Deno.makeTempDir() }, flags: {} });
 * ```
 */
export async function merge({ config }: StageArgs): Promise<void> {
  const problems: string[] = [];
  let merged = 0;
  for (const merger of PART_MERGERS) {
    for (const { label, dir } of await merger.folders(config.out)) {
      try {
        if (!(await readPartsState(dir))) continue;
        const rows = await merger.merge(dir);
        console.log(`${merger.stage} ${label}: merged ${rows} rows -> ${dir}`);
        merged++;
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        problems.push(`  ${merger.stage} ${label}: ${e.message}`);
      }
    }
  }
  // Sanity's shards own whole architectures, so they leave no parts: their combined tables
  // are rebuilt from every architecture's folder.
  const architectures = await sanityArchitectures(config.out);
  if (architectures.length > 0) {
    try {
      const { files } = await writeSanityTables(config.out);
      console.log(`sanity ${architectures.join(", ")}: combined -> ${files.join(", ")}`);
      merged++;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(`  sanity: ${e.message}`);
    }
  }
  if (problems.length > 0) {
    throw new InputError(`merge: ${problems.length} folder(s) not merged:\n${problems.join("\n")}`);
  }
  console.log(merged === 0 ? `nothing to merge in ${config.out}` : `merged ${merged} folder(s)`);
}

if (import.meta.main) Deno.exit(await runStage(mergeSpec, Deno.args, merge));
