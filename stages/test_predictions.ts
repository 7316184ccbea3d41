/**
 * What the explanation stages (`xai`, `quantus`) start from for each model: its test split at
 * the model's input size, its predictions, and the class each explanation is for.
 *
 * @module
 */
import { tf } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import type { LoadedImages } from "../data/loader.ts";
import { argmaxRows, predictLogits } from "../evaluation/inference.ts";
import type { CheckpointMeta } from "../training/checkpoint_io.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";
import { loadStageData } from "./load_data.ts";

/** Which class each image's map explains. */
export type TargetChoice = "pred" | "true";

/**
 * The `--target` choice; `pred` when absent.
 *
 * @throws {InputError} for anything but `pred` or `true`.
 *
 * @example
 * ```ts
 * import { parseTargetChoice } from "./test_predictions.ts";
 * console.assert(parseTargetChoice(undefined) === "pred" && parseTargetChoice("true") === "true");
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
 * Loads the test split at the checkpoint's size and classes, and predicts it.
 *
 * @example
 * ```ts ignore
 * const test = await testPredictions(config, meta, model, "pred", "xai");
 * ```
 */
export async function testPredictions(
  config: Config,
  meta: CheckpointMeta,
  model: tf.LayersModel,
  targetChoice: TargetChoice,
  stage: string,
): Promise<TestPredictions> {
  const { loaded } = await loadStageData(
    { ...config, imgSizePx: meta.imgSizePx, classes: meta.classes },
    ["test"],
    stage,
  );
  const n = loaded.samples.length;
  const k = meta.classes.length;
  const logits = await predictLogits(model, loaded, [...Array(n).keys()], config.batchSize);
  const actual = Int32Array.from(loaded.samples, (s) => s.label);
  const predicted = argmaxRows(logits, k);
  const { probabilities } = softmaxCrossEntropyRows(logits, actual, k);
  const targets = targetChoice === "pred" ? predicted : actual;
  return { loaded, actual, predicted, probabilities, targets };
}
