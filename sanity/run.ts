/**
 * The sanity checks of one outputs folder, end to end: train the models each architecture needs
 * (`models.ts`), score their test accuracy, explain the same test images with every method on
 * every model, compare the maps (`agreement.ts`), and write the tables under `<out>/sanity/`.
 *
 * Resume: training resumes as train does; each finished model and method leaves
 * `<out>/sanity/<model>/<method>.csv`, which a rerun keeps while `state.json` beside it still
 * names the same checkpoints and images (otherwise the folder is redone). Sharding: `--shard
 * I/N` runs the architectures at positions I, I+N, ... of `--models`; every file of an
 * architecture is its own, so once the shards' outputs folders are copied together, `deno task
 * merge` (`writeSanityTables` of `outputs.ts`) writes the combined tables of every architecture
 * there, as does rerunning with the same flags (which finds everything done).
 *
 * @module
 */
import { join } from "node:path";
import { z } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { parseStateJson } from "../core/state_file.ts";
import { withinHeap } from "../backends/heap.ts";
import { loadStageData } from "../data/load_data.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import type { HistoryRow } from "../training/history.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { checkpointFingerprint, dataIdentity, projectVersion } from "../runs/provenance.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import { ownsItem, type Shard } from "../runs/shard.ts";
import { explainBatch } from "../runs/xai_chunk.ts";
import { getExplainer, readsMasks } from "../xai/registry.ts";
import {
  accuracyCsv,
  type AccuracyRow,
  chanceAccuracy,
  learnedLabelsWarning,
  testAccuracy,
} from "./accuracy.ts";
import { mapAgreement } from "./agreement.ts";
import { loadSanityModel, type SanityModel, sanityModels, trainSanityModels } from "./models.ts";
import { SANITY_DIR, type SanityTables, writeSanityTables } from "./outputs.ts";
import { partCsv, type SimilarityRow } from "./similarity_table.ts";

/** Images per explain call: enough to fill the backend, small enough for IG's path batches. */
const EXPLAIN_CHUNK = 8;

/** What {@link runSanity} needs. */
export interface SanityOptions {
  /** The training config (`--epochs`, `--lr`, ... applied); `models` are the architectures. */
  config: Config;
  /** Attribution methods to check. */
  methods: readonly string[];
  /** Models per architecture that differ only in seed, the real one included (≥ 2). */
  seeds: number;
  /** Explain at most this many test images (default: all the test split holds). */
  images?: number;
  shard: Shard;
  build: ModelBuilder;
  cosine: boolean;
  /** Retrain the sanity models from scratch (never the train stage's real model). */
  fresh: boolean;
  /** Called after each epoch of any model (tests simulate a kill here). */
  onEpochEnd?: (model: SanityModel, row: HistoryRow) => void | Promise<void>;
  log?: (line: string) => void;
}

/** What {@link runSanity} wrote and found: the combined tables. */
export type SanityResult = SanityTables;

/** `<out>/sanity/<model>/state.json`: what the method files of that folder were made from. */
const stateSchema = z.strictObject({
  version: z.literal(1),
  checkpoints: z.record(z.string(), z.string()),
  images: z.array(z.string()),
});
type SanityState = z.infer<typeof stateSchema>;

/**
 * Checks the flags before anything is loaded.
 *
 * @throws {InputError} for fewer than two seeds, an unknown method, or a method that reads no
 * model (the evidence masks).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkSanityOptions } from "./run.ts";
 * checkSanityOptions(["saliency"], 2);
 * assert.throws(() => checkSanityOptions(["saliency"], 1), /--seeds 1/);
 * assert.throws(() => checkSanityOptions(["ground_truth"], 3), /ground_truth/);
 * ```
 */
export function checkSanityOptions(methods: readonly string[], seeds: number): void {
  if (!Number.isInteger(seeds) || seeds < 2) {
    throw new InputError(
      `--seeds ${seeds}: the seed comparison needs at least 2 models (the real one and one more)`,
    );
  }
  for (const method of methods) {
    getExplainer(method);
    if (readsMasks(method)) {
      throw new InputError(
        `--methods ${method}: it draws the evidence masks, not the model, so no model can change ` +
          "it; leave it out of the sanity checks",
      );
    }
  }
}

