/**
 * Percentiles as numpy computes them: `numpy.percentile`'s default (linear) method, bit for bit.
 *
 * @module
 */

/**
 * The `q`th percentile (0..100) of ascending `sorted` values, interpolated linearly between the
 * two nearest ranks as `numpy.percentile` does by default, including its rounding rule: from the
 * upper value when the fraction is at least 0.5 (`b − (b − a)(1 − t)`), else from the lower
 * (`a + (b − a)t`). So a threshold computed here equals numpy's bit for bit (MSTC's salient-point
 * cutoff and EfficientMPRT's Freedman–Diaconis bins are compared with Quantus's). NaN for no
 * values.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { percentile } from "./percentile.ts";
 * assert(percentile(Float64Array.of(1, 2, 3, 4), 50) === 2.5);
 * assert(percentile(Float64Array.of(0, 10, 20, 30, 40), 50) === 20);
 * assert(percentile([0, 10], 99) === 9.9);
 * assert(Number.isNaN(percentile([], 50)));
 * ```
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * (q / 100);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const t = position - below;
  const [a, b] = [sorted[below], sorted[above]];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}
