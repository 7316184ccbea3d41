/**
 * `deno task data:split`: copy a raw `<Class>/` folder into a stratified, seeded
 * train/val/test split (70/15/15 by default). Originals are never moved or deleted.
 *
 * @module
 */
import { Progress } from "../core/progress.ts";
import { checkWriteFolder } from "../core/write_folder.ts";
import { splitFolder } from "../data/split_folder.ts";
import { DEFAULT_SPLIT_FRACTIONS, parseSplitFractions, SPLITS } from "../data/stratified_split.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `data:split`. */
export const dataSplitSpec: StageSpec = {
  name: "data:split",
  summary:
    "Split a raw <Class>/ image folder into train/val/test (stratified, seeded, by copying).",
  shared: ["data", "seed", "on-bad-image"],
  flags: {
    dest: { type: "string", valueName: "DIR", help: "where train/val/test go (default: --data)" },
    ratios: {
      type: "string",
      valueName: "T,V,T",
      help: `train,val,test fractions (default ${
        Object.values(DEFAULT_SPLIT_FRACTIONS).join(",")
      })`,
    },
    force: { type: "boolean", help: "replace an existing split an earlier data:split made" },
  },
  details: "Example: deno task data:split --data datasets/ecg_images",
};

/**
 * Runs `data:split` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { runStage } from "./cli.ts";
 * import { dataSplit, dataSplitSpec } from "./data_split.ts";
 * await runStage(dataSplitSpec, ["--data", "datasets/ecg_images"], dataSplit);
 * ```
 */
export async function dataSplit({ config, flags }: StageArgs): Promise<void> {
  const fractions = typeof flags.ratios === "string"
    ? parseSplitFractions(flags.ratios)
    : DEFAULT_SPLIT_FRACTIONS;
  const dest = typeof flags.dest === "string" ? flags.dest : undefined;
  await checkWriteFolder(dest === undefined ? "--data" : "--dest", dest ?? config.data);
  let progress: Progress | undefined;
  const result = await splitFolder({
    source: config.data,
    dest,
    fractions,
    seed: config.seed,
    force: flags.force === true,
    onBadImage: config.onBadImage,
    onCopied: (_done, total) => (progress ??= new Progress("copy", total)).tick(),
  });
  progress?.done();
  for (const split of SPLITS) {
    const counts = Object.entries(result.counts[split]).map(([c, n]) => `${c} ${n}`).join(", ");
    console.log(`${split}: ${counts}`);
  }
  for (const { file, reason } of result.skipped) console.log(`skipped ${file}: ${reason}`);
  console.log(`split written under ${result.dest} (manifest: split.json)`);
}

if (import.meta.main) Deno.exit(await runStage(dataSplitSpec, Deno.args, dataSplit));
