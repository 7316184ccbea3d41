/**
 * Modified backward rules at a network's activation layers, for the attribution methods that
 * change how a gradient passes a non-linearity while every other op keeps its ordinary gradient:
 *
 * - `guided` (Springenberg et al., "Striving for Simplicity: The All Convolutional Net", 2015,
 *   Guided Backpropagation): relu(g · f'(x)), the ordinary gradient with its negative part cut
 *   (at a ReLU, relu(g) · 1[x > 0]), as Captum's `GuidedBackprop` hooks it;
 * - `deconvolution` (Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks",
 *   2014): relu(g), the gradient passed as if the forward gate were open everywhere;
 * - `rescale` (Shrikumar, Greenside and Kundaje, "Learning Important Features Through
 *   Propagating Activation Differences", ICML 2017, DeepLIFT's Rescale rule):
 *   g · (f(x) − f(x0)) / (x − x0) with x0 the value the baseline produces there, and the
 *   ordinary gradient g · f'(x) where |x − x0| < 1e-10 (Captum's `eps`).
 *
 * g is the gradient arriving at the activation's output, x its input. The rules apply where an
 * activation layer (`nn.ReLU`, `nn.ReLU6`, `nn.SiLU`, `nn.Sigmoid` of `models/layers.ts`) is of
 * one of the kinds the caller lists.
 *
 * @module
 */
import { tf } from "../deps.ts";
import type { Activation } from "../models/layers.ts";

/** The rule's name. */
export type BackwardRuleName = "guided" | "deconvolution" | "rescale";

/** DeepLIFT's threshold on |x − x0| below which the ordinary gradient is kept (Captum's). */
export const RESCALE_EPS = 1e-10;

/** Where and how the backward pass is modified. */
export interface BackwardRule {
  /** The rule. */
  name: BackwardRuleName;
  /** The kinds of activation layer that get it; the others keep their ordinary gradient. */
  activations: readonly Activation[];
  /**
   * `rescale` only: the reference input x0 (DeepLIFT's baseline), the shape of the input batch;
   * the caller keeps ownership.
   */
  baselineNHWC?: tf.Tensor4D;
}

/**
 * The activation kind of `layer` (as `TorchLayers.activation` builds it), or undefined for any
 * other layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { activationKind } from "./backward_rules.ts";
 * assert(activationKind(tf.layers.activation({ activation: "relu" })) === "relu");
 * assert(activationKind(tf.layers.dense({ units: 1 })) === undefined);
 * ```
 */
export function activationKind(layer: tf.layers.Layer): Activation | undefined {
  switch (layer.getClassName()) {
    case "Activation": {
      const name = layer.getConfig().activation;
      return name === "relu" || name === "sigmoid" ? name : undefined;
    }
    case "TorchReLU6":
      return "relu6";
    case "TorchSiLU":
      return "silu";
    default:
      return undefined;
  }
}

/**
 * f'(x) of an activation of kind `kind` at input x with output y = f(x), with PyTorch's choice
 * at the kinks (a ReLU's derivative is 0 at 0, a ReLU6's is 1 only for 0 < x < 6).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { activationDerivative } from "./backward_rules.ts";
 * await tf.setBackend("cpu");
 * const x = tf.tensor1d([-1, 0, 3, 6, 7]);
 * const d = activationDerivative("relu6", x, tf.relu6(x));
 * assert(d.dataSync().join() === "0,0,1,0,0");
 * ```
 */
export function activationDerivative(kind: Activation, x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (kind) {
      case "relu":
        return tf.cast(tf.greater(x, 0), "float32");
      case "relu6":
        return tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), "float32");
      case "sigmoid":
        return tf.mul(y, tf.sub(1, y));
      case "silu": {
        const s = tf.sigmoid(x);
        return tf.add(s, tf.mul(x, tf.mul(s, tf.sub(1, s))));
      }
    }
  });
}

/** The baseline's input and output of one activation, for `rescale`. */
export interface ReferenceValues {
  /** x0. */
  input: tf.Tensor;
  /** f(x0). */
  output: tf.Tensor;
}

/**
 * The gradient the rule passes to the activation's input x, given the gradient `dy` at its output
 * y = f(x) (and, for `rescale`, the baseline's values there).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { ruleGradient } from "./backward_rules.ts";
 * await tf.setBackend("cpu");
 * const x = tf.tensor1d([-1, 2, 2]);
 * const dy = tf.tensor1d([3, -4, 5]);
 * assert(ruleGradient("guided", "relu", dy, x, tf.relu(x)).dataSync().join() === "0,0,5");
 * assert(ruleGradient("deconvolution", "relu", dy, x, tf.relu(x)).dataSync().join() === "3,0,5");
 * // From x0 = -2 to x = 2 the ReLU's output rises by 2: multiplier 2 / 4.
 * const x0 = tf.fill([3], -2);
 * const rescaled = ruleGradient("rescale", "relu", dy, x, tf.relu(x), { input: x0, output: tf.relu(x0) });
 * assert(rescaled.dataSync()[2] === 2.5);
 * ```
 */
export function ruleGradient(
  name: BackwardRuleName,
  kind: Activation,
  dy: tf.Tensor,
  x: tf.Tensor,
  y: tf.Tensor,
  reference?: ReferenceValues,
): tf.Tensor {
  return tf.tidy(() => {
    switch (name) {
      case "guided":
        return tf.relu(tf.mul(dy, activationDerivative(kind, x, y)));
      case "deconvolution":
        return tf.relu(dy);
      case "rescale": {
        if (!reference) throw new Error("ruleGradient: rescale needs the baseline's values");
        const deltaIn = tf.sub(x, reference.input);
        const near = tf.less(tf.abs(deltaIn), RESCALE_EPS);
        const multiplier = tf.where(
          near,
          activationDerivative(kind, x, y),
          tf.div(tf.sub(y, reference.output), tf.where(near, tf.onesLike(deltaIn), deltaIn)),
        );
        return tf.mul(dy, multiplier);
      }
    }
  });
}

/**
 * y = `forward`(x) whose gradient w.r.t. x is the rule's instead of the ordinary one.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { withRule } from "./backward_rules.ts";
 * await tf.setBackend("cpu");
 * const g = tf.grad((x: tf.Tensor) =>
 *   tf.sum(tf.mul(withRule("deconvolution", "relu", (v) => tf.relu(v), x), tf.tensor1d([1, -1])))
 * )(tf.tensor1d([-1, 1]));
 * assert(g.dataSync().join() === "1,0");
 * ```
 */
export function withRule(
  name: BackwardRuleName,
  kind: Activation,
  forward: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  reference?: ReferenceValues,
): tf.Tensor {
  const modified = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const value = forward(input);
    (args[1] as tf.GradSaveFunc)([input, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [savedX, savedY]: tf.Tensor[]) =>
        ruleGradient(name, kind, dy, savedX, savedY, reference),
    };
  });
  return modified(x);
}
