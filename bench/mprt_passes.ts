/**
 * MPRT's work per image with Integrated Gradients, counted rather than timed (the counts do not
 * depend on the machine's load): per path row and randomisation step, the multiply-adds of the
 * forward pass (convolutions and dense layers) and of the backward pass, before (every step
 * recomputes the whole network) and after keeping the unchanged layers' values on the path rows
 * (`ForwardCache.rows`: only the layers a randomised layer feeds run forward); and what
 * EfficientMPRT needs instead (one explanation, of the fully randomised model). Then one real MPRT
 * run with IG on a small input checks the count of kept node outputs against
 * `ForwardCache.reads`.
 *
 * Run: `deno run --allow-read=. --allow-ffi bench/mprt_passes.ts [--model resnet18] [--size 224]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { SeededRandom } from "../core/random.ts";
import { heapBudgetBytes } from "../backends/heap.ts";
import { AffinePrefix } from "../graph/affine_prefix.ts";
import { passBytes } from "../graph/footprint.ts";
import { ForwardCache } from "../graph/input_gradients.ts";
import { type GraphNode, nodesFrom, topologicalNodes } from "../graph/graph.ts";
import { buildModel } from "../models/registry.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import type { ExplainFunction } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { MPRT } from "../metrics/randomisation/mprt.ts";
import { parameterisedLayers } from "../metrics/randomisation/layer_randomisation.ts";
import { INTEGRATED_GRADIENTS, keptPathRowsPlan } from "../xai/gradient/integrated_gradients.ts";

/** Multiply-adds of one row through `node` (convolutions and dense layers; the rest is 0). */
function multiplyAdds(node: GraphNode): number {
  const layer = node.outboundLayer;
  const out = node.outputTensors[0].shape.slice(1) as number[];
  const className = layer.getClassName();
  if (className === "Conv2D" || className === "Dense" || className === "DepthwiseConv2D") {
    const kernel = layer.getWeights()[0].shape as number[];
    const perOutput = className === "DepthwiseConv2D"
      ? kernel[0] * kernel[1]
      : kernel.slice(0, -1).reduce((a, b) => a * b, 1);
    return out.reduce((a, b) => a * b, 1) * perOutput;
  }
  return 0;
}

/**
 * One randomisation step on one row, as `gradientPastKeptNodes` runs it: the nodes a changed
 * layer feeds run forward; the unchanged ones keep their values, and the outputs of their
 * weighted layers (not kept) are computed again where read: as inputs of the changed part, or
 * of an unchanged node differentiated by the fallback (no rule in `graph/cached_backward.ts`).
 */