/** The raw maps of `net` for the test images `indices`, explaining each image's true class. */
async function explainImages(
  net: Parameters<typeof explainBatch>[1],
  method: string,
  test: LoadedImages,
  indices: readonly number[],
  progress: Progress,
): Promise<Float32Array> {
  const explainer = getExplainer(method);
  const chunks: Float32Array[] = [];
  for (let start = 0; start < indices.length; start += EXPLAIN_CHUNK) {
    const batch = assembleBatch(test, indices.slice(start, start + EXPLAIN_CHUNK));
    const [n, h] = batch.shape;
    const what = `${method}, a batch of ${n} image(s) of ${h} px`;
    const maps = await withinHeap(
      what,
      () => explainBatch(explainer, net, batch.xNHWC, batch.shape, batch.labels),
    );
    chunks.push(maps.rawNHW);
    progress.tick(n);
  }
  const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  return all;
}

/** The rows of one method: the permuted model vs the real one, and every pair of seeds. */
function methodRows(
  architecture: string,
  method: string,
  models: readonly SanityModel[],
  mapsByModel: ReadonlyMap<SanityModel, Float32Array>,
  imageIds: readonly string[],
  pixels: number,
): SimilarityRow[] {
  const real = models.find((m) => m.role === "real")!;
  const permuted = models.find((m) => m.role === "permuted_labels")!;
  const seeded = models.filter((m) => m.role !== "permuted_labels");
  const compare = (
    a: SanityModel,
    b: SanityModel,
    comparison: SimilarityRow["comparison"],
  ): SimilarityRow[] => {
    const { spearman, ssim } = mapAgreement(mapsByModel.get(a)!, mapsByModel.get(b)!, pixels);
    return imageIds.map((image, i) => ({
      model: architecture,
      method,
      comparison,
      seedA: a.seed,
      seedB: b.seed,
      image,
      spearman: spearman[i],
      ssim: ssim[i],
    }));
  };
  return [
    ...compare(real, permuted, "data_randomisation"),
    ...seeded.flatMap((a, i) => seeded.slice(i + 1).flatMap((b) => compare(a, b, "seeds"))),
  ];
}

/** Clears the folder's method files when they were made from other checkpoints or images. */
async function prepareFolder(folder: string, state: SanityState): Promise<void> {
  const file = join(folder, "state.json");
  if (await statOrUndefined(file)) {
    const saved = parseStateJson(
      await Deno.readTextFile(file),
      file,
      stateSchema,
      `delete the folder ${folder} and rerun`,
    );
    if (JSON.stringify(saved) === JSON.stringify(state)) return;
    await Deno.remove(folder, { recursive: true });
  }
  await writeFileAtomic(file, JSON.stringify(state, null, 1));
}

