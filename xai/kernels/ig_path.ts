/**
 * The Integrated Gradients path kernels in WGSL (`ig_path.wgsl`) on the tfjs webgpu backend's
 * device: the scaled inputs b + alpha_k (x − b) for any range of path rows (all steps of the
 * whole batch at once, or one model chunk), and the accumulation
 * attributions += (x − b) · Σ_k stepSize_k · g_k over the gradients of such a range. Rows are
 * step-major (row k · N + i is step k of image i), as in `ig_path_reference.ts`, which these
 * equal within float32 rounding. Registered for webgpu as {@link IG_PATH}, which Integrated
 * Gradients asks for (`xai/gradient/integrated_gradients.ts`).
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { ShapeNHWC } from "../../core/shapes.ts";
import { AcceleratedOp } from "../../backends/accelerated.ts";
import { runWgsl } from "../../backends/webgpu/webgpu_kernel.ts";
import source from "./ig_path.wgsl" with { type: "text" };

/**
 * Integrated Gradients' path on a backend that accelerates it, in its two parts (signatures and
 * semantics of {@link igScaledInputsWebGpu} and {@link igAccumulateWebGpu}): the model inputs of
 * a range of path rows, and the accumulation of their gradients into the attribution.
 */
export interface IgPathKernels {
  scaledInputs(
    xNHWC: tf.Tensor4D,
    baselineNHWC: tf.Tensor4D,
    alphas: ArrayLike<number>,
    rowStart: number,
    rowEnd: number,
  ): tf.Tensor4D;
  accumulate(
    attributionsNHWC: tf.Tensor4D,
    gradientRowsNHWC: tf.Tensor4D,
    xNHWC: tf.Tensor4D,
    baselineNHWC: tf.Tensor4D,
    stepSizes: ArrayLike<number>,
    rowStart: number,
  ): tf.Tensor4D;
}

/**
 * Integrated Gradients' path as an accelerated operation (both parts or neither); webgpu runs
 * the WGSL kernels of this module.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { IG_PATH, igScaledInputsWebGpu } from "./ig_path.ts";
 * assert(IG_PATH.implementation("webgpu")?.scaledInputs === igScaledInputsWebGpu);
 * assert(IG_PATH.implementation("cpu") === undefined);
 * ```
 */
export const IG_PATH = new AcceleratedOp<IgPathKernels>("igPath");

/** [N, H·W·C] of an NHWC tensor, after checking `other` has its shape. */
function imageGeometry(
  kernel: string,
  xNHWC: tf.Tensor4D,
  other: tf.Tensor4D,
): [number, number] {
  if (other.shape.join() !== xNHWC.shape.join()) {
    throw new Error(`${kernel}: shape [${other.shape}] differs from the input's [${xNHWC.shape}]`);
  }
  const [batch, heightPx, widthPx, channels] = xNHWC.shape as ShapeNHWC;
  return [batch, heightPx * widthPx * channels];
}

/** The path rows [rowStart, rowEnd) exist for `steps` steps of `batch` images. */
function checkRows(
  kernel: string,
  rowStart: number,
  rowEnd: number,
  steps: number,
  batch: number,
): void {
  if (
    !(Number.isInteger(rowStart) && Number.isInteger(rowEnd)) || rowStart < 0 ||
    rowEnd <= rowStart || rowEnd > steps * batch
  ) {
    throw new Error(
      `${kernel}: rows ${rowStart}..${rowEnd} outside the ${steps} x ${batch} path rows`,
    );
  }
}

/**
 * The model inputs for path rows rowStart .. rowEnd − 1: row k · N + i is
 * b_i + alpha_k (x_i − b_i); [rowEnd − rowStart, H, W, C]. The caller disposes it.
 *
 * @param alphas alpha_k, one per step (used as float32).
 * @throws {Error} when the backend is not webgpu, shapes differ or the rows do not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../../backends/backend.ts";
 * import { igScaledInputsWebGpu } from "./ig_path.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const x = tf.fill([1, 1, 1, 1], 2) as tf.Tensor4D, b = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
 *   const rows = igScaledInputsWebGpu(x, b, [0.25, 1], 0, 2);
 *   assert((await rows.data()).join() === "0.5,2");
 *   tf.dispose([x, b, rows]);
 * }
 * ```
 */
