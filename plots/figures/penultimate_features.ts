/**
 * The features a classifier's head sees: the input of the layer that produces the logits
 * (after global pooling, and after dropout, which is off at inference).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { LoadedImages } from "../../data/loader.ts";
import { predictLogits } from "../../models/inference.ts";

/**
 * A model sharing `model`'s layers whose output is the input of its output layer.
 *
 * @throws {RangeError} when the output layer has several inputs (no single feature vector).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { penultimateModel } from "./penultimate_features.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const h = tf.layers.dense({ units: 3 }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor;
 * assert(penultimateModel(tf.model({ inputs: x, outputs: y })).outputs[0].shape[1] === 3);
 * ```
 */
export function penultimateModel(model: tf.LayersModel): tf.LayersModel {
  const head = model.outputs[0].sourceLayer;
  const features = head.input;
  if (Array.isArray(features)) {
    throw new RangeError(`${model.name}: output layer ${head.name} has several inputs`);
  }
  return tf.model({ inputs: model.inputs, outputs: features });
}

/**
 * Penultimate features of every loaded image, in inference mode, as `[n, width]` rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { penultimateFeatures } from "./penultimate_features.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [2, 2, 3] });
 * const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
 * const logits = tf.layers.dense({ units: 2 }).apply(pooled) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: logits });
 * const image = { widthPx: 2, heightPx: 2, data: new Uint8Array([0, 255, 0, 255]) };
 * const sample = { id: "test/A/a", file: "a.png", label: 0, className: "A", split: "test" as const };
 * const loaded = { samples: [sample, sample], images: [image, image], skipped: [] };
 * const { featuresNF, width } = await penultimateFeatures(model, loaded, 8);
 * assert(width === 3 && featuresNF.length === 6);
 * ```
 */
export async function penultimateFeatures(
  model: tf.LayersModel,
  loaded: LoadedImages,
  batchSize: number,
  onBatch?: (done: number) => void,
): Promise<{ featuresNF: Float32Array; width: number }> {
  const features = penultimateModel(model);
  const n = loaded.samples.length;
  // The model only shares `model`'s layers, so it owns no tensors to dispose.
  const featuresNF = await predictLogits(
    features,
    loaded,
    [...Array(n).keys()],
    batchSize,
    onBatch,
  );
  return { featuresNF, width: n === 0 ? 0 : featuresNF.length / n };
}
