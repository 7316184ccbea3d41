/**
 * Shared fixtures of the training, evaluation and predict tests: a tiny synthetic data set
 * and a tiny convolutional classifier with BatchNorm and dropout (until the model registry
 * lands, and afterwards to keep the tests fast).
 *
 * @module
 */
import { tf } from "../deps.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { buildModel } from "../models/registry.ts";
import { writeCheckpoint } from "../training/checkpoint_io.ts";

/** The synthetic classes, in label order. */
export const SYNTH_CLASS_NAMES = ["Abnormal", "HistoryMI", "MI", "Normal"];

/**
 * Writes a small synthetic ECG set (8 per class: 6 train, 1 val, 1 test) at 320 px wide.
 *
 * @example
 * ```ts ignore
 * await writeTinySyntheticSet(`${dir.path}/ds`);
 * ```
 */
export async function writeTinySyntheticSet(root: string): Promise<void> {
  await writeSyntheticDataset({ outDir: root, perClass: 8, seed: 3, widthPx: 320 });
}

/**
 * A two-block CNN: conv-BN-ReLU twice, global average pooling, dropout, dense logits.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { tinyCnn } from "./training_fixtures.ts";
 * await tf.setBackend("cpu");
 * const model = tinyCnn("tiny", { numClasses: 4, imgSizePx: 32 });
 * assert(model.outputs[0].shape[1] === 4);
 * ```
 */
export function tinyCnn(
  _name: string,
  { numClasses, imgSizePx }: { numClasses: number; imgSizePx: number },
): tf.LayersModel {
  const input = tf.input({ shape: [imgSizePx, imgSizePx, 3] });
  let x = input as tf.SymbolicTensor;
  for (const filters of [6, 8]) {
    x = tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, useBias: false })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/**
 * A seeded, untrained ecgnet (32 px unless `imgSizePx` says otherwise) as a best checkpoint
 * (training it would cost ~40 s). At 64 px its Grad-CAM layer is 2x2, so Grad-CAM maps are not
 * constant; at 32 px they are.
 *
 * @example
 * ```ts ignore
 * await writeUntrainedCheckpoint("outputs/tmp/x/checkpoints/ecgnet_best");
 * ```
 */
export async function writeUntrainedCheckpoint(dir: string, imgSizePx = 32): Promise<void> {
  await tf.setBackend("cpu");
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx, seed: 5 });
  await writeCheckpoint(dir, model, {
    model: "ecgnet",
    classes: SYNTH_CLASS_NAMES,
    imgSizePx,
    epoch: 1,
    valAccuracy: 0.25,
    config: {},
  });
  model.dispose();
}
