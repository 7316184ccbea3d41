/**
 * Finding layers by class inside a model, nested models included.
 *
 * @module
 */
import type { tf } from "../deps.ts";

/**
 * Every layer of `model` (recursing into nested models) whose class name is `className`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { layersOfClass } from "./layers_of_class.ts";
 * const input = tf.input({ shape: [2] });
 * const output = tf.layers.dropout({ rate: 0.5 }).apply(input) as tf.SymbolicTensor;
 * assert(layersOfClass(tf.model({ inputs: input, outputs: output }), "Dropout").length === 1);
 * ```
 */
export function layersOfClass(model: tf.LayersModel, className: string): tf.layers.Layer[] {
  const found: tf.layers.Layer[] = [];
  const visit = (layers: tf.layers.Layer[]) => {
    for (const layer of layers) {
      if (layer.getClassName() === className) found.push(layer);
      const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (nested) visit(nested);
    }
  };
  visit(model.layers);
  return found;
}
