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
import { topologicalNodes } from "./graph.ts";

/** A layer class as tfjs' serialization registry sees it. */
type LayerClass = tf.serialization.SerializableConstructor<tf.layers.Layer> & {
  fromConfig(
    cls: tf.serialization.SerializableConstructor<tf.layers.Layer>,
    config: tf.serialization.ConfigDict,
  ): tf.layers.Layer;
};

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
 * A layer of the same class and configuration with no tie to `layer`'s variables. The clone's
 * initializers are zeros: its weights are set right after, and seeded random initializers would
 * cost seconds on the large families for values thrown away.
 */
function cloneLayer(
  layer: tf.layers.Layer,
  overrides: tf.serialization.ConfigDict = {},
): tf.layers.Layer {
  const config: tf.serialization.ConfigDict = { ...layer.getConfig(), ...overrides };
  for (const key of Object.keys(config)) {
    if (key.endsWith("Initializer")) config[key] = { className: "Zeros", config: {} };
  }
  const cls = layer.constructor as LayerClass;
  return cls.fromConfig(cls, config);
}

/**
 * An inference-only functional model computing `model`'s inference-mode output, in which every
 * Conv2D or DepthwiseConv2D (linear, channels-last) whose output feeds only a BatchNormalization
 * is one convolution with bias, named as the convolution, and that BatchNormalization is gone.
 * Every other layer is a clone under its own name. The weights are copies taken now: training
 * `model` afterwards changes nothing here (fold again), and the copy's layers are not trainable.
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
  const symbols = new Map<number, tf.SymbolicTensor>();
  const inputs = model.inputs.map((input) => {
    const copy = tf.input({
      shape: input.shape.slice(1) as number[],
      dtype: input.dtype,
      name: input.sourceLayer.name,
    });
    symbols.set(input.id, copy);
    return copy;
  });
  const clones = new Map<tf.layers.Layer, tf.layers.Layer>();
  const foldedInto = new Map<string, string>();
  const modelOutputs = new Set(model.outputs);
  const foldedBns = new Set<tf.layers.Layer>();
  const toDispose: tf.Tensor[] = [];
  try {
    for (const node of topologicalNodes(model)) {
      const layer = node.outboundLayer;
      if (foldedBns.has(layer)) {
        symbols.set(node.outputTensors[0].id, symbols.get(node.inputTensors[0].id)!);
        continue;
      }
      const bn = foldableBatchNorm(layer, modelOutputs);
      let clone = clones.get(layer);
      if (!clone) {
        clone = cloneLayer(layer, bn ? { useBias: true } : {});
        clones.set(layer, clone);
      }
      const nodeInputs = node.inputTensors.map((t) => symbols.get(t.id)!);
      const out = clone.apply(nodeInputs.length === 1 ? nodeInputs[0] : nodeInputs, node.callArgs);
      const outs = Array.isArray(out) ? out : [out];
      node.outputTensors.forEach((t, i) => symbols.set(t.id, outs[i] as tf.SymbolicTensor));
      if (bn) {
        const weights = foldedConvWeights(layer, bn);
        toDispose.push(...weights);
        clone.setWeights(weights);
        foldedBns.add(bn);
        foldedInto.set(bn.name, layer.name);
      } else {
        clone.setWeights(layer.getWeights());
      }
    }
  } finally {
    tf.dispose(toDispose);
  }
  const folded = tf.model({
    inputs,
    outputs: model.outputs.map((t) => symbols.get(t.id)!),
    name: `${model.name}-folded`,
  });
  folded.trainable = false;
  FOLDED_INTO.set(folded, foldedInto);
  return folded;
}
