/**
 * Paired samples: two scores per item (two methods on the same image), compared item by item.
 *
 * @module
 */
import type { Random } from "../core/random.ts";
import { bootstrapMeanInterval } from "./bootstrap.ts";

/**
 * The differences a[i] − b[i] of the pairs where both scores are numbers; `leftOut` counts the
 * pairs dropped because either is NaN.
 *
 * @throws {RangeError} when the two samples differ in length.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pairedDifferences } from "./paired.ts";
 * const { differences, leftOut } = pairedDifferences([3, NaN, 5], [1, 2, 5]);
 * assert(differences.join() === "2,0" && leftOut === 1);
 * ```
 */
export function pairedDifferences(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { differences: Float64Array; leftOut: number } {
  if (a.length !== b.length) {
    throw new RangeError(`pairedDifferences: samples of ${a.length} and ${b.length} items`);
  }
  const differences: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) differences.push(a[i] - b[i]);
  }
  return { differences: Float64Array.from(differences), leftOut: a.length - differences.length };
}

/** The mean paired difference and its bootstrap interval. */
export interface PairedBootstrap {
  /** Pairs with both scores. */
  n: number;
  /** Mean of a − b over those pairs; NaN when there are none. */
  meanDiff: number;
  /** Percentile bootstrap 95 % interval of `meanDiff`; NaN below two pairs. */
  ciLow: number;
  ciHigh: number;
}

/**
 * The mean of a − b with a paired bootstrap 95 % interval: items (images) are resampled with
 * replacement, each carrying both of its scores, so the interval reflects the spread of the
 * differences, not of each sample. Pairs with a NaN are left out first.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { pairedBootstrap } from "./paired.ts";
 * // Every image gains exactly 1, however much the images differ: the interval is [1, 1].
 * const r = pairedBootstrap([11, 52, 3, 94], [10, 51, 2, 93], new SeededRandom(1), 1000);
 * assert(r.n === 4 && r.meanDiff === 1 && r.ciLow === 1 && r.ciHigh === 1);
 * ```
 */
export function pairedBootstrap(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  random: Random,
  resamples: number,
): PairedBootstrap {
  const { differences } = pairedDifferences(a, b);
  const n = differences.length;
  const meanDiff = n === 0 ? NaN : differences.reduce((s, d) => s + d, 0) / n;
  const { low, high } = bootstrapMeanInterval(differences, random, resamples);
  return { n, meanDiff, ciLow: low, ciHigh: high };
}
