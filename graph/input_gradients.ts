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
 * BatchNorm (inference mode) runs as the per-channel affine map y·α + β' PyTorch's CPU kernel
 * computes (`batchNormAffine`), two elementwise ops whose gradient is one product, instead of
 * tfjs's `batchNorm` and its gradient's half a dozen ops per layer (a third of mobilenet_v2's
 * time on wasm). Convolutions upstream of a max-pool the gradient passes back through run on the
 * position-invariant stock kernels even where OpenBLAS is registered (`max_pool_ties.ts`), so
 * that the max-pool's ties, and the pixel its gradient goes to, are PyTorch's.
 *
 * Before a `layer` (Grad-CAM's forward pass to it) nothing is differentiated, so there a
 * convolution and the BatchNorm after it run as one convolution with the BatchNorm folded into
 * its kernel and bias, where that costs less than the BatchNorm's passes over the output.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { withStockConvolutions } from "../backends/openblas/blas_conv2d.ts";
import { batchNormAffine, foldableBatchNorm, foldedConvWeights } from "./fold_batchnorm.ts";
import { type GraphNode, nodesFrom, topologicalNodes } from "./graph.ts";
import {
  activationKind,
  type BackwardRule,
  type ReferenceValues,
  withRule,
} from "./backward_rules.ts";
import { maxPoolFeeders } from "./max_pool_ties.ts";
import { nodeInputGradients } from "./cached_backward.ts";

/** What to differentiate with respect to. */
export interface InputGradientOptions {
  /**
   * A layer name: return its output activation and the gradient w.r.t. it (GradCAM) instead of
   * the gradient w.r.t. the input.
   */
  layer?: string;
  /**
   * Activations of an unchanged copy of the model on the same input ({@link ForwardCache},
   * prepared): the nodes before `layer` that no changed layer feeds are taken from it instead
   * of being recomputed. The Grad-CAM path (`layer` set) reads it when prepared for that layer;
   * the gradient w.r.t. the input (or `from`) when it is a cache of exactly these rows
   * ({@link ForwardCache.rows}, `xNHWC` its own tensor): the unchanged nodes then run no forward
   * pass and their gradient is taken from the kept values (`graph/cached_backward.ts`).
   */
  reuse?: ForwardCache;
  /**
   * A tensor of the model to start the evaluation at: `xNHWC` then holds values of this tensor
   * (an `AffinePrefix`'s output rows), not model inputs, and the gradient is w.r.t. it. Every
   * layer downstream of it must read only it and tensors computed from it. Not with `layer`.
   */
  from?: tf.SymbolicTensor;
  /**
   * A modified backward rule at the activation layers it lists (Guided Backprop, Deconvolution,
   * DeepLIFT's Rescale: `graph/backward_rules.ts`); every other op keeps its ordinary gradient.
   * Only for the gradient w.r.t. the input (neither `layer` nor `from`).
   */
  rule?: BackwardRule;
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
  if (
    className === "BatchNormalization" &&
    [-1, x.rank - 1].includes(layer.getConfig().axis as number)
  ) {
    const [scale, shift] = batchNormAffine(layer);
    return [tf.add(tf.mul(x, scale), shift)];
  }
  if (className === "Dense" && x.rank === 2) {
    const [kernel, bias] = layer.getWeights();
    const y = tf.matMul(x, kernel);
    return [(layer as unknown as WeightedLayer).activation.apply(bias ? tf.add(y, bias) : y)];
  }
  const out = layer.apply(inputs.length === 1 ? x : inputs, { training: false });
  return Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor];
}

/** A symbolic tensor's name in any model built from the same topology (clones included). */
function tensorKey(t: tf.SymbolicTensor): string {
  return `${t.sourceLayer.name}/${t.nodeIndex}/${t.tensorIndex}`;
}

