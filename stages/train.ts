/**
 * `deno task train`: train each `--models` architecture on the train split, pick the epoch by
 * validation accuracy, and keep a resume state so a killed run continues where it stopped.
 *
 * @module
 */
import { type Config, validateConfig } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { unknownModelsError } from "../models/registry.ts";
import { trainModel, type TrainModelResult } from "../training/train_loop.ts";
import type { HistoryRow } from "../training/history.ts";
import { checkFlagValues, numberOrText, runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadStageData } from "../data/load_data.ts";
import { ownsItem, SHARD_FLAGS, shardFromCommandLine } from "../runs/shard.ts";
import { switchRun } from "../runs/park.ts";
import { dataIdentity, projectVersion } from "../runs/provenance.ts";
import {
  loadSafetensorsWeights,
  type ModelBuilder,
  REGISTRY_BUILDER,
} from "../runs/model_source.ts";

/** Command-line description of `train`. */
export const trainSpec: StageSpec = {
  name: "train",
  summary: "Train classifiers with AdamW, early stopping on val accuracy; resumable.",
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
    epochs: { type: "string", valueName: "N", help: "maximum epochs (default 15)" },
    "batch-size": { type: "string", valueName: "N", help: "images per step (default 64)" },
    lr: { type: "string", valueName: "X", help: "AdamW learning rate (default 3e-4)" },
    "weight-decay": { type: "string", valueName: "X", help: "AdamW weight decay (default 1e-4)" },
    patience: { type: "string", valueName: "N", help: "early-stopping patience (default 5)" },
    cosine: { type: "boolean", help: "cosine-anneal the learning rate to 0 over the epochs" },
    pretrained: {
      type: "string",
      valueName: "FILE",
      help: "start from torchvision weights (.safetensors); a head of another size is kept fresh",
    },
    fresh: { type: "boolean", help: "discard a saved resume state and start over" },
    "no-augment": { type: "boolean", help: "train without the data augmentation" },
    "augment-fill": {
      type: "string",
      valueName: "GREY",
      help: "grey 0-255 of borders uncovered by augmentation (default 0 = black, as the reference)",
    },
  },
  details: "Writes <out>/checkpoints/<model>_best/ (model.json, weights.bin, meta.json), " +
    "<out>/checkpoints/<model>_last/ (resume state) and <out>/metrics/<model>/history.csv.\n" +
    "Rerunning the same command continues a stopped run from its last finished epoch.\n" +
    "meta.json records the data set (root, fingerprint of its file list and sizes) and the " +
    "project version. Training a model on another data set is another run: the saved run and " +
    "what was made from it move to <out>/runs/<data>-<fingerprint>/ (and back when you train " +
    "on that data again), see docs/runs.md.\n" +
    "--shard I/N trains only the models at positions I, I+N, ... of --models (each model's " +
    "files are its own, so copying the shards' outputs folders together is the merge).\n" +
    "Example: deno task train --models ecgnet --epochs 3 --img-size 128 --backend wasm",
};

/** What tests and the demo may swap in. */
export interface TrainHooks {
  /** Architecture builder; default the model registry. */
  buildModel?: ModelBuilder;
  /** Called after each epoch is written (tests simulate a kill here). */
  onEpochEnd?: (model: string, row: HistoryRow) => void | Promise<void>;
}

const NUMERIC_FLAGS = {
  epochs: "epochs",
  "batch-size": "batchSize",
  lr: "learningRate",
  "weight-decay": "weightDecay",
  patience: "patience",
  "augment-fill": "augmentFillGray",
} as const satisfies Record<string, keyof Config>;

/**
 * The config with the stage's own numeric flags applied and validated.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { trainingConfig } from "./train.ts";
 * assert(trainingConfig(DEFAULT_CONFIG, { epochs: "3", lr: "1e-3" }).learningRate === 1e-3);
 * ```
 */
export function trainingConfig(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
): Config {
  const overrides: Record<string, unknown> = {};
  const typed: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(NUMERIC_FLAGS)) {
    const raw = flags[flag];
    if (typeof raw === "string") overrides[field] = typed[flag] = numberOrText(raw);
  }
  checkFlagValues(typed, NUMERIC_FLAGS);
  if (flags["no-augment"] === true) overrides.augment = false;
  return validateConfig({ ...config, ...overrides }, "command-line flags");
}

/**
 * Runs `train` with parsed arguments; returns each model's result (the demo prints them).
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { train, trainSpec } from "./train.ts";
 * await train((await parseStageArgs(trainSpec, ["--epochs", "3", "--img-size", "64"]))!);
 * ```
 */
export async function train(
  { config: baseConfig, flags }: StageArgs,
  hooks: TrainHooks = {},
): Promise<Map<string, TrainModelResult>> {
  const config = trainingConfig(baseConfig, flags);
  const shard = shardFromCommandLine(flags);
  const build = hooks.buildModel ?? REGISTRY_BUILDER;
  // A misspelt model is refused now, not after the data set has loaded.
  const unknown = hooks.buildModel ? undefined : unknownModelsError(config.models);
  if (unknown) throw unknown;
  const pretrained = typeof flags.pretrained === "string" ? flags.pretrained : undefined;
  if (pretrained !== undefined && !pretrained.endsWith(".safetensors")) {
    throw new InputError(`--pretrained ${pretrained}: expected a .safetensors file`);
  }
  console.log(
    describeBackend(
      await startBackend(config.backend, {
        openBlas: config.convolutions === "openblas",
        heapBudgetMb: config.heapBudgetMb,
      }),
    ),
  );
  const { dataset, loaded } = await loadStageData(config, ["train", "val"], "train");
  const counts = ["train", "val"].map((split) =>
    `${loaded.samples.filter((s) => s.split === split).length} ${split}`
  );
  console.log(`data set: ${dataset.root}, ${counts.join(" / ")} images at ${config.imgSizePx}px`);
  const data = await dataIdentity(config.data);
  const version = await projectVersion();
  const results = new Map<string, TrainModelResult>();
  for (const name of config.models.filter((_, k) => ownsItem(shard, k))) {
    // Another data set is another run: the saved one moves aside instead of being resumed.
    await switchRun(config.out, name, data);
    const options = { numClasses: config.classes.length, imgSizePx: config.imgSizePx };
    const result = await trainModel({
      modelName: name,
      build: (seed) => build(name, { ...options, seed }),
      initialise: pretrained
        ? (model) => loadSafetensorsWeights(model, name, pretrained, true)
        : undefined,
      loaded,
      config,
      cosine: flags.cosine === true,
      pretrained,
      fresh: flags.fresh === true,
      data,
      version,
      onEpochEnd: (row) => hooks.onEpochEnd?.(name, row),
    });
    const best = result.history.find((r) => r.epoch === result.bestEpoch);
    console.log(
      `${name}: best val accuracy ${result.bestValAccuracy.toFixed(4)} at epoch ` +
        `${result.bestEpoch} of ${result.history.length}` +
        (best ? ` (val loss ${best.valLoss.toFixed(4)})` : "") + ` -> ${result.bestDir}`,
    );
    results.set(name, result);
  }
  return results;
}

if (import.meta.main) {
  Deno.exit(await runStage(trainSpec, Deno.args, async (args) => void (await train(args))));
}
