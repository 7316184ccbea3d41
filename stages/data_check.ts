/**
 * `deno task data:check`: decode every image of a data set at the model size, report
 * unreadable files, and warm the image cache so later stages start fast.
 *
 * @module
 */
import { countSamples } from "../data/dataset.ts";
import { SPLITS } from "../data/stratified_split.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadStageData } from "../data/load_data.ts";

/** Command-line description of `data:check`. */
export const dataCheckSpec: StageSpec = {
  name: "data:check",
  summary: "Decode and resize every image of a data set, report bad files, fill the image cache.",
  shared: ["data", "out", "limit", "img-size", "seed", "config", "on-bad-image"],
  details: "Example: deno task data:check --data ../shared/data/ecg-images --on-bad-image skip",
};

/**
 * Runs `data:check` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { runStage } from "./cli.ts";
 * import { dataCheck, dataCheckSpec } from "./data_check.ts";
 * await runStage(dataCheckSpec, ["--limit", "8"], dataCheck);
 * ```
 */
export async function dataCheck({ config }: StageArgs): Promise<void> {
  const started = performance.now();
  const { dataset, loaded } = await loadStageData(config, SPLITS, "data:check");
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `data set: ${dataset.root} (${dataset.layout}), classes: ${dataset.classes.join(", ")}`,
  );
  const counts = countSamples(loaded.samples);
  for (const split of SPLITS) {
    const line = dataset.classes.map((c) => `${c} ${counts[split][c] ?? 0}`).join(", ");
    console.log(`  ${split}: ${line}`);
  }
  const masks = loaded.samples.filter((s) => s.maskFile).length;
  console.log(
    `${loaded.images.length} images at ${config.imgSizePx}px in ${seconds.toFixed(1)} s` +
      `${masks ? `, ${masks} with evidence masks` : ""}; ${loaded.skipped.length} skipped`,
  );
}

if (import.meta.main) Deno.exit(await runStage(dataCheckSpec, Deno.args, dataCheck));