function stepWork(after: GraphNode[], changed: Set<string>, from: tf.SymbolicTensor) {
  const clean = new Set([from.id]);
  const producers = new Map<number, GraphNode>();
  const run: GraphNode[] = [];
  const fallback: GraphNode[] = [];
  const withRule = new Set(["Conv2D", "BatchNormalization", "Activation", "ReLU", "Add"]);
  for (const node of after) {
    const kept = !changed.has(node.outboundLayer.name) &&
      node.inputTensors.every((t) => clean.has(t.id));
    if (!kept) {
      run.push(node);
      continue;
    }
    clean.add(node.outputTensors[0].id);
    producers.set(node.outputTensors[0].id, node);
    if (!withRule.has(node.outboundLayer.getClassName())) fallback.push(node);
  }
  const recomputed = new Set<GraphNode>();
  const need = (t: tf.SymbolicTensor): void => {
    const producer = producers.get(t.id);
    if (!producer || producer.outboundLayer.weights.length === 0 || recomputed.has(producer)) {
      return;
    }
    recomputed.add(producer);
    producer.inputTensors.forEach(need);
  };
  run.flatMap((node) => node.inputTensors).filter((t) => clean.has(t.id)).forEach(need);
  fallback.flatMap((node) => node.inputTensors).forEach(need);
  return { run, kept: producers.size, recomputed: [...recomputed] };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "resnet18" },
    size: { type: "string", default: "224" },
  },
});
const name = values.model;
const sizePx = Number(values.size);
const steps = 50;
await startBackend("wasm");
const layers = buildModel(name, { numClasses: 4, imgSizePx: sizePx, seed: 1 });
const from = AffinePrefix.of(layers)?.output ?? layers.inputs[0];
const after = nodesFrom(layers, from, topologicalNodes(layers));
const sum = (nodes: GraphNode[]) => nodes.reduce((s, node) => s + multiplyAdds(node), 0);
const total = sum(after);
const order = parameterisedLayers(layers).map((l) => l.name).reverse(); // top-down
const prefixLayers = new Set(AffinePrefix.of(layers)?.layers ?? []);
const changed = new Set<string>();
let [forwardAfter, nodesRun, keptNodes, recomputedNodes] = [0, 0, 0, 0];
for (const layer of order) {
  changed.add(layer);
  // Once the prefix is randomised the path rows differ: that step recomputes everything.
  const work = prefixLayers.has(layer)
    ? { run: after, kept: 0, recomputed: [] }
    : stepWork(after, changed, from);
  keptNodes += work.kept;
  recomputedNodes += work.recomputed.length;
  forwardAfter += sum(work.run) + sum(work.recomputed);
  nodesRun += work.run.length + work.recomputed.length;
}
const forwardBefore = order.length * total;
const keptBytesPerRow = ForwardCache.keptBytesPerRow(layers, from)!;
// The chunk IG takes under MPRT (`keptPathRowsPlan`): all of an image's rows kept where it can.
const { internalBatchSize: chunk, images } = keptPathRowsPlan(layers, steps);
const keepBytes = heapBudgetBytes() - passBytes(layers, "gradient", chunk)!;
const keptRows = Math.min(steps, chunk * Math.floor(keepBytes / (chunk * keptBytesPerRow)));
const g = (x: number) => (x * steps / 1e9).toFixed(0);
const mb = (x: number) => (x / 2 ** 20).toFixed(0);
console.log(
  `${name} ${sizePx} px, MPRT top-down with IG-${steps}, per image after the affine prefix:`,
);
console.log(`  ${order.length} randomisation steps, ${after.length} nodes per pass`);
console.log(
  `  node forward evaluations: ${order.length * after.length * steps} -> ${nodesRun * steps}`,
);
console.log(`  forward GMAC: ${g(forwardBefore)} -> ${g(forwardAfter)}`);
console.log(
  `  forward + backward GMAC: ${g(2 * forwardBefore)} -> ${g(forwardBefore + forwardAfter)} ` +
    `(${((forwardBefore + forwardAfter) / (2 * forwardBefore) * 100).toFixed(0)} %)`,
);
console.log(
  `  kept per path row ${mb(keptBytesPerRow)} MiB; the ${mb(heapBudgetBytes())} MiB budget ` +
    `leaves ${mb(keepBytes)} MiB beside a chunk of ${chunk}: ${keptRows} of ${steps} rows kept ` +
    `per image, MPRT cascading ${images} image(s) at a time (more with --heap-budget-mb)`,
);
console.log(
  `  EfficientMPRT (fully randomised model only): forward + backward GMAC ${g(2 * total)}, ` +
    `${(total / forwardBefore * 100).toFixed(1)} % of MPRT's before`,
);

// The counter: one real run with 2 path rows per step (one chunk) on a small input. BatchNorm
// statistics away from identity, as a trained model's, so that randomising one changes it.
const small = buildModel(name, { numClasses: 4, imgSizePx: 64, seed: 1 });
for (const layer of parameterisedLayers(small)) {
  if (layer.getClassName() !== "BatchNormalization") continue;
  const weights = layer.getWeights();
  layer.setWeights(weights.map((w, i) => i === 3 ? tf.fill(w.shape, 2) : w));
}
const model = new MetricModel(small);
const random = new SeededRandom(7);
const xNHWC = Float32Array.from({ length: 64 * 64 * 3 }, () => random.uniform());
const shape = [1, 64, 64, 3] as const;
const explain = explainerFunction(INTEGRATED_GRADIENTS, { nSteps: 2 });
let counts = { reads: 0, recomputed: 0 };
const counting: ExplainFunction = async (m, x, s, t, reuse?: ForwardCache) => {
  const maps = await explain(m, x, s, t, reuse);
  if (reuse) counts = { reads: reuse.reads, recomputed: reuse.recomputed };
  return maps;
};
const batch = {
  xNHWC,
  shapeNHWC: shape,
  targets: Int32Array.of(1),
  attributionsNHW: await explain(small, xNHWC, shape, Int32Array.of(1)),
};
await MPRT.evaluate({ model, explain: counting, draws: new SeededDraws(1) }, batch, MPRT.defaults);
console.log(
  `  counter (64 px, one chunk per step): ForwardCache.reads ${counts.reads} (expected ` +
    `${keptNodes - recomputedNodes}), ForwardCache.recomputed ${counts.recomputed} (expected ` +
    `${recomputedNodes})`,
);
model.dispose();
