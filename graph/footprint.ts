/**
 * How many rows (images, path points, perturbed copies) one model pass may take at once within
 * the heap budget (`backends/heap.ts`): the one place batched paths size their chunks.
 *
 * The estimate is computed, once per model, from its layer output shapes at its input size:
 * - a **gradient pass** (`inputGradients`: Integrated Gradients, SmoothGrad, Saliency, the CAM
 *   family) keeps every op output of its forward pass and every gradient of the backward until it
 *   ends (tfjs frees nothing inside the pass), about {@link GRADIENT_BYTES_PER_ACTIVATION_BYTE}
 *   times the sum of the layer outputs per row;
 * - a **forward pass** (LIME, Occlusion, the metrics' scoring) frees each output once its readers
 *   ran, so a row costs a few times its largest layer output,
 *   {@link FORWARD_BYTES_PER_LARGEST_BYTE};
 * - beside the rows, the model's weights and what the backend derives from them (a BatchNorm-folded
 *   copy, packed and transposed filters, the gradient kernels' cached taps), about
 *   {@link WEIGHT_COPIES} times the weights for a gradient pass and half as many forward.
 *
 * Measured on the wasm backend (OpenBLAS convolutions, 224 px, one image, random weights), heap
 * bytes per gradient row over the sum of layer outputs: resnet18 2.9, resnet50 2.6 (4 rows: heap
 * 2.08 GB, 8 rows: 3.63 GB), mobilenet_v2 2.3 (16 rows: 3.26 GB), efficientnet_b0 3.2 (8 rows:
 * 2.60 GB); tensor bytes per row by `tf.profile` 2.65–3.74 over the ten architectures. Forward
 * rows: 2.0–4.0 times the largest output. With the default budget (2.5 GiB), at 224 px Integrated
 * Gradients' 16 rows stay 16 for resnet18 (and ecgnet) and become 13 for resnet34, 10 for
 * mobilenet_v2 (16 took 3.26 GB of the 4 GiB), 8 for efficientnet_b0, 6 for efficientnet_b1,
 * 4 for resnet50 and densenet121, 3 for densenet169, 2 for resnet101 and 1 for vgg16_bn, whose
 * 512 MB of weights dominate; forward passes keep 16 everywhere.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { tensorMemory } from "../backends/accelerated.ts";
import { heapBudgetBytes } from "../backends/heap.ts";
import { topologicalNodes } from "./graph.ts";

/** Heap bytes per gradient-pass row, per byte of the row's layer outputs (measured 2.3–3.7). */
export const GRADIENT_BYTES_PER_ACTIVATION_BYTE = 3;

/** Heap bytes per forward-pass row, per byte of its largest layer output (measured 2.0–4.0). */
export const FORWARD_BYTES_PER_LARGEST_BYTE = 4;

/** Heap bytes beside the rows of a gradient pass, per byte of the model's weights. */
export const WEIGHT_COPIES = 4;

/** Per-image bytes of a model's layer outputs at its input size. */
export interface ActivationFootprint {
  /** The sum over every layer output: what a gradient pass keeps per row. */
  totalBytes: number;
  /** The largest layer output. */
  largestBytes: number;
  /** The model's weights. */
  weightBytes: number;
}

/** What a pass keeps: a forward and backward pass, or a forward pass alone. */
export type PassKind = "gradient" | "forward";

const footprints = new WeakMap<tf.LayersModel, ActivationFootprint>();

/**
 * The per-image bytes of `model`'s layer outputs (float32) and its weights, computed once per
 * model from the output shapes; undefined when the input size is not fixed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { activationFootprint } from "./footprint.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(x);
 * const y = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
 * const footprint = activationFootprint(tf.model({ inputs: x, outputs: y }))!;
 * assert(footprint.totalBytes === 2 * 8 * 8 * 4 * 4 && footprint.largestBytes === 8 * 8 * 4 * 4);
 * assert(footprint.weightBytes === (3 * 3 * 3 * 4 + 4) * 4);
 * ```
 */
