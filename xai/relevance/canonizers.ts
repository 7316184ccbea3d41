/**
 * Canonizers for layer-wise relevance propagation: the model's graph rewritten into the steps
 * LRP walks backwards, each with the kind of rule it gets, the way Zennit's canonizers
 * (`SequentialMergeBatchNorm`, `ResNetCanonizer`) prepare a torchvision model. One function,
 * {@link relevanceGraph}, serves every architecture of `models/`; what it does per family:
 *
 * - **BatchNorm merge** (all families): a BatchNorm directly after a convolution is merged into
 *   it (W' = W·s, b' = (b − μ)·s + β, s = γ/√(σ² + ε): `graph/fold_batchnorm.ts`), so the rule
 *   sees one linear layer; the merged BatchNorm then passes relevance unchanged. resnet,
 *   mobilenet_v2, vgg16_bn, efficientnet and ecgnet merge every BatchNorm. DenseNet merges
 *   `features.norm0` into `features.conv0` and each dense layer's `norm2` into its 1x1 `conv1`;
 *   its other BatchNorms come *before* a convolution, after a concatenation or a pooling
 *   (`norm1`, the transitions' `norm`, `norm5`), and pass relevance unchanged, which is what
 *   Zennit's composites give a BatchNorm no canonizer merged (rule `Pass`).
 * - **Residual additions** (resnet `<block>-add`, mobilenet_v2 and efficientnet inverted
 *   residuals): a sum whose inputs share the relevance in proportion to their values (rule
 *   `Norm`), as Zennit's `ResNetCanonizer` makes of the `+` in a BasicBlock.
 * - **Concatenations** (densenet `-cat`): relevance split by channel, back to the tensor each
 *   channel came from (the concatenation's gradient).
 * - **Average pooling** (`avgpool`, densenet transitions, vgg's adaptive pooling): rule `Norm`.
 *   Max-pooling (resnet, densenet stems; vgg): the ordinary gradient, winner takes all, the first
 *   maximum of each window as in PyTorch.
 * - **Squeeze-excitation** (efficientnet): the sigmoid gate is treated as a constant. The product
 *   gate × x passes all of its relevance to x, none to the gate branch (`avgpool`, `fc1`, SiLU,
 *   `fc2`, sigmoid), the usual choice of Zennit users for SE blocks: the gate rescales channels,
 *   it does not carry evidence of its own.
 * - **Activations** (ReLU, ReLU6, SiLU, sigmoid): relevance passes unchanged (rule `Pass`).
 * - Everything else without weights (explicit zero padding, flatten, permute, inference-mode
 *   Dropout and StochasticDepth): the ordinary gradient. An explicit padding read only by one
 *   convolution belongs to that convolution, so the flat and box rules see which inputs are padding.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { foldableBatchNorm, foldedConvWeights } from "../../graph/fold_batchnorm.ts";
import { type GraphNode, topologicalNodes } from "../../graph/graph.ts";
import { maxPoolFeeders } from "../../graph/max_pool_ties.ts";
import type { LinearLayer } from "./rules.ts";

/** The rule kinds a step can get. */
export type StepKind = "linear" | "norm" | "pass" | "gate" | "gradient";

/** Which composite entry a linear step takes its rule from. */
export type LinearRole = "first" | "convolution" | "dense";

/** One step of the relevance graph: a layer, or a convolution with its padding and BatchNorm. */
export interface RelevanceStep {
  kind: StepKind;
  /** The layers of the step, in forward order (padding, convolution, merged BatchNorm). */
  layers: tf.layers.Layer[];
  /** The node of the step's main layer (the convolution of a merged step). */
  node: GraphNode;
  /** What the step reads. */
  inputs: tf.SymbolicTensor[];
  /** What the step produces (a merged step: the BatchNorm's output). */
  output: tf.SymbolicTensor;
  /** `linear`: which rule of the composite it gets. */
  role?: LinearRole;
  /** `gate`: the index of the input that gets the relevance (the gated activation). */
  mainInput?: number;
  /** Convolutions upstream of a max-pool: run on the position-invariant stock kernels. */
  tieExact?: boolean;
}

