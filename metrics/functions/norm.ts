/**
 * Norms of maps and differences, as Quantus's `norm_func` pieces.
 *
 * @module
 */

/** A norm of a flat vector. */
export type NormFunction = (values: ArrayLike<number>) => number;

/**
 * The Frobenius (L2) norm of the flattened values (Quantus's `fro_norm`), accumulated in
 * float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { frobeniusNorm } from "./norm.ts";
 * assert(frobeniusNorm([3, 4]) === 5);
 * ```
 */
export const frobeniusNorm: NormFunction = (values) => {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
};

/**
 * The largest absolute value (L-infinity norm).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { maxAbsNorm } from "./norm.ts";
 * assert(maxAbsNorm([3, -4]) === 4);
 * ```
 */
export const maxAbsNorm: NormFunction = (values) => {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
};
