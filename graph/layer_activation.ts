/**
 * The forward pass up to inner layers' outputs, with no gradient and nothing past the last of them
 * evaluated: what gradient-free layer methods (EigenCAM, ScoreCAM) and the hidden-representation
 * metric (RelativeRepresentationStability) read.
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
  return layerActivations(model, xNHWC, [layerName])[0];
}

/**
 * The outputs of several layers for `xNHWC` in one forward pass (a model's hidden
 * representations), in the order of `layerNames`; as {@link layerActivation}, nothing past the
 * last of them is run. The caller owns the results.
 *
 * @throws {InputError} for a layer the model does not have.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { layerActivations } from "./layer_activation.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [2] });
 * const h = tf.layers.dense({ units: 3, name: "h", kernelInitializer: "ones" }).apply(x);
 * const r = tf.layers.reLU({ name: "r" }).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: r });
 * const [relu, dense] = layerActivations(model, tf.tensor2d([[-1, -2]]) as never, ["r", "h"]);
 * assert((await dense.data()).join() === "-3,-3,-3" && (await relu.data()).join() === "0,0,0");
 * tf.dispose([relu, dense]);
 * ```
 */
export function layerActivations(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  layerNames: readonly string[],
): tf.Tensor[] {
  const targets = layerNames.map((name) => {
    const layer = model.layers.find((l) => l.name === name);
    if (!layer || model.inputs.length !== 1) {
      throw new InputError(
        `layerActivation: ${model.name} has no layer "${name}" (or more than one input); ` +
          `its layers include ${model.layers.slice(-5).map((l) => l.name).join(", ")}`,
      );
    }
    return layer.output as tf.SymbolicTensor;
  });
  return tf.tidy(() => {
    const values = new Map<number, tf.Tensor>([[model.inputs[0].id, xNHWC]]);
    const done = () => targets.every((t) => values.has(t.id));
    for (const node of topologicalNodes(model)) {
      if (done()) break;
      const inputs = node.inputTensors.map((t) => values.get(t.id) as tf.Tensor);
      const out = node.outboundLayer.apply(inputs.length === 1 ? inputs[0] : inputs, {
        training: false,
      });
      const outputs = Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor];
      node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
    }
    return targets.map((t) => values.get(t.id) as tf.Tensor);
  });
}
