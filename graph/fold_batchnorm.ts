/**
 * BatchNorm folded into the convolution before it: inference-only copies of a model, for
 * predictions ({@link foldBatchNorm}); and BatchNorm as the affine map both rest on
 * ({@link batchNormAffine}, which `inputGradients` runs in place of tfjs' `batchNorm`).
 *
 * In inference mode BatchNorm is a per-channel affine map, γ·(y − μ)/√(σ² + ε) + β, of the
 * convolution output y = W∗x + b, so the pair is one convolution with W' = W·s and
 * b' = β + (b − μ)·s, s = γ/√(σ² + ε). On wasm the BatchNorm ops cost a third of
 * mobilenet_v2's forward pass and an eighth of resnet18's.
 *
 * **Only for predictions.** The folded convolution keeps the convolution's layer name, but its
 * output is the BatchNorm's: in PyTorch (and in the unfolded model) `layer4.1.conv2` or
 * `features.18.0` answers the activation *before* the BatchNorm. The BatchNorm's own name
 * resolves to the folded convolution (see {@link foldedBatchNormTarget}). Explainers that need a
 * convolution's pre-BatchNorm output (Grad-CAM on `last-conv`) must run on the original model;
 * so must training, weight export and anything reading a BatchNorm's running statistics.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { rebuildModel } from "./rebuild_model.ts";

const FOLDABLE_CONVS = new Set(["Conv2D", "DepthwiseConv2D"]);

/** For each folded model: BatchNorm layer name → name of the convolution it was folded into. */
const FOLDED_INTO = new WeakMap<tf.LayersModel, ReadonlyMap<string, string>>();

/**
 * The name of the convolution that BatchNorm layer `layerName` of the original model was folded
 * into, when `model` came from {@link foldBatchNorm}; undefined otherwise. `torchModuleOutputLayer`
 * uses it so a BatchNorm's torch path still names its output.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { foldBatchNorm, foldedBatchNormTarget } from "./fold_batchnorm.ts";
 * await startBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const conv = tf.layers.conv2d({ name: "conv1", filters: 4, kernelSize: 3, useBias: false });
 * const bn = tf.layers.batchNormalization({ name: "bn1" });
 * const model = tf.model({ inputs: x, outputs: bn.apply(conv.apply(x)) as tf.SymbolicTensor });
 * const folded = foldBatchNorm(model);
 * assert(foldedBatchNormTarget(folded, "bn1") === "conv1");
 * assert(foldedBatchNormTarget(model, "bn1") === undefined);
 * ```
 */
export function foldedBatchNormTarget(
  model: tf.LayersModel,
  layerName: string,
): string | undefined {
  return FOLDED_INTO.get(model)?.get(layerName);
}

/**
 * The BatchNorm that alone consumes `conv`'s output, when the pair can be folded: `conv` is a
 * linear, channels-last Conv2D or DepthwiseConv2D applied once, whose output is not one of
 * `modelOutputs`, read only by a BatchNorm over the last axis, applied once.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { foldableBatchNorm } from "./fold_batchnorm.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false });
 * const bn = tf.layers.batchNormalization();
 * const model = tf.model({ inputs: x, outputs: bn.apply(conv.apply(x)) as tf.SymbolicTensor });
 * assert(foldableBatchNorm(conv, new Set(model.outputs)) === bn);
 * ```
 */
export function foldableBatchNorm(
  conv: tf.layers.Layer,
  modelOutputs: ReadonlySet<tf.SymbolicTensor>,
): tf.layers.Layer | undefined {
  if (!FOLDABLE_CONVS.has(conv.getClassName())) return undefined;
  const convConfig = conv.getConfig();
  if (convConfig.activation !== "linear" || convConfig.dataFormat !== "channelsLast") {
    return undefined;
  }
  if (conv.inboundNodes.length !== 1 || conv.outboundNodes.length !== 1) return undefined;
  if (modelOutputs.has(conv.output as tf.SymbolicTensor)) return undefined;
  const bn = conv.outboundNodes[0].outboundLayer;
  if (bn.getClassName() !== "BatchNormalization" || bn.inboundNodes.length !== 1) return undefined;
  const axis = bn.getConfig().axis;
  return axis === -1 || axis === 3 ? bn : undefined;
}

/**
 * BatchNorm layer `bn` in inference mode as the per-channel affine map y·α + β', with
 * α = γ/√(σ² + ε) and β' = β − μ·α (the terms PyTorch's CPU kernel computes), as [α, β'] tensors
 * the caller owns, computed on the backend (no download).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { batchNormAffine } from "./fold_batchnorm.ts";
 * await tf.setBackend("cpu");
 * const bn = tf.layers.batchNormalization({ epsilon: 0 });
 * bn.apply(tf.input({ shape: [2] }));
 * // γ, β, μ, σ²
 * bn.setWeights([tf.tensor1d([2, 2]), tf.tensor1d([1, 0]), tf.tensor1d([0, 1]), tf.tensor1d([4, 4])]);
 * const [scale, shift] = batchNormAffine(bn);
 * assert(scale.dataSync().join() === "1,1" && shift.dataSync().join() === "1,-1");
 * tf.dispose([scale, shift]);
 * ```
 */
