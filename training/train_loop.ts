/**
 * The training loop of one model: AdamW, cross-entropy on logits, optional cosine schedule,
 * early stopping on validation accuracy, the best checkpoint, the history, and a resume state
 * after every epoch.
 *
 * Determinism: every random draw comes from `SeededRandom(seed).fork("train/<model>")`. Model
 * initialisation uses its `init` fork; epoch `e` uses `epoch-e` forks for the shuffle, the
 * augmentation and dropout (each step reseeds every Dropout and StochasticDepth layer from that
 * stream). So epoch `e` depends only on the state after epoch `e − 1`, and a resumed run draws
 * what an uninterrupted run would.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { Progress, type ProgressSink } from "../core/progress.ts";
import { type Random, randomInt, SeededRandom } from "../core/random.ts";
import { assembleBatch, batchIndices, type LoadedImages } from "../data/loader.ts";
import { REFERENCE_AUGMENTATION } from "../data/augment.ts";
import { argmaxRows, predictLogits } from "../models/inference.ts";
import { AdamW } from "./adamw.ts";
import { requireTrainingBatchFits } from "./batch_fit.ts";
import { TorchBatchNormStats } from "./batch_norm.ts";
import { type DataIdentity, modelPaths, writeCheckpoint } from "./checkpoint_io.ts";
import { crossEntropyFromLogits, softmaxCrossEntropyRows } from "./cross_entropy.ts";
import { INITIAL_EARLY_STOPPING, updateEarlyStopping } from "./early_stopping.ts";
import { historyCsv, type HistoryRow } from "./history.ts";
import { cosineAnnealingLr } from "./lr_schedule.ts";
import {
  readResumeManifest,
  restoreResumeState,
  settingsMismatch,
  type TrainingSettings,
  writeResumeState,
} from "./resume_state.ts";
import { withSeededMathRandom } from "./seeded_math_random.ts";
import { layersOfClass } from "./layers_of_class.ts";
import { StochasticDepth } from "../models/layers.ts";

/** What {@link trainModel} needs. */
export interface TrainModelOptions {
  /** Architecture name (outputs are named after it). */
  modelName: string;
  /**
   * Builds the untrained architecture from an initialisation seed; called once. Any unseeded
   * tfjs initialiser inside it draws from the same seeded stream (see `seeded_math_random.ts`).
   */
  build: (seed: number) => tf.LayersModel | Promise<tf.LayersModel>;
  /** Loads starting weights (e.g. ImageNet) into a fresh model; not called on resume. */
  initialise?: (model: tf.LayersModel) => Promise<void>;
  /** Train and val images (any order); `samples[i].split` decides which is which. */
  loaded: LoadedImages;
  /** The run's config: epochs, batchSize, learningRate, weightDecay, patience, seed, out. */
  config: Config;
  /** CosineAnnealingLR over `config.epochs` instead of a constant rate. */
  cosine: boolean;
  /** Path of the starting weights, recorded in the settings. */
  pretrained?: string;
  /** Discard an existing resume state instead of continuing it. */
  fresh?: boolean;
  /** Called after each epoch is fully written (tests stop runs here). */
  onEpochEnd?: (row: HistoryRow) => void | Promise<void>;
  /** Status lines; default `console.log`. */
  log?: (line: string) => void;
  /** Where progress bars go; default stderr. */
  progressSink?: ProgressSink;
  /** The data set's identity, recorded in the checkpoint's `meta.json` and the resume state. */
  data?: DataIdentity;
  /** The project version, recorded in `meta.json`. */
  version?: string;
}

/** How a training run ended. */
export interface TrainModelResult {
  history: HistoryRow[];
  bestEpoch: number;
  bestValAccuracy: number;
  stoppedEarly: boolean;
  /** Epochs that were already done when this call started (0 for a fresh run). */
  resumedAfterEpoch: number;
  /** The best checkpoint's folder. */
  bestDir: string;
}

interface TrainingContext {
  model: tf.LayersModel;
  optimizer: AdamW;
  batchNorm: TorchBatchNormStats;
  /**
   * Dropout and StochasticDepth layers; each step gets fresh seeds (a fixed tfjs seed repeats
   * one mask forever).
   */
  dropoutLayers: { seed?: number }[];
}

/** Layer classes that draw a random mask in training from a public `seed` property. */
const RESEEDED_LAYER_CLASSES = ["Dropout", StochasticDepth.className] as const;

