/**
 * The models the sanity checks train for one architecture, and their training through the
 * train stage's loop (`training/train_loop.ts`: the same checkpoints, resume state and history):
 *
 * - the real model: the train stage's own `<out>/checkpoints/<model>_best`, reused when train
 *   made it with the same settings, else trained there exactly as `deno task train` would;
 * - the permuted-label model (Adebayo et al. 2018's data randomisation test): the same settings
 *   and seed, trained on the train and val splits with their labels shuffled, under
 *   `<out>/sanity/checkpoints/<model>-labels-permuted_*`;
 * - k − 1 more seeds (seed + 1, seed + 2, ...), otherwise the same, under
 *   `<out>/sanity/checkpoints/<model>-seed-<seed>_*`.
 *
 * The training streams are forked by checkpoint name as well as seed, so each model starts from
 * its own initialisation and draws its own batches.
 *
 * @module
 */
import { join } from "node:path";
import type { tf } from "../deps.ts";
import { type Config, validateConfig } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { SeededRandom } from "../core/random.ts";
import type { LoadedImages } from "../data/loader.ts";
import {
  type DataIdentity,
  loadWeightsInto,
  modelPaths,
  readCheckpointMeta,
} from "../training/checkpoint_io.ts";
import { readResumeManifest, settingsMismatch } from "../training/resume_state.ts";
import { trainModel, type TrainModelResult } from "../training/train_loop.ts";
import type { HistoryRow } from "../training/history.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import { switchRun } from "../runs/park.ts";
import { permuteLabels } from "./label_permutation.ts";
import { SANITY_DIR, sanityCheckpointName } from "./outputs.ts";

/** What a trained model is to the sanity checks. */
export type SanityRole = "real" | "permuted_labels" | "seed";

/** One model the sanity checks train. */
export interface SanityModel {
  /** The architecture (`--models`). */
  architecture: string;
  /** Its checkpoint name: the architecture for the real model. */
  name: string;
  role: SanityRole;
  /** Its training seed. */
  seed: number;
  /** The outputs folder its `checkpoints/` and `metrics/` lie in. */
  out: string;
}

/**
 * The models to train for `architecture`: the real one, the permuted-label one, then the
 * `seeds − 1` extra seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanityModels } from "./models.ts";
 * const models = sanityModels("ecgnet", "outputs", 42, 3);
 * assert(models.map((m) => m.name).join() === "ecgnet,ecgnet-labels-permuted,ecgnet-seed-43,ecgnet-seed-44");
 * assert(models[0].out === "outputs" && models[1].out === "outputs/sanity" && models[1].seed === 42);
 * ```
 */
export function sanityModels(
  architecture: string,
  out: string,
  seed: number,
  seeds: number,
): SanityModel[] {
  const own = join(out, SANITY_DIR);
  return [
    { architecture, name: architecture, role: "real", seed, out },
    {
      architecture,
      name: sanityCheckpointName(architecture),
      role: "permuted_labels",
      seed,
      out: own,
    },
    ...Array.from({ length: seeds - 1 }, (_, j): SanityModel => ({
      architecture,
      name: sanityCheckpointName(architecture, seed + j + 1),
      role: "seed",
      seed: seed + j + 1,
      out: own,
    })),
  ];
}

/** What {@link trainSanityModels} needs beyond the models. */
export interface SanityTraining {
  /** The run's training config (`--epochs`, `--lr`, ... applied). */
  config: Config;
  /** Train and val images with their true labels. */
  loaded: LoadedImages;
  build: ModelBuilder;
  cosine: boolean;
  /** Discard the sanity models' own resume states (never the real model's). */
  fresh: boolean;
  data: DataIdentity;
  version: string;
  /** Called after each epoch of any model (tests simulate a kill here). */
  onEpochEnd?: (model: SanityModel, row: HistoryRow) => void | Promise<void>;
}

/**
 * Refuses a real model the train stage trained with other settings than the sanity models
 * (`reference`'s saved run, a permuted-label or seed model of this run): the seeds would then
 * differ in more than the seed. Nothing to refuse while either has no saved run yet.
 *
 * @throws {InputError} listing the differing settings and the way out.
 */
