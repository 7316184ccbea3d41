/**
 * Walking a tfjs-layers functional graph node by node, for code that evaluates or rebuilds a
 * model layer by layer (input gradients, BatchNorm folding).
 *
 * @module
 */
import type { tf } from "../deps.ts";

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
 * import { tf } from "../deps.ts";
 * import { topologicalNodes } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const h = tf.layers.dense({ units: 3, name: "a" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2, name: "b" }).apply(h) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * console.assert(topologicalNodes(model).map((n) => n.outboundLayer.name).join() === "a,b");
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
