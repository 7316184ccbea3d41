/**
 * Gradients of chosen logits w.r.t. the input (Saliency, Integrated Gradients, SmoothGrad) or
 * w.r.t. an inner layer's activation (GradCAM), without computing any weight gradient.
 *
 * Why not `tf.grad(x => model.apply(x))`: tfjs-layers' `Conv2D` and `Dense` run fused ops whose
 * custom gradient computes the weight gradients too (`Conv2DBackpropFilter`, about half the
 * backward cost, and catastrophic on the cpu backend), even when only the input's is asked for.
 * Here the layer graph is walked node by node and those two layer types run as plain
 * `conv2d`/`matMul` + bias + activation, whose gradients tfjs computes per input and prunes for
 * the weights; every other layer runs its own `apply`. Nothing is patched: training's path
 * (`model.apply` under `tf.variableGrads`) is untouched, and no variable is created or written.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { type GraphNode, topologicalNodes } from "./graph.ts";

/** What to differentiate with respect to. */
export interface InputGradientOptions {
  /**
   * A layer name: return its output activation and the gradient w.r.t. it (GradCAM) instead of
   * the gradient w.r.t. the input.
   */
  layer?: string;
}

/** Tensors the caller owns and disposes. */
export interface InputGradientResult {
  /** [N, classes] logits of the forward pass. */
  logits: tf.Tensor2D;
  /**
   * d logits[i, targets[i]] / d source for each image i, where the source is the input
   * (shape of `xNHWC`) or, with `options.layer`, that layer's output.
   */
  gradient: tf.Tensor;
  /** The layer's output, only with `options.layer`. */
  activation?: tf.Tensor;
}

/** The fields of `Conv2D`/`Dense` the unfused evaluation reads (protected in tfjs' types). */
interface WeightedLayer {
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

interface Conv2DConfig {
  strides: [number, number];
  padding: "same" | "valid";
  dilationRate: [number, number];
  dataFormat: string;
}

/**
 * A layer's output with the same numerics as its `apply`, but through ops whose weight
 * gradients tfjs prunes when only the input's is needed.
 */
function applyWithoutWeightGradients(layer: tf.layers.Layer, inputs: tf.Tensor[]): tf.Tensor[] {
  const className = layer.getClassName();
  const [x] = inputs;
  if (className === "Conv2D" && x.rank === 4) {
    const config = layer.getConfig() as unknown as Conv2DConfig;
    if (config.dataFormat === "channelsLast") {
      const [kernel, bias] = layer.getWeights();
      const y = tf.conv2d(
        x as tf.Tensor4D,
        kernel as tf.Tensor4D,
        config.strides,
        config.padding,
        "NHWC",
        config.dilationRate,
      );
      return [(layer as unknown as WeightedLayer).activation.apply(bias ? tf.add(y, bias) : y)];
    }
  }
  if (className === "Dense" && x.rank === 2) {
    const [kernel, bias] = layer.getWeights();
    const y = tf.matMul(x, kernel);
    return [(layer as unknown as WeightedLayer).activation.apply(bias ? tf.add(y, bias) : y)];
  }
  const out = layer.apply(inputs.length === 1 ? x : inputs, { training: false });
  return Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor];
}

function runNodes(nodes: GraphNode[], values: Map<number, tf.Tensor>): void {
  for (const node of nodes) {
    const inputs = node.inputTensors.map((t) => values.get(t.id) as tf.Tensor);
    const outputs = applyWithoutWeightGradients(node.outboundLayer, inputs);
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
}

function targetMask(targets: Int32Array, batch: number, classes: number): tf.Tensor2D {
  if (targets.length !== batch) {
    throw new InputError(
      `inputGradients: ${targets.length} targets for a batch of ${batch} images`,
    );
  }
  const mask = new Float32Array(batch * classes);
  targets.forEach((target, i) => {
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new InputError(
        `inputGradients: target ${target} of image ${i} is not a class index in 0..${classes - 1}`,
      );
    }
    mask[i * classes + target] = 1;
  });
  return tf.tensor2d(mask, [batch, classes]);
}

/**
 * Forward pass and the gradient of `logits[i, targets[i]]` for each image i w.r.t. the input or,
 * with `options.layer`, w.r.t. that layer's activation; no weight gradient is computed, no
 * variable created or changed. BatchNorm and Dropout run in inference mode. Targets are picked
 * with a one-hot product (a `gather`'s gradient needs `UnsortedSegmentSum`, which wasm lacks).
 *
 * @param model a functional or sequential model with one input and one [N, classes] output.
 * @param xNHWC the input batch.
 * @param targets one class index per image.
 * @throws {InputError} for a target count or value that does not fit, or an unknown layer.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { inputGradients } from "./input_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const h = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv" }).apply(x);
 * const p = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(p) as tf.SymbolicTensor });
 * const batch = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const saliency = inputGradients(model, batch, Int32Array.from([0, 1]));
 * console.assert(saliency.gradient.shape.join() === "2,8,8,3");
 * const cam = inputGradients(model, batch, Int32Array.from([0, 1]), { layer: "conv" });
 * console.assert(cam.activation?.shape.join() === "2,6,6,4");
 * tf.dispose([saliency.logits, saliency.gradient, cam.logits, cam.gradient, cam.activation!]);
 * ```
 */
export function inputGradients(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: InputGradientOptions = {},
): InputGradientResult {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`inputGradients: ${model.name} must have one input and one output`);
  }
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  let source = model.inputs[0];
  if (options.layer !== undefined) {
    const layer = model.layers.find((l) => l.name === options.layer);
    if (!layer) {
      throw new InputError(
        `inputGradients: ${model.name} has no layer "${options.layer}"; its layers include ` +
          model.layers.slice(-5).map((l) => l.name).join(", "),
      );
    }
    source = layer.output as tf.SymbolicTensor;
  }
  return tf.tidy(() => {
    const mask = targetMask(targets, xNHWC.shape[0], classes);
    const nodes = topologicalNodes(model);
    const downstream = new Set([source.id]);
    const before: GraphNode[] = [];
    const after: GraphNode[] = [];
    for (const node of nodes) {
      if (node.inputTensors.some((t) => downstream.has(t.id))) {
        after.push(node);
        for (const t of node.outputTensors) downstream.add(t.id);
      } else {
        before.push(node);
      }
    }
    const values = new Map<number, tf.Tensor>([[model.inputs[0].id, xNHWC]]);
    runNodes(before, values);
    const activation = values.get(source.id) as tf.Tensor;
    let logits: tf.Tensor2D | undefined;
    const gradient = tf.grad((sourceValue: tf.Tensor) => {
      values.set(source.id, sourceValue);
      runNodes(after, values);
      logits = tf.keep(values.get(model.outputs[0].id) as tf.Tensor2D);
      return tf.sum(tf.mul(logits, mask));
    })(activation);
    const result: InputGradientResult = { logits: logits as tf.Tensor2D, gradient };
    if (options.layer !== undefined) result.activation = activation;
    return result as unknown as tf.TensorContainer;
  }) as unknown as InputGradientResult;
}