/**
 * Every node output of a model on one input batch, kept for re-evaluating copies of the model in
 * which some layers changed (MPRT randomises layers one after another): a node whose layer is
 * unchanged and whose inputs are all unchanged has the same output, so it is read here instead of
 * recomputed. The values are computed with the same ops as {@link inputGradients}, so reusing
 * them changes no bit of the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { ForwardCache, inputGradients } from "./input_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const h = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: "conv" }).apply(x);
 * const p = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2, name: "fc" }).apply(p) as tf.SymbolicTensor });
 * const batch = tf.randomNormal([1, 4, 4, 1], 0, 1, "float32", 1) as tf.Tensor4D;
 * const cache = new ForwardCache(model, batch);
 * cache.changedLayers.add("fc");
 * cache.prepare("conv");
 * const plain = inputGradients(model, batch, Int32Array.of(0), { layer: "conv" });
 * const reused = inputGradients(model, batch, Int32Array.of(0), { layer: "conv", reuse: cache });
 * assert(plain.gradient.dataSync().join() === reused.gradient.dataSync().join());
 * assert(cache.reads === 1);
 * tf.dispose([plain.logits, plain.gradient, plain.activation!, reused.logits, reused.gradient, reused.activation!]);
 * cache.dispose();
 * ```
 */
export class ForwardCache {
  /** The unchanged model. */
  readonly model: tf.LayersModel;
  /** The input batch the values belong to. */
  readonly xNHWC: tf.Tensor4D;
  #changed = new Set<string>();
  #counter: { reads: number; recomputed: number };
  #values: Map<string, tf.Tensor> | undefined;
  #layer: string | undefined;
  /** The tensor (`tensorKey`) the values start at, for the gradient w.r.t. it. */
  #from: string | undefined;
  #derived = new Map<string, ForwardCache>();
  #derivedBytes = 0;

  /** @param xNHWC the input batch; the caller keeps ownership and keeps it alive. */
  constructor(model: tf.LayersModel, xNHWC: tf.Tensor4D) {
    this.model = model;
    this.xNHWC = xNHWC;
    this.#counter = { reads: 0, recomputed: 0 };
  }

  /** Names of layers that differ, in the copy being evaluated, from {@link model}. */
  get changedLayers(): Set<string> {
    return this.#changed;
  }

  /**
   * Node outputs read from the cache instead of recomputed, so far; on a {@link rows} cache,
   * unchanged nodes that ran no forward pass (their output read, or not needed at all), counted
   * into the cache it was made from.
   */
  get reads(): number {
    return this.#counter.reads;
  }

  /** Node outputs a {@link rows} cache did not keep and computed again from kept ones, so far. */
  get recomputed(): number {
    return this.#counter.recomputed;
  }