/** A model as LRP walks it. */
export interface RelevanceGraph {
  input: tf.SymbolicTensor;
  output: tf.SymbolicTensor;
  /** In forward order. */
  steps: RelevanceStep[];
}

const LINEAR = new Set(["Conv2D", "DepthwiseConv2D", "Dense"]);
const CONVOLUTIONS = new Set(["Conv2D", "DepthwiseConv2D"]);
const NORM = new Set([
  "Add",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "TorchAdaptiveAvgPool2d",
]);
const PASS = new Set(["Activation", "ReLU", "TorchReLU6", "TorchSiLU", "BatchNormalization"]);

/** Whether `node` is a sigmoid activation layer: the gate of a squeeze-excitation product. */
function isSigmoid(node: GraphNode | undefined): boolean {
  return node?.outboundLayer.getClassName() === "Activation" &&
    node.outboundLayer.getConfig().activation === "sigmoid";
}

const graphs = new WeakMap<tf.LayersModel, RelevanceGraph>();

/**
 * The steps of `model` as LRP walks them (see the module documentation), computed once per
 * model.
 *
 * @throws {Error} for a product of two tensors neither of which is a sigmoid gate: no canonizer
 * says how to share its relevance.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { relevanceGraph } from "./canonizers.ts";
 * await startBackend("cpu");
 * const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const steps = relevanceGraph(model).steps;
 * const stem = steps.find((s) => s.kind === "linear")!;
 * assert(stem.role === "first" && stem.layers.map((l) => l.name).join() === "conv1-pad,conv1,bn1");
 * assert(steps.filter((s) => s.kind === "norm").length === 9); // 8 residual sums and avgpool
 * model.dispose();
 * ```
 */
export function relevanceGraph(model: tf.LayersModel): RelevanceGraph {
  const known = graphs.get(model);
  if (known) return known;
  const nodes = topologicalNodes(model);
  const readers = new Map<number, GraphNode[]>();
  const producer = new Map<number, GraphNode>();
  for (const node of nodes) {
    for (const t of node.inputTensors) readers.set(t.id, [...readers.get(t.id) ?? [], node]);
    for (const t of node.outputTensors) producer.set(t.id, node);
  }
  const modelOutputs = new Set(model.outputs);
  const absorbed = new Set<GraphNode>();
  const tieExact = maxPoolFeeders(
    nodes,
    nodes.filter((node) => node.outboundLayer.getClassName() === "MaxPooling2D"),
  );
  const steps: RelevanceStep[] = [];
  let seenLinear = false;
  for (const node of nodes) {
    if (absorbed.has(node)) continue;
    const layer = node.outboundLayer;
    const className = layer.getClassName();
    const base = { node, inputs: node.inputTensors, output: node.outputTensors[0] };
    if (className === "ZeroPadding2D") {
      const [reader] = readers.get(node.outputTensors[0].id) ?? [];
      if (
        readers.get(node.outputTensors[0].id)?.length === 1 &&
        CONVOLUTIONS.has(reader.outboundLayer.getClassName())
      ) {
        continue; // taken into its convolution's step below
      }
    }
    if (LINEAR.has(className)) {
      const layers = [layer];
      let inputs = node.inputTensors;
      const padding = producer.get(inputs[0].id);
      if (
        padding?.outboundLayer.getClassName() === "ZeroPadding2D" &&
        readers.get(inputs[0].id)?.length === 1
      ) {
        layers.unshift(padding.outboundLayer);
        inputs = padding.inputTensors;
      }
      let output = node.outputTensors[0];
      const bn = foldableBatchNorm(layer, modelOutputs);
      if (bn) {
        const bnNode = bn.inboundNodes[0] as unknown as GraphNode;
        absorbed.add(bnNode);
        layers.push(bn);
        output = bnNode.outputTensors[0];
      }
      const role: LinearRole = !seenLinear
        ? "first"
        : className === "Dense"
        ? "dense"
        : "convolution";
      seenLinear = true;
      steps.push({
        kind: "linear",
        layers,
        node,
        inputs,
        output,
        role,
        tieExact: tieExact.has(node),
      });
    } else if (NORM.has(className)) {
      steps.push({ ...base, kind: "norm", layers: [layer] });
    } else if (PASS.has(className)) {
      steps.push({ ...base, kind: "pass", layers: [layer] });
    } else if (className === "Multiply") {
      const gates = node.inputTensors.map((t) => isSigmoid(producer.get(t.id)));
      if (node.inputTensors.length !== 2 || gates.filter((g) => g).length !== 1) {
        throw new Error(
          `lrp: ${model.name}: layer ${layer.name} multiplies tensors none of which (or both of ` +
            "which) is a sigmoid gate; no canonizer says how its relevance is shared",
        );
      }
      steps.push({ ...base, kind: "gate", layers: [layer], mainInput: gates.indexOf(false) });
    } else {
      steps.push({ ...base, kind: "gradient", layers: [layer] });
    }
  }
  const graph = { input: model.inputs[0], output: model.outputs[0], steps };
  graphs.set(model, graph);
  return graph;
}

