/**
 * Stage glue for data: open the configured data set, apply `--limit`, load the images through
 * the cache with a progress bar, and report (and list) skipped files.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "../core/config.ts";
import { Progress } from "../core/progress.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { stringifyCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { type Dataset, openDataset } from "./dataset.ts";
import { limitPerSplit } from "./limit.ts";
import { type LoadedImages, loadImages } from "./loader.ts";
import type { Split } from "./stratified_split.ts";

/**
 * The decoded-image cache folder of an outputs folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imageCacheDir } from "./load_data.ts";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * assert(imageCacheDir(DEFAULT_CONFIG) === "outputs/cache/images");
 * ```
 */
export function imageCacheDir(config: Config): string {
  return join(config.out, "cache", "images");
}

/**
 * Opens the data set for `splits` and loads its images at the config's size.
 *
 * @throws {InputError} for unreadable images under `--on-bad-image fail` (all of them listed), or
 * when skipping them leaves one of `splits` empty.
 *
 * @example
 * ```ts ignore
 * const { dataset, loaded } = await loadStageData(config, ["train", "val"], "train");
 * ```
 */
export async function loadStageData(
  config: Config,
  splits: readonly Split[],
  stage: string,
): Promise<{ dataset: Dataset; loaded: LoadedImages }> {
  const dataset = await openDataset(config.data, {
    classes: config.classes,
    splits,
    seed: config.seed,
  });
  const samples = limitPerSplit(dataset.samples, config.limit);
  const progress = new Progress(`load ${splits.join("+")}`, samples.length);
  const loaded = await loadImages(samples, {
    sizePx: config.imgSizePx,
    cacheDir: imageCacheDir(config),
    onBadImage: config.onBadImage,
    onLoaded: () => progress.tick(),
  });
  progress.done();
  if (loaded.skipped.length > 0) {
    const listFile = join(config.out, "results", `skipped_images_${stage.replace(":", "_")}.csv`);
    const rows = loaded.skipped.map((s) => [s.file, s.reason]);
    await writeFileAtomic(listFile, stringifyCsv([["file", "reason"], ...rows]));
    console.warn(`skipped ${loaded.skipped.length} unreadable image(s), listed in ${listFile}:`);
    for (const s of loaded.skipped) console.warn(`  ${s.reason}`);
    for (const split of splits) {
      if (
        samples.some((s) => s.split === split) && !loaded.samples.some((s) => s.split === split)
      ) {
        throw new InputError(
          `${config.data}: every image of the ${split} split is unreadable (listed in ` +
            `${listFile}), so --on-bad-image skip would leave it empty; fix or replace them`,
        );
      }
    }
  }
  return { dataset, loaded };
}
