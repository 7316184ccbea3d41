/**
 * The backward pass through graph nodes whose forward values are already known (kept by a
 * `ForwardCache`), without running their forward pass again.
 *
 * Why: MPRT randomises a model's layers from the output down and re-explains after each step.
 * With Integrated Gradients every re-explanation is a forward and backward pass of each path row
 * through the whole network, but the layers below the randomised ones are unchanged, so their
 * forward values on the path rows are the same at every step. tfjs's `tf.grad` can only
 * differentiate what it records, and recording means running the forward pass; here the
 * vector-Jacobian product of each unchanged node is computed with the same ops tfjs's registered
 * gradients use (`Conv2D`: `conv2DBackpropInput`; `Relu`: dy · step(x); BatchNorm as
 * `inputGradients` runs it, x · α + β': dy · α), so each node's gradient is the one the tape
 * would compute. The linear layers read no forward value at all, a ReLU its output, so only the
 * outputs of layers without weights need keeping. Layers without a rule here fall back to
 * differentiating the node alone, which runs that one node's forward again (max-pools, paddings,
 * poolings, ReLU6, SiLU: cheap next to the convolutions).
 *
 * Why not batch the steps' backward passes through the unchanged layers (the same linear map at
 * every step for a given path row): stacking the steps' gradients multiplies the rows of that
 * pass, so it saves no multiply-add; only the forward pass through them is shared.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { batchNormAffine } from "./fold_batchnorm.ts";
import type { GraphNode } from "./graph.ts";

/** How a node's layer is applied (with the forward ops of `inputGradients`). */
export type NodeApply = (inputs: tf.Tensor[]) => tf.Tensor[];

/** A node's forward values, asked for only where its rule reads them (kept or recomputed). */
export interface NodeValues {
  /** The value of the node's input `i`. */
  input(i: number): tf.Tensor;
  /** The value of the node's (one) output. */
  output(): tf.Tensor;
}

interface ConvConfig {
  strides: [number, number];
  padding: "same" | "valid";
  dilationRate: [number, number];
  dataFormat: string;
  activation?: string;
}

/**
 * dL/d(input) of every input of `node`, given dL/d(output) `dy` (the node has one output).
 * `values` gives its forward values; the rules here read at most the output (a ReLU's), the
 * linear layers none at all (their input's shape is the symbolic one with dy's batch). `apply`
 * runs the node's layer, only for layers without a rule here. Call it inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { nodeInputGradients } from "./cached_backward.ts";
 * import type { GraphNode } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, useBias: false, name: "conv" });
 * conv.apply(x);
 * const node = conv.inboundNodes[0] as unknown as GraphNode;
 * const input = tf.randomNormal([1, 4, 4, 1], 0, 1, "float32", 1) as tf.Tensor4D;
 * const dy = tf.randomNormal([1, 2, 2, 2], 0, 1, "float32", 2);
 * const apply = (xs: tf.Tensor[]) => [conv.apply(xs[0]) as tf.Tensor];
 * // The gradient of differentiating the layer, without its forward pass or even its values.
 * const unread = () => { throw new Error("not needed"); };
 * const [dx] = nodeInputGradients(node, { input: unread, output: unread }, dy, apply);
 * const taped = tf.grad((v: tf.Tensor) => apply([v])[0])(input, dy);
 * assert(dx.dataSync().join() === taped.dataSync().join());
 * ```
 */
export function nodeInputGradients(
  node: GraphNode,
  values: NodeValues,
  dy: tf.Tensor,
  apply: NodeApply,
): tf.Tensor[] {
  const layer = node.outboundLayer;
  const inputShapes = node.inputTensors.map((t) => [dy.shape[0], ...t.shape.slice(1)]);
  const known = inputShapes.every((shape) => shape.every((d) => typeof d === "number"));
  const className = layer.getClassName();
  switch (known ? className : "") {
    case "Conv2D": {
      const config = layer.getConfig() as unknown as ConvConfig;
      const plain = config.dataFormat === "channelsLast" && config.activation === "linear" &&
        config.dilationRate.every((d) => d === 1) && inputShapes[0].length === 4;
      if (!plain) break;
      // tfjs's Conv2D gradient: conv2DBackpropInput(x.shape, dy, filter, strides, pad); the bias
      // add passes dy on unchanged. No forward value is read: the map is linear.
      const kernel = layer.getWeights()[0] as tf.Tensor4D;
      return [
        tf.conv2dTranspose(
          dy as tf.Tensor4D,
          kernel,
          inputShapes[0] as [number, number, number, number],
          config.strides,
          config.padding,
        ),
      ];
    }
    case "BatchNormalization": {
      if (![-1, inputShapes[0].length - 1].includes(layer.getConfig().axis as number)) break;
      // `inputGradients` runs it as x · α + β': the product's gradient is dy · α.
      const [scale, shift] = batchNormAffine(layer);
      shift.dispose();
      return [tf.mul(dy, scale)];
    }
    case "Activation":
    case "ReLU": {
      const config = layer.getConfig();
      const relu = config.activation === "relu" ||
        (className === "ReLU" && config.maxValue == null);
      // tfjs's Relu gradient is dy · step(x); step(relu(x)) is the same mask (relu(x) > 0 just
      // where x > 0, NaN where x is), so the kept output serves and the input need not be kept.
      if (relu) return [tf.mul(dy, tf.step(values.output()))];
      break;
    }
    case "Add":
      // Same-shape inputs (every residual sum here): each receives dy itself.
      if (inputShapes.every((shape) => shape.join() === dy.shape.join())) {
        return inputShapes.map(() => dy);
      }
      break;
  }
  // Differentiate the node alone: its forward runs once more, on its inputs.
  const grads = tf.grads((...xs: tf.Tensor[]) => apply(xs)[0]);
  return grads(node.inputTensors.map((_, i) => values.input(i)), dy);
}
