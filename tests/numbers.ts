/**
 * Deterministic test inputs and the error measure for results whose summation order differs
 * between implementations (wasm vs cpu kernels, OpenBLAS vs XNNPACK).
 *
 * @module
 */

/**
 * Deterministic values in [-0.5, 0.5) from a small LCG: the same on every backend and machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lcgValues } from "./numbers.ts";
 * assert(lcgValues(3, 7).join() === lcgValues(3, 7).join());
 * ```
 */
export function lcgValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/**
 * max |actual − expected| / max |expected|: a whole-array bound, since element-wise relative
 * errors blow up where a sum cancels to near zero.
 *
 * @throws {Error} when the lengths differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { maxRelativeError } from "./numbers.ts";
 * assert(maxRelativeError(Float32Array.of(1, 2.5), Float32Array.of(1, 2)) === 0.25);
 * ```
 */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