  /**
   * Runs the forward pass once (outside any `tf.tidy`), as `inputGradients` does for gradients
   * w.r.t. `layer` (whose max-pools keep exact ties); later calls do nothing. The cache serves
   * that layer only.
   */
  prepare(layer: string): void {
    if (this.#values) return;
    const nodes = topologicalNodes(this.model);
    const { after } = splitAt(nodes, layerOutput(this.model, layer));
    this.#keep(nodes, nodes, after, this.model.inputs[0]);
    this.#layer = layer;
  }

  /** Whether {@link prepare} ran for gradients w.r.t. `layer`. */
  servesLayer(layer: string): boolean {
    return this.#values !== undefined && this.#layer === layer;
  }

  /**
   * A cache of the unchanged model on other rows, kept beside this one under `key` while the
   * same model states are evaluated (Integrated Gradients' path rows, the same at every MPRT
   * step): `rowsNHWC` are values of the model's tensor `from` (its input, or an `AffinePrefix`'s
   * output); the first call runs the unchanged model's nodes downstream of `from` on a copy of
   * them and keeps the outputs of the layers without weights (activations, sums, poolings: what
   * the backward pass reads; a convolution's or BatchNorm's output is computed again from its
   * kept input at the one step it is needed, about half the memory on resnet18), later calls
   * with the same key return it when the rows are bit-equal. Pass its
   * {@link xNHWC} (not `rowsNHWC`) and it as `reuse` to `inputGradients`. It shares
   * {@link changedLayers} and the read count, and is freed with this cache.
   *
   * Undefined, keeping nothing, when no node downstream of `from` is unchanged (a bottom-up
   * cascade: nothing to reuse), when the rows differ from those kept under `key`, or when all the
   * row caches together would take more than `budgetBytes`.
   */
  rows(
    key: string,
    from: tf.SymbolicTensor,
    rowsNHWC: tf.Tensor4D,
    budgetBytes: number,
  ): ForwardCache | undefined {
    const known = this.#derived.get(key);
    if (known) {
      const same = known.xNHWC.shape.join() === rowsNHWC.shape.join() &&
        tf.tidy(() => tf.all(tf.equal(known.xNHWC, rowsNHWC)).dataSync()[0] === 1);
      return same ? known : undefined;
    }
    const nodes = topologicalNodes(this.model);
    const own = ownTensor(this.model, nodes, from);
    if (!own) return undefined;
    const after = nodesFrom(this.model, own, nodes);
    if (!this.#anyUnchanged(after, own)) return undefined;
    const bytes = rowsNHWC.shape[0] * keptBytesOf(after);
    // NaN (a size not fixed) fits no budget.
    if (!(this.#derivedBytes + bytes <= budgetBytes)) return undefined;
    const derived = new ForwardCache(this.model, tf.keep(tf.clone(rowsNHWC)));
    // One set and one counter: the states this cache follows are the row caches' states.
    derived.#changed = this.#changed;
    derived.#counter = this.#counter;
    derived.#keep(nodes, after, after, own, withoutWeights);
    derived.#from = tensorKey(own);
    this.#derived.set(key, derived);
    this.#derivedBytes += bytes;
    return derived;
  }

  /**
   * The heap bytes a {@link rows} cache keeps per row of values of `from` (a tensor of `model`:
   * its input or an `AffinePrefix`'s output), whatever the model's state; undefined where a
   * kept tensor's size is not fixed or `from` is not the model's.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { tf } from "../deps.ts";
   * import { ForwardCache } from "./input_gradients.ts";
   * await tf.setBackend("cpu");
   * const x = tf.input({ shape: [4, 4, 1] });
   * const h = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: "conv" }).apply(x);
   * const r = tf.layers.activation({ activation: "relu" }).apply(h) as tf.SymbolicTensor;
   * const model = tf.model({ inputs: x, outputs: tf.layers.flatten().apply(r) as tf.SymbolicTensor });
   * // The ReLU's and the flatten's outputs, 2 x 2 x 2 floats each; not the convolution's.
   * assert(ForwardCache.keptBytesPerRow(model, x) === 2 * 8 * 4);
   * ```
   */
  static keptBytesPerRow(model: tf.LayersModel, from: tf.SymbolicTensor): number | undefined {
    const nodes = topologicalNodes(model);
    const own = ownTensor(model, nodes, from);
    if (!own) return undefined;
    const bytes = keptBytesOf(nodesFrom(model, own, nodes));
    return Number.isFinite(bytes) ? bytes : undefined;
  }

  /** Whether this is a {@link rows} cache for the gradient w.r.t. `from` on `xNHWC`. */
  servesRows(from: tf.SymbolicTensor, xNHWC: tf.Tensor4D): boolean {
    return this.#values !== undefined && this.#from === tensorKey(from) && xNHWC === this.xNHWC;
  }

  /**
   * Keeps the outputs of `run` (those `kept` selects) evaluated on {@link xNHWC} as values of
   * `source`, with the
   * position-invariant convolutions upstream of the max-pools among `after` (what the gradient
   * passes back through), as `inputGradients` evaluates them.
   */
  #keep(
    nodes: GraphNode[],
    run: GraphNode[],
    after: GraphNode[],
    source: tf.SymbolicTensor,
    kept: (node: GraphNode) => boolean = () => true,
  ): void {
    const values = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      const byId = new Map<number, tf.Tensor>([[source.id, this.xNHWC]]);
      runNodes(run, byId, tieExactNodes(nodes, after));
      for (const node of run.filter(kept)) {
        for (const t of node.outputTensors) values.set(tensorKey(t), tf.keep(byId.get(t.id)!));
      }
    });
    this.#values = values;
  }

  /** Whether some node of `after` is unchanged with every input unchanged (starting at `from`). */
  #anyUnchanged(after: GraphNode[], from: tf.SymbolicTensor): boolean {
    const clean = new Set([from.id]);
    for (const node of after) {
      if (this.changedLayers.has(node.outboundLayer.name)) continue;
      if (!node.inputTensors.every((t) => clean.has(t.id))) continue;
      return true;
    }
    return false;
  }