export function activationFootprint(model: tf.LayersModel): ActivationFootprint | undefined {
  const known = footprints.get(model);
  if (known) return known;
  let [totalBytes, largestBytes] = [0, 0];
  for (const node of topologicalNodes(model)) {
    for (const output of node.outputTensors) {
      const dims = output.shape.slice(1);
      if (dims.some((d) => d === null)) return undefined;
      const bytes = 4 * (dims as number[]).reduce((a, b) => a * b, 1);
      totalBytes += bytes;
      largestBytes = Math.max(largestBytes, bytes);
    }
  }
  const footprint = { totalBytes, largestBytes, weightBytes: 4 * model.countParams() };
  footprints.set(model, footprint);
  return footprint;
}

/**
 * How many rows of a `kind` pass through `model` fit `budgetBytes` (default: the process's heap
 * budget) beside the model's weights: `preferred` (a method's own default, e.g. Captum's 16)
 * when it fits, fewer when not, at least 1. `preferred` where the input size is not fixed, and on
 * a backend that keeps tensors in device memory (webgpu: another pool than the wasm heap the
 * budget is for, sized by its device).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { rowsWithinBudget } from "./footprint.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [64, 64, 3] });
 * const y = tf.layers.flatten().apply(tf.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(x));
 * const model = tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
 * // Per row 3 x (2 x 64·64·8·4 bytes) = 768 KiB: 10 rows fit 8 MiB, 16 (all asked for) 1 GiB.
 * assert(rowsWithinBudget(model, "gradient", 16, 8 * 2 ** 20) === 10);
 * assert(rowsWithinBudget(model, "gradient", 16, 2 ** 30) === 16);
 * assert(rowsWithinBudget(model, "gradient", 16, 1) === 1);
 * ```
 */
export function rowsWithinBudget(
  model: tf.LayersModel,
  kind: PassKind,
  preferred: number,
  budgetBytes: number = heapBudgetBytes(),
): number {
  const footprint = activationFootprint(model);
  if (!footprint || tensorMemory() === "device") return preferred;
  const { perRow, besideRows } = passCost(footprint, kind);
  const fit = Math.floor((budgetBytes - besideRows) / perRow);
  return Math.max(1, Math.min(preferred, fit));
}

/** Heap bytes of a `kind` pass: per row, and beside the rows (the weights' copies). */
function passCost(
  footprint: ActivationFootprint,
  kind: PassKind,
): { perRow: number; besideRows: number } {
  return kind === "gradient"
    ? {
      perRow: GRADIENT_BYTES_PER_ACTIVATION_BYTE * footprint.totalBytes,
      besideRows: WEIGHT_COPIES * footprint.weightBytes,
    }
    : {
      perRow: FORWARD_BYTES_PER_LARGEST_BYTE * footprint.largestBytes,
      besideRows: (WEIGHT_COPIES / 2) * footprint.weightBytes,
    };
}

/**
 * The heap bytes a `kind` pass of `rows` rows through `model` takes, by the estimates
 * {@link rowsWithinBudget} sizes passes with; undefined where the input size is not fixed. What
 * the budget leaves beside such a pass can hold other things (MPRT's kept activations).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { passBytes } from "./footprint.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [64, 64, 3] });
 * const y = tf.layers.flatten().apply(tf.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(x));
 * const model = tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
 * // 3 x (2 x 64·64·8·4 bytes) per row, and 4 copies of the 32 weights.
 * assert(passBytes(model, "gradient", 2) === 2 * 786432 + 4 * 4 * 32);
 * ```
 */
export function passBytes(
  model: tf.LayersModel,
  kind: PassKind,
  rows: number,
): number | undefined {
  const footprint = activationFootprint(model);
  if (!footprint) return undefined;
  const { perRow, besideRows } = passCost(footprint, kind);
  return besideRows + rows * perRow;
}
