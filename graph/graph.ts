/**
 * Walking a tfjs-layers functional graph node by node, for code that evaluates or rebuilds a
 * model layer by layer (input gradients, BatchNorm folding).
 *
 * @module
 */
import { tf } from "../deps.ts";

/** The part of a tfjs-layers graph node read here (`Node` is not exported by tfjs). */
export interface GraphNode {
  /** The layer this node applies. */
  outboundLayer: tf.layers.Layer;
  /** The symbolic tensors the layer was applied to. */
  inputTensors: tf.SymbolicTensor[];
  /** The symbolic tensors it produced. */
  outputTensors: tf.SymbolicTensor[];
  /** The keyword arguments of that `apply`. */
  callArgs?: Record<string, unknown>;
}

/**
 * The model's graph nodes in an order where every node's inputs come before it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { topologicalNodes } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const h = tf.layers.dense({ units: 3, name: "a" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2, name: "b" }).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * assert(topologicalNodes(model).map((n) => n.outboundLayer.name).join() === "a,b");
 * ```
 */
export function topologicalNodes(model: tf.LayersModel): GraphNode[] {
  const known = new Set(model.inputs.map((t) => t.id));
  let pending = model.layers.flatMap((layer) =>
    layer.getClassName() === "InputLayer" ? [] : layer.inboundNodes as unknown as GraphNode[]
  );
  const ordered: GraphNode[] = [];
  // Nodes whose inputs never become known belong to other models sharing the layer: dropped.
  for (let progress = true; progress;) {
    progress = false;
    const waiting: GraphNode[] = [];
    for (const node of pending) {
      if (node.inputTensors.every((t) => known.has(t.id))) {
        ordered.push(node);
        for (const t of node.outputTensors) known.add(t.id);
        progress = true;
      } else {
        waiting.push(node);
      }
    }
    pending = waiting;
  }
  return ordered;
}

/**
 * The nodes of `model` downstream of the tensor `from`, in order: what evaluating the model from
 * a value of that tensor runs. `nodes`: the model's {@link topologicalNodes}, when at hand.
 *
 * @throws {Error} when one of them also reads a tensor that is not computed from `from` (a skip
 * connection around it).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { nodesFrom } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const h = tf.layers.dense({ units: 3, name: "a" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2, name: "b" }).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * assert(nodesFrom(model, h).map((n) => n.outboundLayer.name).join() === "b");
 * ```
 */
export function nodesFrom(
  model: tf.LayersModel,
  from: tf.SymbolicTensor,
  nodes: readonly GraphNode[] = topologicalNodes(model),
): GraphNode[] {
  const known = new Set([from.id]);
  const after: GraphNode[] = [];
  for (const node of nodes) {
    if (!node.inputTensors.some((t) => known.has(t.id))) continue;
    after.push(node);
    for (const t of node.outputTensors) known.add(t.id);
  }
  for (const node of after) {
    const missing = node.inputTensors.find((t) => !known.has(t.id));
    if (missing) {
      throw new Error(
        `${model.name}: layer ${node.outboundLayer.name} reads ${missing.name}, which is not ` +
          `computed from ${from.name}; evaluate the model from its input instead`,
      );
    }
  }
  return after;
}

/**
 * The model's output for a batch of values of its tensor `from` (forward only, inference mode,
 * each layer's own `apply`, as `model.apply` runs it). Call it inside `tf.tidy`. Each layer's
 * output is freed once the last layer reading it ran, and what a layer makes on the way at once,
 * so a pass holds a few layers' outputs at a time, not all of them (resnet50's 16 LIME copies at
 * 224 px held 2.3 GB of the wasm heap).
 *
 * @throws {Error} as {@link nodesFrom}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { evaluateFrom } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [2] });
 * const h = tf.layers.dense({ units: 2, kernelInitializer: "ones" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const out = tf.tidy(() => evaluateFrom(model, h, tf.tensor2d([[-1, 2]])));
 * assert(out.dataSync().join() === "0,2");
 * out.dispose();
 * ```
 */
export function evaluateFrom(
  model: tf.LayersModel,
  from: tf.SymbolicTensor,
  value: tf.Tensor,
): tf.Tensor {
  const nodes = nodesFrom(model, from);
  const readersLeft = new Map<number, number>();
  for (const node of nodes) {
    for (const t of node.inputTensors) readersLeft.set(t.id, (readersLeft.get(t.id) ?? 0) + 1);
  }
  const kept = new Set([from.id, model.outputs[0].id]);
  const values = new Map<number, tf.Tensor>([[from.id, value]]);
  for (const node of nodes) {
    const inputs = node.inputTensors.map((t) => values.get(t.id) as tf.Tensor);
    // Its own scope frees what the layer makes on the way (a dense layer's product before the bias).
    const outputs = tf.tidy(() => {
      const out = node.outboundLayer.apply(inputs.length === 1 ? inputs[0] : inputs, {
        training: false,
      });
      return Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor];
    });
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
    for (const t of node.inputTensors) {
      const left = (readersLeft.get(t.id) as number) - 1;
      readersLeft.set(t.id, left);
      if (left > 0 || kept.has(t.id)) continue;
      const done = values.get(t.id) as tf.Tensor;
      values.delete(t.id);
      // A layer may hand its input on as its output (inference-mode Dropout): the same tensor.
      if (![...values.values()].includes(done)) done.dispose();
    }
  }
  return values.get(model.outputs[0].id) as tf.Tensor;
}