export function igScaledInputsWebGpu(
  xNHWC: tf.Tensor4D,
  baselineNHWC: tf.Tensor4D,
  alphas: ArrayLike<number>,
  rowStart: number,
  rowEnd: number,
): tf.Tensor4D {
  const [batch, imageSize] = imageGeometry("igScaledInputsWebGpu", xNHWC, baselineNHWC);
  checkRows("igScaledInputsWebGpu", rowStart, rowEnd, alphas.length, batch);
  const rowCount = rowEnd - rowStart;
  const [rows] = runWgsl({
    label: "ig_path.scaled_inputs",
    source,
    bindings: [
      { kind: "uniform", data: Uint32Array.of(batch, imageSize, rowStart, rowCount) },
      { kind: "read", tensor: xNHWC },
      { kind: "read", tensor: baselineNHWC },
      { kind: "read", data: Float32Array.from(alphas) },
      { kind: "write", outputShape: [rowCount, ...xNHWC.shape.slice(1)] },
    ],
    dispatches: [{ entryPoint: "scaled_inputs", invocations: imageSize, rows: rowCount }],
  });
  return rows as tf.Tensor4D;
}

/**
 * attributionsNHWC + (x − b) · Σ_k stepSizes[k] · g_r over the rows r = k · N + i from
 * `rowStart` whose gradients `gradientRowsNHWC` holds, [N, H, W, C]; a new tensor the caller
 * disposes. Called once with all rows from zeros, this is IG's attribution; called per model
 * chunk, it accumulates it.
 *
 * @param stepSizes the quadrature weights, one per step (used as float32).
 * @throws {Error} when the backend is not webgpu, shapes differ or the rows do not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../../backends/backend.ts";
 * import { igAccumulateWebGpu } from "./ig_path.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const x = tf.fill([1, 1, 1, 1], 2) as tf.Tensor4D, b = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
 *   const gradients = tf.tensor4d([1, 3], [2, 1, 1, 1]);
 *   const attr = igAccumulateWebGpu(tf.zerosLike(x), gradients, x, b, [0.5, 0.5], 0);
 *   assert((await attr.data())[0] === 4);
 *   tf.dispose([x, b, gradients, attr]);
 * }
 * ```
 */
export function igAccumulateWebGpu(
  attributionsNHWC: tf.Tensor4D,
  gradientRowsNHWC: tf.Tensor4D,
  xNHWC: tf.Tensor4D,
  baselineNHWC: tf.Tensor4D,
  stepSizes: ArrayLike<number>,
  rowStart: number,
): tf.Tensor4D {
  const [batch, imageSize] = imageGeometry("igAccumulateWebGpu", xNHWC, baselineNHWC);
  imageGeometry("igAccumulateWebGpu", xNHWC, attributionsNHWC);
  const rowCount = gradientRowsNHWC.shape[0];
  if (gradientRowsNHWC.size !== rowCount * imageSize) {
    throw new Error(
      `igAccumulateWebGpu: gradient rows [${gradientRowsNHWC.shape}] are not images of ` +
        `[${xNHWC.shape.slice(1)}]`,
    );
  }
  checkRows("igAccumulateWebGpu", rowStart, rowStart + rowCount, stepSizes.length, batch);
  const [attributions] = runWgsl({
    label: "ig_path.accumulate",
    source,
    bindings: [
      { kind: "uniform", data: Uint32Array.of(batch, imageSize, rowStart, rowCount) },
      { kind: "read", tensor: xNHWC },
      { kind: "read", tensor: baselineNHWC },
      { kind: "read", data: Float32Array.from(stepSizes) },
      { kind: "write", outputShape: [...xNHWC.shape] },
      { kind: "read", tensor: gradientRowsNHWC },
      { kind: "read", tensor: attributionsNHWC },
    ],
    dispatches: [{ entryPoint: "accumulate", invocations: imageSize, rows: batch }],
  });
  return attributions as tf.Tensor4D;
}

IG_PATH.register("webgpu", {
  scaledInputs: igScaledInputsWebGpu,
  accumulate: igAccumulateWebGpu,
});