/** Trains, scores and explains one architecture; writes its folder under `<out>/sanity/`. */
async function checkArchitecture(
  architecture: string,
  options: SanityOptions,
  shared: {
    loaded: LoadedImages;
    test: LoadedImages;
    testIndices: number[];
    data: Awaited<ReturnType<typeof dataIdentity>>;
    version: string;
  },
  log: (line: string) => void,
): Promise<void> {
  const { config } = options;
  const models = sanityModels(architecture, config.out, config.seed, options.seeds);
  const trained = await trainSanityModels(models, {
    config,
    loaded: shared.loaded,
    build: options.build,
    cosine: options.cosine,
    fresh: options.fresh,
    data: shared.data,
    version: shared.version,
    onEpochEnd: options.onEpochEnd,
  });
  const folder = join(config.out, SANITY_DIR, architecture);
  const imageIds = shared.testIndices.map((i) => shared.test.samples[i].id);
  const checkpoints: Record<string, string> = {};
  for (const m of models) {
    checkpoints[m.name] = await checkpointFingerprint(modelPaths(m.out, m.name).best);
  }
  await prepareFolder(folder, { version: 1, checkpoints, images: imageIds });

  const nets = new Map<SanityModel, Awaited<ReturnType<typeof loadSanityModel>>>();
  try {
    for (const m of models) nets.set(m, await loadSanityModel(m, options.build));
    const chance = chanceAccuracy(shared.testIndices.map((i) => shared.test.samples[i].label));
    const accuracy: AccuracyRow[] = [];
    for (const m of models) {
      const result = trained.get(m)!;
      const best = result.history.find((r) => r.epoch === result.bestEpoch);
      accuracy.push({
        model: architecture,
        checkpoint: m.name,
        role: m.role,
        seed: m.seed,
        bestEpoch: result.bestEpoch,
        trainAccuracy: best?.trainAccuracy ?? NaN,
        testAccuracy: await testAccuracy(
          nets.get(m)!,
          shared.test,
          shared.testIndices,
          config.batchSize,
        ),
        chanceAccuracy: chance,
      });
    }
    await writeFileAtomic(join(folder, "accuracy.csv"), accuracyCsv(accuracy));
    const permuted = accuracy.find((r) => r.role === "permuted_labels")!;
    log(
      `${permuted.checkpoint}: test accuracy ${permuted.testAccuracy.toFixed(3)} on the true ` +
        `labels (chance ${chance.toFixed(3)}; it fit its shuffled training labels to ` +
        `${permuted.trainAccuracy.toFixed(3)})`,
    );
    const warning = learnedLabelsWarning(accuracy);
    if (warning) log(warning);

    const pixels = config.imgSizePx * config.imgSizePx;
    for (const method of options.methods) {
      const file = join(folder, `${method}.csv`);
      if (await statOrUndefined(file)) {
        log(`${architecture} ${method}: done (${file}); kept`);
        continue;
      }
      const progress = new Progress(
        `${architecture} ${method}`,
        models.length * shared.testIndices.length,
      );
      const maps = new Map<SanityModel, Float32Array>();
      for (const m of models) {
        maps.set(
          m,
          await explainImages(nets.get(m)!, method, shared.test, shared.testIndices, progress),
        );
      }
      progress.done();
      const rows = methodRows(architecture, method, models, maps, imageIds, pixels);
      await writeFileAtomic(file, partCsv(rows));
    }
  } finally {
    for (const net of nets.values()) net.dispose();
  }
}

/**
 * Runs the sanity checks for the architectures this shard owns, then writes the combined
 * tables of every architecture of `config.models` done so far.
 *
 * @throws {InputError} for bad options, a data set without test images, or a real model the
 * train stage trained with other settings.
 *
 * @example
 * ```ts ignore
 * const result = await runSanity({ config, methods: ["saliency"], seeds: 3, shard: UNSHARDED,
 *   build: REGISTRY_BUILDER, cosine: false, fresh: false });
 * ```
 */
export async function runSanity(options: SanityOptions): Promise<SanityResult> {
  const { config } = options;
  const log = options.log ?? console.log;
  checkSanityOptions(options.methods, options.seeds);
  const owned = config.models.filter((_, k) => ownsItem(options.shard, k));
  if (owned.length > 0) {
    const { loaded } = await loadStageData(config, ["train", "val"], "sanity");
    const { loaded: test } = await loadStageData(config, ["test"], "sanity");
    const all = test.samples.map((_, i) => i);
    const testIndices = all.slice(0, options.images ?? all.length);
    if (testIndices.length === 0) {
      throw new InputError(`${config.data}: the sanity checks explain test images; it has none`);
    }
    const shared = {
      loaded,
      test,
      testIndices,
      data: await dataIdentity(config.data),
      version: await projectVersion(),
    };
    for (const architecture of owned) await checkArchitecture(architecture, options, shared, log);
  }
  const result = await writeSanityTables(config.out, config.models);
  for (const r of result.summary) {
    log(
      `${r.model} ${r.method} ${r.statistic}: permuted labels ${r.permuted.mean.toFixed(3)}, ` +
        `seeds ${r.seeds.mean.toFixed(3)} [${r.seeds.ci95Low.toFixed(3)}, ` +
        `${r.seeds.ci95High.toFixed(3)}] -> ${r.verdict}`,
    );
  }
  return result;
}