export function batchNormAffine(bn: tf.layers.Layer): [tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const { center, scale, epsilon } = bn.getConfig() as {
      center: boolean;
      scale: boolean;
      epsilon: number;
    };
    const weights = bn.getWeights();
    const gamma = scale ? weights.shift() : undefined;
    const beta = center ? weights.shift() : undefined;
    const [mean, variance] = weights;
    const root = tf.sqrt(tf.add(variance, epsilon));
    const alpha = gamma ? tf.div(gamma, root) : tf.reciprocal(root);
    const shifted = tf.neg(tf.mul(mean, alpha));
    return [alpha as tf.Tensor1D, (beta ? tf.add(beta, shifted) : shifted) as tf.Tensor1D];
  });
}

/**
 * A convolution layer's kernel and bias with BatchNorm layer `bn` folded in: W·α and b·α + β'.
 * Output channel c of a Conv2D kernel [kh, kw, in, out] and of a DepthwiseConv2D kernel
 * [kh, kw, in, multiplier] (channel i·multiplier + m) is in both cases the flat index modulo the
 * output channel count. The caller owns the two tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { foldedConvWeights } from "./fold_batchnorm.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false, kernelInitializer: "ones" });
 * const bn = tf.layers.batchNormalization({ epsilon: 0 });
 * bn.apply(conv.apply(x));
 * // γ, β, μ, σ²: α = 2/2 = 1 and 3/1 = 3, β' = β − μ·α.
 * bn.setWeights([tf.tensor1d([2, 3]), tf.tensor1d([1, 0]), tf.tensor1d([0, 1]), tf.tensor1d([4, 1])]);
 * const [kernel, bias] = foldedConvWeights(conv, bn);
 * assert(kernel.dataSync().join() === "1,3" && bias.dataSync().join() === "1,-3");
 * tf.dispose([kernel, bias]);
 * ```
 */
export function foldedConvWeights(
  conv: tf.layers.Layer,
  bn: tf.layers.Layer,
): [tf.Tensor, tf.Tensor1D] {
  return tf.tidy(() => {
    const [alpha, shift] = batchNormAffine(bn);
    const [kernel, convBias] = conv.getWeights();
    const w = tf.reshape(tf.mul(tf.reshape(kernel, [-1, alpha.shape[0]]), alpha), kernel.shape);
    return [w, convBias ? tf.add(tf.mul(convBias, alpha), shift) as tf.Tensor1D : shift];
  });
}

/**
 * An inference-only functional model computing `model`'s inference-mode output, in which every
 * Conv2D or DepthwiseConv2D (linear, channels-last) whose output feeds only a BatchNormalization
 * is one convolution with bias, named as the convolution, and that BatchNormalization is gone.
 * Every other layer is rebuilt under its own name, sharing the memory of `model`'s weights
 * (`graph/rebuild_model.ts`): the copy costs only the folded convolutions' weights. It holds the
 * values of now: training `model` afterwards changes nothing here (tfjs replaces a variable's
 * memory rather than writing into it; fold again), and the copy's layers are not trainable.
 * Dispose the result on its own; `model` is left as it was.
 *
 * Names keep working with `torchModuleOutputLayer`, but a folded convolution's output is the
 * BatchNorm's (see the module documentation): use the original for a convolution's pre-BatchNorm
 * activation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { foldBatchNorm } from "./fold_batchnorm.ts";
 * import { buildModel } from "../models/registry.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64, seed: 1 });
 * const folded = foldBatchNorm(model);
 * assert(!folded.layers.some((l) => l.getClassName() === "BatchNormalization"));
 * const x = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 1);
 * const [a, b] = [model, folded].map((m) => m.predict(x) as tf.Tensor);
 * assert(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-4);
 * tf.dispose([x, a, b]);
 * folded.dispose();
 * model.dispose();
 * ```
 */
export function foldBatchNorm(model: tf.LayersModel): tf.LayersModel {
  const modelOutputs = new Set(model.outputs);
  const foldedInto = new Map<string, string>();
  const foldedBns = new Set<tf.layers.Layer>();
  const foldedWeights: tf.Tensor[] = [];
  try {
    const folded = rebuildModel(model, `${model.name}-folded`, (layer) => {
      if (foldedBns.has(layer)) return { passThrough: true };
      const bn = foldableBatchNorm(layer, modelOutputs);
      if (!bn) return {};
      const weights = foldedConvWeights(layer, bn);
      foldedWeights.push(...weights);
      foldedBns.add(bn);
      foldedInto.set(bn.name, layer.name);
      return { overrides: { useBias: true }, weights };
    });
    folded.trainable = false;
    FOLDED_INTO.set(folded, foldedInto);
    return folded;
  } finally {
    tf.dispose(foldedWeights);
  }
}
