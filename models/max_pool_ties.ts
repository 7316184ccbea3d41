/**
 * Which max-pools of a model would see OpenBLAS's rounding in their ties.
 *
 * OpenBLAS is not position-invariant (`kernels/blas_conv2d.ts`): two equal receptive fields can
 * come out one ulp apart, so on flat image regions a max-pool fed by such a convolution no longer
 * sees exact ties, and its gradient goes to another element than in PyTorch. A max-pool fed by a
 * convolution that stays on XNNPACK (an RGB stem: resnet, densenet) keeps exact ties. Of our
 * architectures only vgg16_bn has max-pools after OpenBLAS convolutions.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { filterRunsOnGemm } from "../kernels/blas_conv2d.ts";
import type { BackendChoice } from "./backend.ts";
import { type GraphNode, topologicalNodes } from "./graph.ts";

/**
 * Names of the `MaxPooling2D` layers fed, through single-input layers (BatchNorm, activations,
 * padding), by a convolution that runs on OpenBLAS; or fed by several layers, where no single
 * convolution can be named (counted as affected, to be safe).
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { maxPoolsAfterGemmConvolutions } from "./max_pool_ties.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 16] });
 * const c = tf.layers.conv2d({ filters: 8, kernelSize: 3, name: "conv" }).apply(x) as tf.SymbolicTensor;
 * const p = tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }).apply(c) as tf.SymbolicTensor;
 * console.assert(maxPoolsAfterGemmConvolutions(tf.model({ inputs: x, outputs: p })).join() === "pool");
 * ```
 */
export function maxPoolsAfterGemmConvolutions(model: tf.LayersModel): string[] {
  const producer = new Map<number, GraphNode>();
  const nodes = topologicalNodes(model);
  for (const node of nodes) for (const t of node.outputTensors) producer.set(t.id, node);
  const affected: string[] = [];
  for (const node of nodes) {
    if (node.outboundLayer.getClassName() !== "MaxPooling2D") continue;
    let feeder = producer.get(node.inputTensors[0].id);
    while (feeder && feeder.inputTensors.length === 1 && !isConvolution(feeder.outboundLayer)) {
      feeder = producer.get(feeder.inputTensors[0].id);
    }
    const gemmFed = feeder === undefined
      ? false // the model's input: no convolution rounding at all
      : !isConvolution(feeder.outboundLayer) ||
        filterRunsOnGemm((feeder.outboundLayer.getWeights()[0]?.shape ?? []) as number[]);
    if (gemmFed) affected.push(node.outboundLayer.name);
  }
  return affected;
}

function isConvolution(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === "Conv2D";
}

/**
 * Warns, in one line, when convolutions run on OpenBLAS (`backend.openBlas`) and `model` has
 * max-pools whose ties that changes; the explanation stages call it for each model they load.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { warnOfMaxPoolTies } from "./max_pool_ties.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const model = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor });
 * console.assert(warnOfMaxPoolTies({ name: "wasm", reason: "", openBlas: "lib" }, "tiny", model) === false);
 * ```
 */
export function warnOfMaxPoolTies(
  backend: BackendChoice,
  modelName: string,
  model: tf.LayersModel,
): boolean {
  const pools = backend.openBlas ? maxPoolsAfterGemmConvolutions(model) : [];
  if (pools.length === 0) return false;
  console.warn(
    `note: ${modelName}'s max-pools ${pools.join(", ")} follow OpenBLAS convolutions, so ` +
      "their ties on flat image regions may break differently from PyTorch's and gradient maps " +
      "can differ from Captum's there; --convolutions xnnpack gives tie-exact maps",
  );
  return true;
}