async function requireSameSettings(real: SanityModel, reference: SanityModel): Promise<void> {
  const realDir = modelPaths(real.out, real.name);
  const saved = await readResumeManifest(realDir.last);
  const ours = await readResumeManifest(modelPaths(reference.out, reference.name).last);
  if (!saved) {
    if (await statOrUndefined(join(realDir.best, "meta.json"))) {
      throw new InputError(
        `${realDir.best} has no resume state beside it (imported weights, or ${realDir.last} ` +
          `was removed): the sanity checks compare models trained here; run deno task train ` +
          `--models ${real.name} --fresh first, or use another --out`,
      );
    }
    return;
  }
  if (!ours) return;
  const expected = { ...ours.settings, model: real.name, seed: real.seed };
  const differences = [
    ...settingsMismatch(saved.settings, expected),
    ...(saved.settings.epochs === expected.epochs
      ? []
      : [`epochs: ${saved.settings.epochs} -> ${expected.epochs}`]),
  ];
  if (differences.length > 0) {
    throw new InputError(
      `${realDir.last}: the train stage trained ${real.name} with other settings than this ` +
        `sanity run (${[...new Set(differences)].join("; ")}); the sanity checks compare with ` +
        "that model, so give sanity the flags you gave train (or use another --out)",
    );
  }
}

/**
 * Trains (or resumes, or finds trained) every model of `models` through the train stage's
 * loop, the permuted-label model first: its saved settings are what the real model's must
 * match. Returns each model's result in the order given.
 *
 * @throws {InputError} when the train stage's real model has other settings.
 *
 * @example
 * ```ts ignore
 * const results = await trainSanityModels(sanityModels("ecgnet", "outputs", 42, 3), training);
 * ```
 */
export async function trainSanityModels(
  models: readonly SanityModel[],
  training: SanityTraining,
): Promise<Map<SanityModel, TrainModelResult>> {
  const real = models.find((m) => m.role === "real");
  const permuted = models.find((m) => m.role === "permuted_labels");
  if (!real || !permuted) throw new RangeError("trainSanityModels: a real and a permuted model");
  const check = () => requireSameSettings(real, permuted);
  // Another data set is another run, as in train: the saved one moves aside.
  await switchRun(real.out, real.name, training.data);
  await check();
  const results = new Map<SanityModel, TrainModelResult>();
  const order = [permuted, ...models.filter((m) => m !== permuted)];
  for (const model of order) {
    const loaded = model.role === "permuted_labels"
      ? permuteLabels(
        training.loaded,
        new SeededRandom(model.seed).fork(`sanity/labels/${model.name}`),
        ["train", "val"],
      )
      : training.loaded;
    const config = validateConfig(
      { ...training.config, out: model.out, seed: model.seed },
      "the sanity checks' seeds",
    );
    const result = await trainModel({
      modelName: model.name,
      build: (seed) =>
        training.build(model.architecture, {
          numClasses: config.classes.length,
          imgSizePx: config.imgSizePx,
          seed,
        }),
      loaded,
      config,
      cosine: training.cosine,
      fresh: training.fresh && model.role !== "real",
      data: training.data,
      version: training.version,
      onEpochEnd: async (row) => {
        // The first epoch of the permuted model is enough to refuse a mismatched real model.
        if (model === permuted) await check();
        await training.onEpochEnd?.(model, row);
      },
    });
    if (model === permuted) await check();
    results.set(model, result);
  }
  return new Map(models.map((m) => [m, results.get(m)!]));
}

/**
 * The best checkpoint of `model`, built from its architecture (a sanity model's checkpoint is
 * named apart from its architecture, so the registry cannot build it by name).
 *
 * @example
 * ```ts ignore
 * const net = await loadSanityModel(model, REGISTRY_BUILDER);
 * ```
 */
export async function loadSanityModel(
  model: SanityModel,
  build: ModelBuilder,
): Promise<tf.LayersModel> {
  const dir = modelPaths(model.out, model.name).best;
  const meta = await readCheckpointMeta(dir);
  const net = build(model.architecture, {
    numClasses: meta.classes.length,
    imgSizePx: meta.imgSizePx,
  });
  try {
    await loadWeightsInto(net, dir);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