/** One optimisation step on a batch; returns the batch's mean loss and its correct count. */
async function trainStep(
  context: TrainingContext,
  batch: { xNHWC: Float32Array; shape: [number, number, number, 3]; labels: Int32Array },
  learningRate: number,
  dropout: Random,
): Promise<{ loss: number; correct: number }> {
  const { model, optimizer, batchNorm } = context;
  for (const layer of context.dropoutLayers) layer.seed = 1 + randomInt(dropout, 2 ** 31 - 2);
  const x = tf.tensor4d(batch.xNHWC, batch.shape);
  const y = tf.tensor1d(batch.labels, "int32");
  let logits: tf.Tensor | undefined;
  batchNorm.beforeStep();
  const { value, grads } = tf.variableGrads(() => {
    const output = model.apply(x, { training: true }) as tf.Tensor2D;
    logits = tf.keep(output);
    return crossEntropyFromLogits(output, y);
  }, [...optimizer.variables]);
  batchNorm.afterStep(batch.labels.length);
  optimizer.applyGradients(optimizer.variables.map((v) => grads[v.name]), learningRate);
  const loss = (await value.data())[0];
  const predicted = argmaxRows(await logits!.data(), logits!.shape[1]!);
  tf.dispose([x, y, value, logits!, ...Object.values(grads)]);
  const correct = predicted.reduce((n, p, i) => n + (p === batch.labels[i] ? 1 : 0), 0);
  return { loss, correct };
}

function settingsOf(options: TrainModelOptions): TrainingSettings {
  const { config } = options;
  return {
    model: options.modelName,
    data: config.data,
    limit: config.limit ?? null,
    classes: config.classes,
    imgSizePx: config.imgSizePx,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    weightDecay: config.weightDecay,
    patience: config.patience,
    seed: config.seed,
    cosine: options.cosine,
    augment: config.augment,
    augmentFillGray: config.augmentFillGray,
    epochs: config.epochs,
    pretrained: options.pretrained ?? null,
    ...(options.data ? { dataFingerprint: options.data.fingerprint } : {}),
  };
}

/**
 * Trains one model, continuing a saved run of the same settings when there is one.
 *
 * @example
 * ```ts ignore
 * const result = await trainModel({ modelName: "ecgnet", build, loaded, config, cosine: false });
 * console.log(result.bestValAccuracy);
 * ```
 */