/** Tensors the caller disposes when it is done with a {@link LinearLayer}. */
export interface OwnedLinearLayer {
  layer: LinearLayer;
  dispose(): void;
}

interface ConvConfig {
  strides: [number, number];
  padding: "same" | "valid";
  dilationRate: [number, number];
}

/**
 * The linear layer of `step` (a `linear` step) for the rules: its kernel and bias with the
 * BatchNorm merged in, and f(x; W) + b with the step's padding, strides and dilation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { tf } from "../../deps.ts";
 * import { linearLayerOf, relevanceGraph } from "./canonizers.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const stem = relevanceGraph(model).steps[0];
 * const { layer, dispose } = linearLayerOf(stem);
 * const x = tf.ones([1, 32, 32, 3]);
 * const ours = layer.apply(x, layer.kernel, layer.bias);
 * // The stem's BatchNorm output, as the model computes it (padding, convolution, BatchNorm).
 * const upToBn = tf.model({ inputs: model.inputs, outputs: model.getLayer("features.0.1").output });
 * const theirs = upToBn.predict(x) as tf.Tensor;
 * assert(tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0] < 1e-4);
 * dispose();
 * model.dispose();
 * ```
 */
export function linearLayerOf(step: RelevanceStep): OwnedLinearLayer {
  const layer = step.node.outboundLayer;
  const className = layer.getClassName();
  const bn = step.layers.find((l) => l.getClassName() === "BatchNormalization");
  const padding = step.layers.find((l) => l.getClassName() === "ZeroPadding2D");
  const owned = bn ? foldedConvWeights(layer, bn) : [];
  const [kernel, bias] = bn ? owned : layer.getWeights();
  const name = layer.name;
  if (className === "Dense") {
    return {
      layer: {
        name,
        kernel,
        bias: bias as tf.Tensor1D | undefined,
        apply: (x, w, b) => {
          const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
          return b ? tf.add(y, b) : y;
        },
      },
      dispose: () => tf.dispose(owned),
    };
  }
  const config = layer.getConfig() as unknown as ConvConfig;
  const sides = padding?.getConfig().padding as [number, number][] | undefined;
  const apply = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const padded = (sides ? tf.pad(x, [[0, 0], sides[0], sides[1], [0, 0]]) : x) as tf.Tensor4D;
    const y = className === "DepthwiseConv2D"
      ? tf.depthwiseConv2d(
        padded,
        w as tf.Tensor4D,
        config.strides,
        config.padding,
        "NHWC",
        config.dilationRate,
      )
      : tf.conv2d(
        padded,
        w as tf.Tensor4D,
        config.strides,
        config.padding,
        "NHWC",
        config.dilationRate,
      );
    return b ? tf.add(y, b) : y;
  };
  return {
    layer: { name, kernel, bias: bias as tf.Tensor1D | undefined, apply },
    dispose: () => tf.dispose(owned),
  };
}
