/**
 * The forward pass up to one inner layer's output, with no gradient and nothing past that layer
 * evaluated: what gradient-free layer methods (EigenCAM, ScoreCAM) read.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { topologicalNodes } from "./graph.ts";

/**
 * The output of layer `layerName` for `xNHWC`, with BatchNorm and Dropout in inference mode.
 * Layers after it in the graph's order are not run. The caller owns the result.
 *
 * @throws {InputError} for a layer the model does not have.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { layerActivation } from "./layer_activation.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [6, 6, 3] });
 * const h = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv" }).apply(x);
 * const p = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(p) as tf.SymbolicTensor });
 * const a = layerActivation(model, tf.ones([2, 6, 6, 3]), "conv");
 * assert(a.shape.join() === "2,4,4,4");
 * a.dispose();
 * ```
 */
export function layerActivation(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  layerName: string,
): tf.Tensor {
  const layer = model.layers.find((l) => l.name === layerName);
  if (!layer || model.inputs.length !== 1) {
    throw new InputError(
      `layerActivation: ${model.name} has no layer "${layerName}" (or more than one input); ` +
        `its layers include ${model.layers.slice(-5).map((l) => l.name).join(", ")}`,
    );
  }
  const target = layer.output as tf.SymbolicTensor;
  return tf.tidy(() => {
    const values = new Map<number, tf.Tensor>([[model.inputs[0].id, xNHWC]]);
    for (const node of topologicalNodes(model)) {
      if (values.has(target.id)) break;
      const inputs = node.inputTensors.map((t) => values.get(t.id) as tf.Tensor);
      const out = node.outboundLayer.apply(inputs.length === 1 ? inputs[0] : inputs, {
        training: false,
      });
      const outputs = Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor];
      node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
    }
    return values.get(target.id) as tf.Tensor;
  });
}
