/**
 * Which convolutions must stay position-invariant for max-pool gradients to match PyTorch's.
 *
 * A max-pool's gradient goes to the first maximum of each window, so on flat image regions (ECG
 * paper), where equal receptive fields give equal activations, it depends on those activations
 * being exactly equal, and so on every convolution before the max-pool being position-invariant.
 * XNNPACK and PyTorch give equal receptive fields equal outputs; OpenBLAS does not
 * (`backends/openblas/blas_conv2d.ts`: rows of a product are summed in different orders, one ulp apart).
 * So when a gradient passes back through a max-pool, the convolutions upstream of it run on the
 * stock kernels (`withStockConvolutions`): for input gradients on resnet and densenet only the
 * RGB stem, on vgg16_bn all of them; for Grad-CAM on resnet's `layer4`, none. Everything else
 * may run on OpenBLAS, whose last bits change no prediction and no tie.
 *
 * @module
 */
import type { GraphNode } from "./graph.ts";

/**
 * The `Conv2D` nodes among `nodes` upstream of one of the max-pool nodes `pools`: those from
 * whose output a max-pool's input is reachable.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { topologicalNodes } from "./graph.ts";
 * import { maxPoolFeeders } from "./max_pool_ties.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 16] });
 * const a = tf.layers.conv2d({ filters: 8, kernelSize: 3, name: "a" }).apply(x) as tf.SymbolicTensor;
 * const r = tf.layers.reLU({}).apply(a) as tf.SymbolicTensor;
 * const p = tf.layers.maxPooling2d({ poolSize: 2 }).apply(r) as tf.SymbolicTensor;
 * const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "b" }).apply(p) as tf.SymbolicTensor;
 * const nodes = topologicalNodes(tf.model({ inputs: x, outputs: b }));
 * const pools = nodes.filter((n) => n.outboundLayer.getClassName() === "MaxPooling2D");
 * // b comes after the max-pool: its rounding reaches no tie.
 * assert([...maxPoolFeeders(nodes, pools)].map((n) => n.outboundLayer.name).join() === "a");
 * ```
 */
export function maxPoolFeeders(
  nodes: readonly GraphNode[],
  pools: readonly GraphNode[],
): Set<GraphNode> {
  const producer = new Map<number, GraphNode>();
  for (const node of nodes) for (const t of node.outputTensors) producer.set(t.id, node);
  const feeders = new Set<GraphNode>();
  const seen = new Set<GraphNode>();
  const pending = [...pools];
  while (pending.length > 0) {
    const node = pending.pop()!;
    for (const input of node.inputTensors) {
      const from = producer.get(input.id);
      if (!from || seen.has(from)) continue; // the model's input, or walked already
      seen.add(from);
      if (from.outboundLayer.getClassName() === "Conv2D") feeders.add(from);
      pending.push(from);
    }
  }
  return feeders;
}
