/**
 * Inference-only copies of a model with every BatchNorm folded into the convolution before it.
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
 * import { tf } from "../deps.ts";
import { topologicalNodes } from "./graph.ts";
 * import { startBackend } from "./backend.ts";
 * import { foldBatchNorm, foldedBatchNormTarget } from "./fold_batchnorm.ts";
 * await startBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const conv = tf.layers.conv2d({ name: "conv1", filters: 4, kernelSize: 3, useBias: false });
 * const bn = tf.layers.batchNormalization({ name: "bn1" });
 * const model = tf.model({ inputs: x, outputs: bn.apply(conv.apply(x)) as tf.SymbolicTensor });
 * const folded = foldBatchNorm(model);
 * console.assert(foldedBatchNormTarget(folded, "bn1") === "conv1");
 * console.assert(foldedBatchNormTarget(model, "bn1") === undefined);
 * ```
 */
export function foldedBatchNormTarget(
  model: tf.LayersModel,
  layerName: string,
): string | undefined {
  return FOLDED_INTO.get(model)?.get(layerName);
}

/** The BatchNorm that alone consumes `conv`'s output, when the pair can be folded. */
function foldableBatchNorm(
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
 * A conv layer's kernel and bias with `bn` folded in, computed in float64. Output channel c of
 * a Conv2D kernel [kh, kw, in, out] and of a DepthwiseConv2D kernel [kh, kw, in, multiplier]
 * (channel i·multiplier + m) is in both cases the flat index modulo the output channel count.
 */
function foldedWeights(conv: tf.layers.Layer, bn: tf.layers.Layer): [tf.Tensor, tf.Tensor] {
  const [kernel, convBias] = conv.getWeights();
  const { center, scale, epsilon } = bn.getConfig() as {
    center: boolean;
    scale: boolean;
    epsilon: number;
  };
  const bnWeights = bn.getWeights().map((w) => w.dataSync());
  const gamma = scale ? bnWeights.shift() : undefined;
  const beta = center ? bnWeights.shift() : undefined;
  const [mean, variance] = bnWeights;
  const channels = mean.length;
  const s = Float64Array.from(mean, (_, c) => (gamma?.[c] ?? 1) / Math.sqrt(variance[c] + epsilon));
  const b = convBias?.dataSync();
  const bias = Float32Array.from(
    mean,
    (m, c) => (beta?.[c] ?? 0) + ((b?.[c] ?? 0) - m) * s[c],
  );
  const w = Float32Array.from(kernel.dataSync(), (v, i) => v * s[i % channels]);
  return [tf.tensor(w, kernel.shape), tf.tensor1d(bias)];
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
 * import { tf } from "../deps.ts";
import { topologicalNodes } from "./graph.ts";
 * import { startBackend } from "./backend.ts";
 * import { foldBatchNorm } from "./fold_batchnorm.ts";
 * import { buildModel } from "./registry.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64, seed: 1 });
 * const folded = foldBatchNorm(model);
 * console.assert(!folded.layers.some((l) => l.getClassName() === "BatchNormalization"));
 * const x = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 1);
 * const [a, b] = [model, folded].map((m) => m.predict(x) as tf.Tensor);
 * console.assert(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-4);
 * tf.dispose([x, a, b]);
 * folded.dispose();
 * model.dispose();
 * ```
 */
export function foldBatchNorm(model: tf.LayersModel): tf.LayersModel {
  const modelOutputs = new Set(model.outputs);
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
        const weights = foldedWeights(layer, bn);
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
