/**
 * What the explanation stages start from for each model: its test split's predictions and the
 * class each explanation is for.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { batchIndices, type LoadedImages } from "../data/loader.ts";
import { argmaxRows, predictLogits } from "../models/inference.ts";
import { type CheckpointMeta, readCheckpointMeta } from "../training/checkpoint_io.ts";
import { loadStageData } from "../data/load_data.ts";
import { checkpointFingerprint } from "./provenance.ts";
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

/**
 * A model's predictions of some chunks of its test split, indexed by sample (`[N]` each, N the
 * split's size); images outside those chunks have 0 in `predicted` and `probability`.
 */
export interface TestPredictions {
  /** True class indices. */
  actual: Int32Array;
  /** Predicted class indices. */
  predicted: Int32Array;
  /** The predicted class's softmax probability. */
  probability: Float64Array;
  /** The class each explanation is for (`predicted` or `actual`, as the target choice says). */
  targets: Int32Array;
}

/**
 * Predicts the images of `chunks` (chunks of the loaded test split as `batchIndices` cuts
 * them: all of one size but the split's last) with each chunk as one batch, and names the class
 * each explanation is for. A chunk's numbers thus never depend on which other chunks are
 * predicted, so a shard or a resumed run that predicts only its own chunks agrees with one
 * process bit for bit.
 *
 * @throws {Error} when a chunk other than the last differs in size from the first (they would
 * not be batched one by one).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import type { LoadedImages } from "../data/loader.ts";
 * import { testPredictions } from "./test_predictions.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 2, imgSizePx: 32, seed: 1 });
 * const image = { widthPx: 32, heightPx: 32, data: new Uint8Array(32 * 32).fill(128) };
 * const sample = { id: "test/B/b", file: "b.png", label: 1, className: "B", split: "test" } as const;
 * const loaded: LoadedImages = { samples: [sample, sample, sample], images: [image, image, image], skipped: [] };
 * // Three images in chunks [0, 1] and [2]; only the second chunk is predicted.
 * const test = await testPredictions(model, loaded, 2, [[2]], "true");
 * assert(test.probability[2] >= 0.5 && test.probability[0] === 0);
 * assert(test.targets.join() === "1,1,1");
 * model.dispose();
 * ```
 */
export async function testPredictions(
  model: tf.LayersModel,
  loaded: LoadedImages,
  numClasses: number,
  chunks: readonly (readonly number[])[],
  targetChoice: TargetChoice,
): Promise<TestPredictions> {
  const batchSize = chunks[0]?.length ?? 1;
  if (chunks.slice(0, -1).some((chunk) => chunk.length !== batchSize)) {
    throw new Error("testPredictions: every chunk but the last must be as long as the first");
  }
  const indices = chunks.flat();
  const logits = await predictLogits(model, loaded, indices, batchSize);
  const actual = Int32Array.from(loaded.samples, (s) => s.label);
  const predictedRows = argmaxRows(logits, numClasses);
  const { probabilities } = softmaxCrossEntropyRows(
    logits,
    indices.map((i) => actual[i]),
    numClasses,
  );
  const predicted = new Int32Array(actual.length);
  const probability = new Float64Array(actual.length);
  for (const [row, i] of indices.entries()) {
    predicted[i] = predictedRows[row];
    probability[i] = probabilities[row * numClasses + predictedRows[row]];
  }
  const targets = targetChoice === "pred" ? predicted : actual;
  return { actual, predicted, probability, targets };
}

/**
 * A checkpoint's test split, loaded at its input size and classes, cut into chunks of
 * `chunkSize` images: the work list of the explanation stages, with the identity of the
 * checkpoint (`checkpointFingerprint`) for their part fingerprints and provenance.
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
  const checkpointDigest = await checkpointFingerprint(bestDir);
  return { meta, loaded, chunks: batchIndices(loaded.samples.length, chunkSize), checkpointDigest };
}
