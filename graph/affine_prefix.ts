/**
 * The affine layers a network applies to its input before its first nonlinearity: on every
 * registry model the stem's zero padding, convolution and (inference-mode) BatchNorm, P(x) =
 * L x + c with L linear. Methods that evaluate the network on many inputs lying on one line
 * (Integrated Gradients' path b + α (x − b)) need P only at the line's two ends, because
 * P(b + α (x − b)) = P(b) + α (P(x) − P(b)); and the gradients they sum, Σ_k w_k Lᵀ g_k, need
 * only one transposed pass, Lᵀ (Σ_k w_k g_k). On resnet18 at 224 px the stem's convolution and
 * its input gradient are about a fifth of a forward + backward pass.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { topologicalNodes } from "./graph.ts";
import { evaluateTo } from "./input_gradients.ts";

/** Layers that are affine in their one input as `inputGradients` evaluates them. */
function isAffine(layer: tf.layers.Layer): boolean {
  const className = layer.getClassName();
  if (className === "ZeroPadding2D" || className === "BatchNormalization") return true;
  if (className === "Conv2D" || className === "DepthwiseConv2D") {
    return (layer.getConfig() as { activation?: string }).activation === "linear";
  }
  return false;
}

const CONVOLUTIONS = new Set(["Conv2D", "DepthwiseConv2D"]);

/**
 * A model's affine prefix: the longest chain of affine layers from its input in which every
 * tensor has exactly one reader, ending at {@link output}, the first tensor a nonlinear layer (or
 * more than one layer) reads.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { AffinePrefix } from "./affine_prefix.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 1, kernelSize: 3, kernelInitializer: "ones", name: "stem" });
 * const h = tf.layers.reLU().apply(conv.apply(x)) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const prefix = AffinePrefix.of(model)!;
 * assert(prefix.layers.join() === "stem");
 * // Lᵀ of a 2 x 2 map of ones: how many outputs each input pixel reaches.
 * const reach = prefix.transpose(tf.ones([1, 2, 2, 1]), [1, 4, 4, 1]);
 * assert(reach.dataSync().join() === "1,2,2,1,2,4,4,2,2,4,4,2,1,2,2,1");
 * reach.dispose();
 * ```
 */
export class AffinePrefix {
  /** The model the prefix belongs to. */
  readonly model: tf.LayersModel;
  /** The tensor the prefix computes: the first one a nonlinear layer reads. */
  readonly output: tf.SymbolicTensor;
  /** The prefix's layer names, in order. */
  readonly layers: readonly string[];

  private constructor(model: tf.LayersModel, output: tf.SymbolicTensor, layers: string[]) {
    this.model = model;
    this.output = output;
    this.layers = layers;
  }

  /** The model's affine prefix, or undefined when it does not start with a convolution. */
  static of(model: tf.LayersModel): AffinePrefix | undefined {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
    const nodes = topologicalNodes(model);
    const modelOutput = model.outputs[0].id;
    const layers: string[] = [];
    let tensor = model.inputs[0];
    let end: { tensor: tf.SymbolicTensor; length: number } | undefined;
    for (;;) {
      const readers = nodes.filter((node) => node.inputTensors.some((t) => t.id === tensor.id));
      const [next] = readers;
      if (
        readers.length !== 1 || next.inputTensors.length !== 1 ||
        next.outputTensors.length !== 1 || !isAffine(next.outboundLayer) ||
        next.outputTensors[0].id === modelOutput
      ) break;
      layers.push(next.outboundLayer.name);
      tensor = next.outputTensors[0];
      if (CONVOLUTIONS.has(next.outboundLayer.getClassName()) || end) {
        end = { tensor, length: layers.length };
      }
    }
    // Without a convolution the prefix is a few elementwise ops: nothing worth saving.
    return end ? new AffinePrefix(model, end.tensor, layers.slice(0, end.length)) : undefined;
  }

  /** P(x) for an input batch, with the numerics of `inputGradients`; differentiable. */
  apply(xNHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => evaluateTo(this.model, xNHWC, this.output) as tf.Tensor4D);
  }

  /**
   * Lᵀ dy: the gradient w.r.t. the input of Σ P(x) · dy, for `dyNHWC` of {@link output}'s
   * shape; the same for every x, since P is affine. The caller disposes it.
   */
  transpose(dyNHWC: tf.Tensor4D, inputShapeNHWC: readonly number[]): tf.Tensor4D {
    return tf.tidy(() =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(this.apply(x as tf.Tensor4D), dyNHWC)))(
        tf.zeros([...inputShapeNHWC]),
      ) as tf.Tensor4D
    );
  }
}
