/**
 * A hand-built linear classifier for tests whose attributions are known in closed form.
 *
 * @module
 */
import { tf } from "../deps.ts";

/**
 * logit_0 = Σ_i w_i x_i over the flattened HWC input, logit_1 = 0 (no bias).
 *
 * @param weightsHWC one weight per input value.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { linearModel } from "./linear_model.ts";
 * await tf.setBackend("cpu");
 * const model = linearModel([1, 2, 1], [2, 3]);
 * const logits = model.predict(tf.ones([1, 1, 2, 1])) as tf.Tensor;
 * assert(logits.dataSync().join() === "5,0");
 * model.dispose();
 * ```
 */
export function linearModel(
  shapeHWC: readonly [number, number, number],
  weightsHWC: readonly number[],
): tf.LayersModel {
  const input = tf.input({ shape: [...shapeHWC] });
  const dense = tf.layers.dense({ units: 2, useBias: false });
  const output = dense.apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  dense.setWeights([tf.tensor2d(weightsHWC.flatMap((w) => [w, 0]), [weightsHWC.length, 2])]);
  return model;
}