  /** The kept value of `t` on a {@link rows} cache's rows, if it was kept. */
  keptValue(t: tf.SymbolicTensor): tf.Tensor | undefined {
    return this.#values?.get(tensorKey(t));
  }

  /** Adds to the counts of a {@link rows} cache's pass: nodes not run, and values recomputed. */
  count(reads: number, recomputed: number): void {
    this.#counter.reads += reads;
    this.#counter.recomputed += recomputed;
  }

  /**
   * The unchanged value of `t`, an output of `node`, when the model is evaluated on `xNHWC`
   * with the tensors in `clean` unchanged; undefined when a changed layer feeds it, the input is
   * another one, or the cache is not prepared.
   */
  valueOf(
    t: tf.SymbolicTensor,
    node: GraphNode,
    clean: ReadonlySet<number>,
    xNHWC: tf.Tensor4D,
  ): tf.Tensor | undefined {
    if (!this.#values || xNHWC !== this.xNHWC) return undefined;
    if (this.changedLayers.has(node.outboundLayer.name)) return undefined;
    if (!node.inputTensors.every((input) => clean.has(input.id))) return undefined;
    const value = this.#values.get(tensorKey(t));
    if (value) this.#counter.reads++;
    return value;
  }

  /** Frees the kept activations and the {@link rows} caches (with their rows). */
  dispose(): void {
    for (const value of this.#values?.values() ?? []) value.dispose();
    this.#values = undefined;
    for (const derived of this.#derived.values()) {
      derived.dispose();
      derived.xNHWC.dispose();
    }
    this.#derived.clear();
    this.#derivedBytes = 0;
  }
}

/** Whether `node`'s layer has no weights (what a {@link ForwardCache.rows} cache keeps). */
function withoutWeights(node: GraphNode): boolean {
  return node.outboundLayer.weights.length === 0;
}

/**
 * `model`'s own tensor that `from` names (`tensorKey`: the same layer output, also when `from`
 * belongs to a copy of the model), or undefined.
 */
function ownTensor(
  model: tf.LayersModel,
  nodes: GraphNode[],
  from: tf.SymbolicTensor,
): tf.SymbolicTensor | undefined {
  return nodes.flatMap((node) => node.outputTensors).concat(model.inputs)
    .find((t) => tensorKey(t) === tensorKey(from));
}

/** Bytes per row of the outputs of `after`'s layers without weights (NaN for an unknown size). */
function keptBytesOf(after: GraphNode[]): number {
  return 4 * after.filter(withoutWeights).flatMap((node) => node.outputTensors)
    .reduce((sum, t) => sum + t.shape.slice(1).reduce((a: number, b) => a * (b ?? NaN), 1), 0);
}

/**
 * `nodes` (in order) split into those that do not depend on `source` and those that do, which
 * the gradient passes back through.
 */
function splitAt(
  nodes: GraphNode[],
  source: tf.SymbolicTensor,
): { before: GraphNode[]; after: GraphNode[] } {
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
  return { before, after };
}

/**
 * The convolutions that must stay position-invariant: those upstream of a max-pool among
 * `after`, the nodes the gradient passes back through (its ties route the gradient). A max-pool
 * before the source (resnet's stem, for Grad-CAM) routes nothing.
 */
function tieExactNodes(nodes: GraphNode[], after: GraphNode[]): Set<GraphNode> {
  const pools = after.filter((node) => node.outboundLayer.getClassName() === "MaxPooling2D");
  return maxPoolFeeders(nodes, pools);
}

/**
 * The value of `output` for the input batch `xNHWC`, computed by the nodes upstream of it with
 * the ops and convolution libraries of {@link inputGradients}' gradient w.r.t. the input, so it
 * equals the value that pass computes; differentiable. Call it inside `tf.tidy` or `tf.grad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { evaluateTo } from "./input_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: "ones" });
 * const h = conv.apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const value = tf.tidy(() => evaluateTo(model, tf.ones([1, 4, 4, 1]), h));
 * assert(value.dataSync().every((v) => v === 9));
 * value.dispose();
 * ```
 */
export function evaluateTo(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  output: tf.SymbolicTensor,
): tf.Tensor {
  const nodes = topologicalNodes(model);
  const needed = new Set([output.id]);
  const upstream = nodes.toReversed().filter((node) => {
    if (!node.outputTensors.some((t) => needed.has(t.id))) return false;
    for (const t of node.inputTensors) needed.add(t.id);
    return true;
  }).toReversed();
  const values = new Map<number, tf.Tensor>([[model.inputs[0].id, xNHWC]]);
  runNodes(upstream, values, tieExactNodes(nodes, splitAt(nodes, model.inputs[0]).after));
  return values.get(output.id) as tf.Tensor;
}

/** The output of `model`'s layer `name`. */
function layerOutput(model: tf.LayersModel, name: string): tf.SymbolicTensor {
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) {
    throw new InputError(
      `inputGradients: ${model.name} has no layer "${name}"; its layers include ` +
        model.layers.slice(-5).map((l) => l.name).join(", "),
    );
  }
  return layer.output as tf.SymbolicTensor;
}

/** A backward rule bound to the nodes it modifies (and, for `rescale`, their baseline values). */
interface NodeRules {
  rule: BackwardRule;
  /** The activation nodes of a listed kind, with the baseline's values there for `rescale`. */
  nodes: Map<GraphNode, ReferenceValues | undefined>;
}

/**
 * A `maxPool2dAfterRelu` max-pool (`models/layers.ts`: a symmetric zero-padding, then a valid
 * max-pool) as one max-pool of the unpadded input with the padding left out of every window, as
 * torch's −inf padding: the same values, but ties at 0 on the border go to the first real element
 * of the window, not to the padding. This matters only where a gradient passes a ReLU whose
 * output is 0 (Deconvolution, DeepLIFT): with the padding winning, resnet18's Deconvolution
 * missed Captum's by 3 % (relative L2).
 */
function unpaddedMaxPool(
  node: GraphNode,
  producers: ReadonlyMap<number, GraphNode>,
  values: ReadonlyMap<number, tf.Tensor>,
): tf.Tensor | undefined {
  const layer = node.outboundLayer;
  const pad = producers.get(node.inputTensors[0].id);
  if (
    layer.getClassName() !== "MaxPooling2D" || pad?.outboundLayer.getClassName() !== "ZeroPadding2D"
  ) {
    return undefined;
  }
  const [[top, bottom], [left, right]] = pad.outboundLayer.getConfig().padding as number[][];
  const config = layer.getConfig() as unknown as {
    poolSize: [number, number];
    strides: [number, number];
    padding: string;
    dataFormat: string;
  };
  const symmetric = top === bottom && left === right && top === left;
  if (!symmetric || config.padding !== "valid" || config.dataFormat !== "channelsLast") {
    return undefined;
  }
  const x = values.get(pad.inputTensors[0].id) as tf.Tensor4D;
  return tf.maxPool(x, config.poolSize, config.strides, top);
}

/**
 * Evaluates `nodes` in order; those in `tieExact` (convolutions upstream of a max-pool) on the
 * position-invariant stock convolution kernels, and the activations `rules` lists with its
 * backward rule.
 */
function runNodes(
  nodes: GraphNode[],
  values: Map<number, tf.Tensor>,
  tieExact: ReadonlySet<GraphNode>,
  folds: ReadonlyMap<GraphNode, GraphNode> = new Map(),
  rules?: NodeRules,
): void {
  const foldedAway = new Set(folds.values());
  const producers = new Map<number, GraphNode>();
  if (rules) {
    for (const node of nodes) for (const t of node.outputTensors) producers.set(t.id, node);
  }
  for (const node of nodes) {
    if (foldedAway.has(node)) continue; // its output was set with its convolution's
    const inputs = node.inputTensors.map((t) => values.get(t.id) as tf.Tensor);
    const bn = folds.get(node);
    const apply = (x: tf.Tensor[]) => applyWithoutWeightGradients(node.outboundLayer, x);
    const run = bn
      ? () => [convolutionWithBatchNorm(node.outboundLayer, bn.outboundLayer, inputs[0])]
      : rules?.nodes.has(node)
      ? () => [
        withRule(
          rules.rule.name,
          activationKind(node.outboundLayer)!,
          (x) => apply([x])[0],
          inputs[0],
          rules.nodes.get(node),
        ),
      ]
      : () => apply(inputs);
    const pooled = rules && unpaddedMaxPool(node, producers, values);
    const outputs = pooled ? [pooled] : tieExact.has(node) ? withStockConvolutions(run) : run();
    (bn ?? node).outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
}

/**
 * conv → BatchNorm as one convolution with the folded kernel and bias (`foldedConvWeights`, what
 * `foldBatchNorm` gives a model, made here per call on the backend).
 */
function convolutionWithBatchNorm(
  conv: tf.layers.Layer,
  bn: tf.layers.Layer,
  x: tf.Tensor,
): tf.Tensor {
  const config = conv.getConfig() as unknown as Conv2DConfig;
  const [filter, bias] = foldedConvWeights(conv, bn);
  const args = {
    x: x as tf.Tensor4D,
    filter: filter as tf.Tensor4D,
    strides: config.strides,
    pad: config.padding,
    dataFormat: "NHWC" as const,
    dilations: config.dilationRate,
    bias,
  };
  const folded = conv.getClassName() === "DepthwiseConv2D"
    ? tf.fused.depthwiseConv2d(args)
    : tf.fused.conv2d(args);
  tf.dispose([filter, bias]);
  return folded;
}

/**
 * The conv → BatchNorm pairs among gradient-free `nodes` (Grad-CAM's forward pass to its layer)
 * worth running as one convolution ({@link convolutionWithBatchNorm}): pairs `foldBatchNorm`
 * would fold, both of whose nodes run here, whose convolution output is not asked for itself
 * (`keep`: a `last-conv` layer is the output before the BatchNorm), and whose output has at
 * least as many values as the kernel, so that scaling the kernel costs less than the two passes
 * over the output it saves. resnet18, batch 8: the stem, layer1 and layer2 fold; Grad-CAM to
 * `layer4` took 65.5 against 70.7 ms per image (medians of 8 interleaved runs).
 */
function batchNormFolds(
  model: tf.LayersModel,
  nodes: GraphNode[],
  keep: tf.SymbolicTensor,
  batch: number,
): Map<GraphNode, GraphNode> {
  const running = new Set(nodes);
  const modelOutputs = new Set(model.outputs);
  const folds = new Map<GraphNode, GraphNode>();
  for (const node of nodes) {
    const conv = node.outboundLayer;
    // A foldable pair's layers are applied once: their only nodes are these.
    const bnNode = foldableBatchNorm(conv, modelOutputs)?.inboundNodes[0] as unknown as
      | GraphNode
      | undefined;
    const output = node.outputTensors[0];
    if (!bnNode || !running.has(bnNode) || output.id === keep.id) continue;
    const [, height, width, channels] = output.shape as number[];
    const kernelValues = tf.util.sizeFromShape(conv.getWeights()[0].shape);
    if (batch * height * width * channels >= kernelValues) folds.set(node, bnNode);
  }
  return folds;
}

/**
 * The activation nodes `rule` modifies; for `rescale`, with the input and output each of them
 * has on the baseline (one forward pass with the ops of the gradient pass, so that where x and
 * x0 agree they agree to the bit; every other value of that pass is freed at once).
 */
function ruledNodes(
  model: tf.LayersModel,
  nodes: GraphNode[],
  rule: BackwardRule,
  tieExact: ReadonlySet<GraphNode>,
): NodeRules {
  const kinds = new Set(rule.activations);
  const ruled = nodes.filter((node) => {
    const kind = activationKind(node.outboundLayer);
    return kind !== undefined && kinds.has(kind);
  });
  const result: NodeRules = { rule, nodes: new Map(ruled.map((node) => [node, undefined])) };
  if (rule.name !== "rescale") return result;
  if (!rule.baselineNHWC) {
    throw new InputError("inputGradients: the rescale rule needs its baseline (baselineNHWC)");
  }
  const values = new Map<number, tf.Tensor>([[model.inputs[0].id, rule.baselineNHWC]]);
  runNodes(nodes, values, tieExact);
  for (const node of ruled) {
    result.nodes.set(node, {
      input: values.get(node.inputTensors[0].id)!,
      output: values.get(node.outputTensors[0].id)!,
    });
  }
  const kept = new Set<tf.Tensor>([rule.baselineNHWC]);
  for (const reference of result.nodes.values()) kept.add(reference!.input).add(reference!.output);
  for (const value of values.values()) if (!kept.has(value)) value.dispose();
  return result;
}

/**
 * The gradient w.r.t. `source` of Σ logits · `mask` on a {@link ForwardCache.rows} cache's rows:
 * the nodes no changed layer feeds run no forward pass (a value they did not keep is computed
 * again from kept ones where it is read); the changed part runs forward and back (one taped pass)
 * from the unchanged tensors it reads, and the gradient arriving at those goes on back through
 * the unchanged nodes with `nodeInputGradients`. Each node's gradient is computed with the ops
 * the taped pass uses, and a tensor's gradients are summed in the tape's order (the changed
 * readers, which come later, first), so the result equals the plain pass's
 * (`tests/forward_cache_test.ts` checks it bit for bit).
 */
function gradientPastKeptNodes(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  source: tf.SymbolicTensor,
  nodes: GraphNode[],
  after: GraphNode[],
  mask: tf.Tensor2D,
  cache: ForwardCache,
): InputGradientResult {
  const clean = new Set<number>([source.id]);
  const producers = new Map<number, GraphNode>();
  const [kept, changed]: GraphNode[][] = [[], []];
  for (const node of after) {
    const unchanged = !cache.changedLayers.has(node.outboundLayer.name) &&
      node.outputTensors.length === 1 && node.inputTensors.every((t) => clean.has(t.id));
    if (!unchanged) {
      changed.push(node);
      continue;
    }
    kept.push(node);
    clean.add(node.outputTensors[0].id);
    producers.set(node.outputTensors[0].id, node);
  }
  const tieExact = tieExactNodes(nodes, after);
  const values = new Map<number, tf.Tensor>([[source.id, xNHWC]]);
  let recomputed = 0;
  const valueAt = (t: tf.SymbolicTensor): tf.Tensor => {
    const known = values.get(t.id) ?? cache.keptValue(t);
    if (known) {
      values.set(t.id, known);
      return known;
    }
    const producer = producers.get(t.id)!;
    producer.inputTensors.forEach(valueAt);
    runNodes([producer], values, tieExact);
    recomputed++;
    return values.get(t.id)!;
  };
  const outputId = model.outputs[0].id;
  const gradients = new Map<number, tf.Tensor>();
  let logits: tf.Tensor2D;
  if (clean.has(outputId)) {
    // Nothing changed downstream of the source: the output and its gradient, the mask, are known.
    logits = tf.clone(valueAt(model.outputs[0]) as tf.Tensor2D);
    gradients.set(outputId, mask);
  } else {
    const boundary = [
      ...new Map(
        changed.flatMap((node) => node.inputTensors).filter((t) => clean.has(t.id))
          .map((t) => [t.id, t]),
      ).values(),
    ];
    const atBoundary = tf.grads((...boundaryValues: tf.Tensor[]) => {
      boundary.forEach((t, i) => values.set(t.id, boundaryValues[i]));
      runNodes(changed, values, tieExact);
      logits = tf.keep(values.get(outputId) as tf.Tensor2D);
      return tf.sum(tf.mul(logits, mask));
    })(boundary.map(valueAt));
    boundary.forEach((t, i) => gradients.set(t.id, atBoundary[i]));
  }
  for (const node of kept.toReversed()) {
    const dy = gradients.get(node.outputTensors[0].id);
    if (!dy) continue;
    // As in the taped pass, only the node's forward (the fallback's) runs on the convolution
    // library its forward pass used; the gradient ops run on the registered kernels.
    const apply = (xs: tf.Tensor[]) => applyWithoutWeightGradients(node.outboundLayer, xs);
    const dxs = nodeInputGradients(
      node,
      {
        input: (i) => valueAt(node.inputTensors[i]),
        output: () => valueAt(node.outputTensors[0]),
      },
      dy,
      tieExact.has(node) ? (xs) => withStockConvolutions(() => apply(xs)) : apply,
    );
    node.inputTensors.forEach((t, i) => {
      const sum = gradients.get(t.id);
      gradients.set(t.id, sum ? tf.add(sum, dxs[i]) : dxs[i]);
    });
  }
  cache.count(kept.length - recomputed, recomputed);
  const gradient = gradients.get(source.id) ?? tf.zerosLike(xNHWC);
  return { logits: logits!, gradient };
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
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { inputGradients } from "./input_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const h = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv" }).apply(x);
 * const p = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(p) as tf.SymbolicTensor });
 * const batch = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const saliency = inputGradients(model, batch, Int32Array.from([0, 1]));
 * assert(saliency.gradient.shape.join() === "2,8,8,3");
 * const cam = inputGradients(model, batch, Int32Array.from([0, 1]), { layer: "conv" });
 * assert(cam.activation?.shape.join() === "2,6,6,4");
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
  if (options.from && options.layer !== undefined) {
    throw new InputError(
      `inputGradients: pass either \`from\` or \`layer\` (got both, layer "${options.layer}")`,
    );
  }
  if (options.rule && (options.from || options.layer !== undefined)) {
    throw new InputError(
      `inputGradients: a backward rule (${options.rule.name}) is for the gradient w.r.t. the ` +
        `input; drop \`layer\` and \`from\``,
    );
  }
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  const source = options.from ??
    (options.layer === undefined ? model.inputs[0] : layerOutput(model, options.layer));
  return tf.tidy(() => {
    const mask = targetMask(targets, xNHWC.shape[0], classes);
    const nodes = topologicalNodes(model);
    const { before, after } = options.from
      ? { before: [] as GraphNode[], after: nodesFrom(model, options.from, nodes) }
      : splitAt(nodes, source);
    if (options.layer === undefined && !options.rule && options.reuse?.servesRows(source, xNHWC)) {
      const result = gradientPastKeptNodes(model, xNHWC, source, nodes, after, mask, options.reuse);
      return result as unknown as tf.TensorContainer;
    }
    const values = new Map<number, tf.Tensor>([[(options.from ?? model.inputs[0]).id, xNHWC]]);
    const reused = options.layer !== undefined && options.reuse?.servesLayer(options.layer)
      ? options.reuse
      : undefined;
    // Nodes an unchanged copy already evaluated on this input are read, not recomputed.
    const clean = new Set<number>([model.inputs[0].id]);
    const toRun = reused
      ? before.filter((node) => {
        const cached = node.outputTensors.map((t) => reused.valueOf(t, node, clean, xNHWC));
        if (cached.some((v) => v === undefined)) return true;
        node.outputTensors.forEach((t, i) => {
          values.set(t.id, cached[i]!);
          clean.add(t.id);
        });
        return false;
      })
      : before;
    const tieExact = tieExactNodes(nodes, after);
    // Nothing is differentiated before the source: BatchNorms may fold into their convolutions.
    runNodes(toRun, values, tieExact, batchNormFolds(model, toRun, source, xNHWC.shape[0]));
    // A cached activation stays the cache's: the caller gets (and disposes) its own handle.
    const activation = clean.has(source.id)
      ? tf.clone(values.get(source.id) as tf.Tensor)
      : values.get(source.id) as tf.Tensor;
    const rules = options.rule && ruledNodes(model, nodes, options.rule, tieExact);
    let logits: tf.Tensor2D | undefined;
    const gradient = tf.grad((sourceValue: tf.Tensor) => {
      values.set(source.id, sourceValue);
      runNodes(after, values, tieExact, new Map(), rules);
      logits = tf.keep(values.get(model.outputs[0].id) as tf.Tensor2D);
      return tf.sum(tf.mul(logits, mask));
    })(activation);
    const result: InputGradientResult = { logits: logits as tf.Tensor2D, gradient };
    if (options.layer !== undefined) result.activation = activation;
    return result as unknown as tf.TensorContainer;
  }) as unknown as InputGradientResult;
}
