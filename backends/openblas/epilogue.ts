/**
 * What our OpenBLAS kernels (`blas_conv2d.ts`, `blas_matmul.ts`) do around a product: the bias
 * written into the output rows before `sgemm` adds onto them (β = 1), and the fused activations
 * applied after.
 *
 * @module
 */

/** The fused activations applied here; kernels hand others to the stock kernel. */
export type Activation = "linear" | "relu" | "relu6";

/** The names of {@link Activation}, to check a kernel's `activation` attribute against. */
export const ACTIVATIONS: readonly string[] = ["linear", "relu", "relu6"];

/**
 * Applies a fused activation in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { activate } from "./epilogue.ts";
 * const out = Float32Array.of(-1, 3, 9);
 * activate(out, "relu6");
 * assert(out.join() === "0,3,6");
 * ```
 */
export function activate(out: Float32Array, activation: Activation): void {
  if (activation === "linear") return;
  const top = activation === "relu6" ? 6 : Infinity;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (v < 0) out[i] = 0;
    else if (v > top) out[i] = top;
  }
}

/**
 * Writes `row` into every row of `matrix` by doubling copies (memcpy speed, no per-value loop).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fillRows } from "./epilogue.ts";
 * const matrix = new Float32Array(6);
 * fillRows(matrix, Float32Array.of(1, 2));
 * assert(matrix.join() === "1,2,1,2,1,2");
 * ```
 */
export function fillRows(matrix: Float32Array, row: Float32Array): void {
  matrix.set(row);
  for (let filled = row.length; filled < matrix.length; filled *= 2) {
    matrix.copyWithin(filled, 0, Math.min(filled, matrix.length - filled));
  }
}
