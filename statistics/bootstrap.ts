/**
 * The percentile bootstrap of a mean (Efron 1979): resample the values with replacement, take
 * each resample's mean, and read the interval off the sorted means.
 *
 * @module
 */
import { type Random, randomInt } from "../core/random.ts";

/** A confidence interval. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * The percentile bootstrap 95 % interval of the mean of `values` from `resamples` resamples:
 * the sorted means at ⌊0.025·B⌋ and ⌊0.975·B⌋. Draws come from `random` in a fixed order (one
 * index per value per resample), so a seeded stream gives the same interval every run. NaN for
 * fewer than two values.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { bootstrapMeanInterval } from "./bootstrap.ts";
 * const { low, high } = bootstrapMeanInterval([1, 2, 3, 4], new SeededRandom(1), 1000);
 * assert(low >= 1 && low < 2.5 && high > 2.5 && high <= 4);
 * assert(Number.isNaN(bootstrapMeanInterval([1], new SeededRandom(1), 1000).low));
 * ```
 */
export function bootstrapMeanInterval(
  values: ArrayLike<number>,
  random: Random,
  resamples: number,
): Interval {
  const n = values.length;
  if (n < 2) return { low: NaN, high: NaN };
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += values[randomInt(random, n)];
    means[b] = sum / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.floor(q * resamples))];
  return { low: at(0.025), high: at(0.975) };
}
