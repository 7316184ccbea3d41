/**
 * What the explanation stages start from for each model: its test split's predictions and the
 * class each explanation is for.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { LoadedImages } from "../data/loader.ts";
import { argmaxRows, predictLogits } from "../evaluation/inference.ts";
import { join } from "node:path";
import type { Config } from "../core/config.ts";
import { batchIndices } from "../data/loader.ts";
import {
  type CheckpointMeta,
  readCheckpointMeta,
  WEIGHTS_FILE,
} from "../training/checkpoint_io.ts";
import { loadStageData } from "../data/load_data.ts";
import { fingerprint } from "./shard.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";

/** Which class each image's map explains. */
export type TargetChoice = "pred" | "true";

/**
 * The `--target` choice; `pred` when absent.
 *
 * @throws {InputError} for anything but `pred` or `true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseTargetChoice } from "./test_predictions.ts";
 * assert(parseTargetChoice(undefined) === "pred" && parseTargetChoice("true") === "true");
 * ```
 */
export function parseTargetChoice(flag: unknown): TargetChoice {
  if (flag === undefined || flag === "pred" || flag === "true") return flag ?? "pred";
  throw new InputError(`--target ${flag}: choose pred (the predicted class) or true`);
}

/** A model's test split with its predictions. */
export interface TestPredictions {
  loaded: LoadedImages;
  /** [N] true class indices. */
  actual: Int32Array;
  /** [N] predicted class indices. */
  predicted: Int32Array;
  /** [N, classes] softmax probabilities. */
  probabilities: Float64Array;
  /** [N] the class each explanation is for. */
  targets: Int32Array;
}

/**
 * Predicts a model's loaded test split in batches of `batchSize` (pass the stage's chunk size,
 * so that each chunk's numbers come from the same batch in every shard), with the class each
 * explanation is for.
 *
 * @example
 * ```ts ignore
 * const test = await testPredictions(loaded, meta, model, "pred", 8);
 * ```
 */
export async function testPredictions(
  loaded: LoadedImages,
  meta: CheckpointMeta,
  model: tf.LayersModel,
  targetChoice: TargetChoice,
  batchSize: number,
): Promise<TestPredictions> {
  const n = loaded.samples.length;
  const k = meta.classes.length;
  const logits = await predictLogits(model, loaded, [...Array(n).keys()], batchSize);
  const actual = Int32Array.from(loaded.samples, (s) => s.label);
  const predicted = argmaxRows(logits, k);
  const { probabilities } = softmaxCrossEntropyRows(logits, actual, k);
  const targets = targetChoice === "pred" ? predicted : actual;
  return { loaded, actual, predicted, probabilities, targets };
}

/**
 * A checkpoint's test split, loaded at its input size and classes, cut into chunks of
 * `chunkSize` images: the work list of the explanation stages, with the identity of the
 * checkpoint (a hash of its `meta.json` and weights) for their part fingerprints.
 *
 * @example
 * ```ts ignore
 * const { meta, loaded, chunks, checkpointDigest } = await checkpointTestSplit(config, dir, 8, "xai");
 * ```
 */
export async function checkpointTestSplit(
  config: Config,
  bestDir: string,
  chunkSize: number,
  stage: string,
): Promise<{
  meta: CheckpointMeta;
  loaded: LoadedImages;
  chunks: number[][];
  checkpointDigest: string;
}> {
  const meta = await readCheckpointMeta(bestDir);
  const { loaded } = await loadStageData(
    { ...config, imgSizePx: meta.imgSizePx, classes: meta.classes },
    ["test"],
    stage,
  );
  const checkpointDigest = await fingerprint(
    null,
    await Deno.readFile(join(bestDir, "meta.json")),
    await Deno.readFile(join(bestDir, WEIGHTS_FILE)),
  );
  return { meta, loaded, chunks: batchIndices(loaded.samples.length, chunkSize), checkpointDigest };
}
