/**
 * `deno task sanity`: the sanity checks that need training (Adebayo et al. 2018): the data
 * randomisation test and the consistency of each method across training seeds. The work is in
 * `sanity/`; this file is the command line.
 *
 * @module
 */
import { describeBackend, startBackend } from "../backends/backend.ts";
import { unknownModelsError } from "../models/registry.ts";
import { REGISTRY_BUILDER } from "../runs/model_source.ts";
import { SHARD_FLAGS, shardFromCommandLine } from "../runs/shard.ts";
import { EXPLAINERS } from "../xai/registry.ts";
import type { SanityModel } from "../sanity/models.ts";
import { runSanity, type SanityResult } from "../sanity/run.ts";
import type { HistoryRow } from "../training/history.ts";
import { InputError } from "../core/errors.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { trainingConfig, trainSpec } from "./train.ts";
import { parseMethods, XAI_DEFAULT_METHODS } from "./xai.ts";

/** Models per architecture that differ only in seed, by default. */
const DEFAULT_SEEDS = 3;

/** The training flags sanity shares with train (its models must be trained alike). */
const TRAINING_FLAGS = [
  "epochs",
  "batch-size",
  "lr",
  "weight-decay",
  "patience",
  "cosine",
  "no-augment",
  "augment-fill",
] as const;

/** Command-line description of `sanity`. */
export const sanitySpec: StageSpec = {
  name: "sanity",
  summary: "Sanity checks that train: data randomisation test and seed consistency per method.",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "img-size",
    "seed",
    "config",
    "backend",
    "convolutions",
    "heap-budget-mb",
    "on-bad-image",
  ],
  flags: {
    ...SHARD_FLAGS,
    ...Object.fromEntries(TRAINING_FLAGS.map((f) => [f, trainSpec.flags![f]])),
    methods: {
      type: "string",
      valueName: "a,b",
      help: `attribution methods (default ${XAI_DEFAULT_METHODS.join(",")}); any of ` +
        EXPLAINERS.map((e) => e.name).filter((n) => n !== "ground_truth").join(", "),
    },
    seeds: {
      type: "string",
      valueName: "K",
      help: `models per architecture that differ only in seed, the real one included ` +
        `(default ${DEFAULT_SEEDS}, at least 2)`,
    },
    images: {
      type: "string",
      valueName: "N",
      help: "explain at most N test images (default all, after --limit)",
    },
    fresh: {
      type: "boolean",
      help: "retrain the sanity models from scratch (never the train stage's model)",
    },
  },
  details: "Per architecture of --models: the real model is train's <out>/checkpoints/" +
    "<model>_best, reused when train made it with the same flags (else trained there as train " +
    "would; other flags are refused); a model trained on shuffled train and val labels and " +
    "K-1 models of seeds seed+1, ... go to <out>/sanity/checkpoints/. Each method explains the " +
    "true class of the same test images on every model; Spearman's rho and SSIM compare the " +
    "maps (|a|, divided by its max, as MPRT).\n" +
    "Writes under <out>/sanity/:\n" +
    "  sanity_data_randomisation.csv  model, method, image, spearman, ssim (permuted vs real)\n" +
    "  sanity_seeds.csv               model, method, seed_a, seed_b, image, spearman, ssim\n" +
    "  sanity_summary.csv             per model, method and statistic: means with bootstrap " +
    "95% CIs of both, and the verdict\n" +
    "  sanity_accuracy.csv            every model's test accuracy beside chance\n" +
    "  <model>/<method>.csv, <model>/accuracy.csv, <model>/state.json  the resumable parts\n" +
    "How to read: a method whose maps for the permuted-label model are as similar to the real " +
    "model's as the seeds' maps are to each other fails (docs/sanity.md). The permuted " +
    "model's test accuracy must be near chance, or the test says nothing; sanity warns.\n" +
    "Rerunning continues a stopped run (training resumes as train does; finished methods are " +
    "kept). --shard I/N runs the models at positions I, I+N, ... of --models; copy the shards' " +
    "outputs folders together and run deno task merge (or rerun unsharded) to write the " +
    "combined tables of every architecture there. A train on another data set moves the " +
    "model's sanity files with its run (<out>/runs/<data>-<fingerprint>/sanity/).\n" +
    "Example: deno task sanity --models ecgnet --methods gradcam,saliency --epochs 5 " +
    "--img-size 128 --images 32",
};

/**
 * The whole number ≥ 1 flag `--name` gives, or `fallback` when it is not given.
 *
 * @throws {InputError} naming the flag for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { countFlag } from "./sanity.ts";
 * assert(countFlag("seeds", "4", 3) === 4 && countFlag("seeds", undefined, 3) === 3);
 * assert.throws(() => countFlag("seeds", "2.5", 3), /--seeds 2.5: expected a whole number/);
 * ```
 */
export function countFlag<T>(name: string, flag: unknown, fallback: T): number | T {
  if (flag === undefined) return fallback;
  if (typeof flag !== "string" || !/^\d+$/.test(flag.trim()) || Number(flag) < 1) {
    throw new InputError(`--${name} ${flag}: expected a whole number of at least 1, e.g. 3`);
  }
  return Number(flag);
}

/** What tests may swap in. */
export interface SanityHooks {
  /** Architecture builder; default the model registry. */
  buildModel?: ModelBuilder;
  /** Called after each epoch of any model (tests simulate a kill here). */
  onEpochEnd?: (model: SanityModel, row: HistoryRow) => void | Promise<void>;
}

/**
 * Runs `sanity` with parsed arguments; returns the summary and accuracies.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { sanity, sanitySpec } from "./sanity.ts";
 * await sanity((await parseStageArgs(sanitySpec, ["--epochs", "2", "--img-size", "64"]))!);
 * ```
 */
export async function sanity(
  { config: baseConfig, flags }: StageArgs,
  hooks: SanityHooks = {},
): Promise<SanityResult> {
  const config = trainingConfig(baseConfig, flags);
  const seeds = countFlag("seeds", flags.seeds, DEFAULT_SEEDS);
  const images = countFlag("images", flags.images, undefined);
  // A misspelt model or method is refused now, not after the data set has loaded.
  const unknown = hooks.buildModel ? undefined : unknownModelsError(config.models);
  if (unknown) throw unknown;
  const methods = parseMethods(flags.methods).map((e) => e.name);
  console.log(
    describeBackend(
      await startBackend(config.backend, {
        openBlas: config.convolutions === "openblas",
        heapBudgetMb: config.heapBudgetMb,
      }),
    ),
  );
  return await runSanity({
    config,
    methods,
    seeds,
    images,
    shard: shardFromCommandLine(flags),
    build: hooks.buildModel ?? REGISTRY_BUILDER,
    cosine: flags.cosine === true,
    fresh: flags.fresh === true,
    onEpochEnd: hooks.onEpochEnd,
  });
}

if (import.meta.main) {
  Deno.exit(await runStage(sanitySpec, Deno.args, async (args) => void (await sanity(args))));
}