export async function trainModel(options: TrainModelOptions): Promise<TrainModelResult> {
  const { modelName, loaded, config } = options;
  const log = options.log ?? console.log;
  const paths = modelPaths(config.out, modelName);
  const settings = settingsOf(options);
  const root = new SeededRandom(config.seed).fork(`train/${modelName}`);
  const indicesOf = (split: string) =>
    loaded.samples.flatMap((s, i) => (s.split === split ? [i] : []));
  const trainIndices = indicesOf("train"), valIndices = indicesOf("val");
  if (trainIndices.length === 0 || valIndices.length === 0) {
    throw new InputError(`${config.data}: training needs images in both train and val splits`);
  }

  if (options.fresh) await Deno.remove(paths.last, { recursive: true }).catch(() => {});
  const saved = await readResumeManifest(paths.last);
  if (saved) {
    const differences = settingsMismatch(saved.settings, settings);
    if (differences.length > 0) {
      throw new InputError(
        `${paths.last}: a saved run of ${modelName} used other settings ` +
          `(${differences.join("; ")}); rerun with the same settings to resume it, ` +
          "or pass --fresh to start over",
      );
    }
  }

  const init = root.fork("init");
  const model = await withSeededMathRandom(init, () => options.build(1 + randomInt(init, 2 ** 30)));
  try {
    requireTrainingBatchFits(model, modelName, config.batchSize);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const batchNorm = new TorchBatchNormStats(model);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new AdamW(variables, {
    learningRate: config.learningRate,
    weightDecay: config.weightDecay,
  });
  const context: TrainingContext = {
    model,
    optimizer,
    batchNorm,
    dropoutLayers: RESEEDED_LAYER_CLASSES.flatMap((className) =>
      layersOfClass(model, className)
    ) as unknown as { seed?: number }[],
  };
  try {
    let history: HistoryRow[] = [];
    let earlyStopping = INITIAL_EARLY_STOPPING;
    let stoppedEarly = false;
    if (saved) {
      await restoreResumeState(paths.last, saved, model, optimizer);
      ({ history, earlyStopping, stoppedEarly } = saved);
      log(`${modelName}: resuming after epoch ${saved.epochsDone} from ${paths.last}`);
    } else if (options.initialise) {
      await options.initialise(model);
    }
    const resumedAfterEpoch = history.length;

    for (let epoch = history.length + 1; epoch <= config.epochs && !stoppedEarly; epoch++) {
      const started = performance.now();
      const epochRandom = root.fork(`epoch-${epoch}`);
      const learningRate = options.cosine
        ? cosineAnnealingLr(config.learningRate, epoch - 1, config.epochs)
        : config.learningRate;
      const batches = batchIndices(
        trainIndices.length,
        config.batchSize,
        epochRandom.fork("shuffle"),
      );
      const augment = epochRandom.fork("augment");
      const dropout = epochRandom.fork("dropout");
      const valBatches = Math.ceil(valIndices.length / config.batchSize);
      const progress = new Progress(
        `${modelName} epoch ${epoch}/${config.epochs}`,
        batches.length + valBatches,
        { sink: options.progressSink },
      );
      let lossSum = 0, correct = 0, seen = 0;
      for (const positions of batches) {
        const batch = assembleBatch(
          loaded,
          positions.map((p) => trainIndices[p]),
          config.augment ? augment : undefined,
          { ...REFERENCE_AUGMENTATION, fillGray: config.augmentFillGray },
        );
        const step = await trainStep(context, batch, learningRate, dropout);
        lossSum += step.loss * positions.length;
        correct += step.correct;
        seen += positions.length;
        progress.tick(1, `loss ${(lossSum / seen).toFixed(4)} acc ${(correct / seen).toFixed(3)}`);
      }
      const valLogits = await predictLogits(
        model,
        loaded,
        valIndices,
        config.batchSize,
        () => progress.tick(1, "validating"),
      );
      const valLabels = valIndices.map((i) => loaded.samples[i].label);
      const numClasses = valLogits.length / valIndices.length;
      const { losses } = softmaxCrossEntropyRows(valLogits, valLabels, numClasses);
      const valPredicted = argmaxRows(valLogits, numClasses);
      const row: HistoryRow = {
        epoch,
        trainLoss: lossSum / seen,
        valLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        trainAccuracy: correct / seen,
        valAccuracy: valPredicted.reduce((n, p, i) => n + (p === valLabels[i] ? 1 : 0), 0) /
          valLabels.length,
        seconds: (performance.now() - started) / 1000,
      };
      const update = updateEarlyStopping(earlyStopping, epoch, row.valAccuracy, config.patience);
      earlyStopping = update.state;
      stoppedEarly = update.stop;
      history = [...history, row];
      progress.done(
        `train loss ${row.trainLoss.toFixed(4)} acc ${row.trainAccuracy.toFixed(3)}, ` +
          `val loss ${row.valLoss.toFixed(4)} acc ${row.valAccuracy.toFixed(3)}` +
          (update.improved ? " (best)" : ""),
      );
      if (update.improved) {
        await writeCheckpoint(paths.best, model, {
          model: modelName,
          classes: config.classes,
          imgSizePx: config.imgSizePx,
          epoch,
          valAccuracy: row.valAccuracy,
          config: { ...settings },
          ...(options.data ? { data: options.data } : {}),
          ...(options.version ? { version: options.version } : {}),
        });
      }
      await writeResumeState(paths.last, model, optimizer, {
        settings,
        epochsDone: epoch,
        earlyStopping,
        history,
        stoppedEarly,
      });
      await writeFileAtomic(join(paths.metrics, "history.csv"), historyCsv(history));
      if (stoppedEarly) {
        log(
          `${modelName}: early stopping after epoch ${epoch} (no better val accuracy in ` +
            `${config.patience} epochs)`,
        );
      }
      await options.onEpochEnd?.(row);
    }
    if (resumedAfterEpoch === history.length) {
      log(`${modelName}: already trained (${history.length} epochs); pass --fresh to retrain`);
    }
    return {
      history,
      bestEpoch: earlyStopping.bestEpoch,
      bestValAccuracy: earlyStopping.bestValAccuracy,
      stoppedEarly,
      resumedAfterEpoch,
      bestDir: paths.best,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
