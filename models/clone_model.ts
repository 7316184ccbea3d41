/**
 * Independent copies of a model: same structure, same weights, separate variables, so one can be
 * changed (e.g. randomised layer by layer) while the original stays as it is.
 *
 * @module
 */
import { tf } from "../deps.ts";

/**
 * A copy of `model` with its own weights. The caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { cloneModel } from "./clone_model.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
 * const copy = await cloneModel(model);
 * copy.layers[1].setWeights([tf.zeros([2, 1]), tf.zeros([1])]);
 * assert(model.layers[1].getWeights()[0].dataSync().some((v) => v !== 0));
 * copy.dispose();
 * model.dispose();
 * ```
 */
export async function cloneModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  const topology = model.toJSON(null, false) as tf.serialization.ConfigDict;
  const copy = await tf.models.modelFromJSON({ modelTopology: topology });
  copy.setWeights(model.getWeights());
  return copy;
}
