/**
 * Independent copies of a model: same structure, same weights, separate variables, so one can be
 * changed (e.g. randomised layer by layer) while the original stays as it is.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { rebuildModel } from "../graph/rebuild_model.ts";

/**
 * A copy of `model` with its own variables. They start out sharing the original's weight memory
 * (`graph/rebuild_model.ts`): setting a layer's weights on either side (`setWeights`, training)
 * replaces that side's memory and leaves the other's as it was, so the copy costs weight memory
 * only for the layers it changes. Layer and input names, order and configurations are the
 * original's. The caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { cloneModel } from "./clone_model.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
 * const copy = cloneModel(model);
 * copy.layers[1].setWeights([tf.zeros([2, 1]), tf.zeros([1])]);
 * assert(model.layers[1].getWeights()[0].dataSync().some((v) => v !== 0));
 * copy.dispose();
 * assert(model.layers[1].getWeights()[0].dataSync().some((v) => v !== 0));
 * model.dispose();
 * ```
 */
export function cloneModel(model: tf.LayersModel): tf.LayersModel {
  const copy = rebuildModel(model, model.name, () => ({}));
  copy.trainable = model.trainable;
  return copy;
}
