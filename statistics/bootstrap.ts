/**
 * The percentile bootstrap (Efron 1979): resample the items with replacement, compute the
 * statistic (a mean, a rank correlation) on each resample, and read the interval off the sorted
 * results.
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
 * {@link bootstrapInterval} with the mean as the statistic. NaN for fewer than two values.
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
  return bootstrapInterval(
    n,
    (indices) => {
      let sum = 0;
      for (const k of indices) sum += values[k];
      return sum / n;
    },
    random,
    resamples,
  );
}

/**
 * The percentile bootstrap 95 % interval of any statistic of `count` items: each resample draws
 * `count` item indices with replacement, `statistic` turns them into a number, and the interval
 * is the sorted numbers at ⌊0.025·B⌋ and ⌊0.975·B⌋. Draws come from `random` in a fixed order
 * (one index per item per resample), so a seeded stream gives the same interval every run.
 * A resample whose statistic is undefined (NaN, e.g. a rank correlation of a resample where all
 * items tie) is left out and B counts the rest. NaN for fewer than two items or when every
 * resample is undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { bootstrapInterval } from "./bootstrap.ts";
 * const values = [3, 1, 4, 1, 5];
 * // The largest value of a resample: never above 5, below it only when 5 was not drawn.
 * const max = (indices: Int32Array) => Math.max(...Array.from(indices, (k) => values[k]));
 * const { low, high } = bootstrapInterval(values.length, max, new SeededRandom(1), 1000);
 * assert(high === 5 && low >= 3 && low <= 5);
 * ```
 */
export function bootstrapInterval(
  count: number,
  statistic: (indices: Int32Array) => number,
  random: Random,
  resamples: number,
): Interval {
  if (count < 2) return { low: NaN, high: NaN };
  const indices = new Int32Array(count);
  const values = new Float64Array(resamples);
  let defined = 0;
  for (let b = 0; b < resamples; b++) {
    for (let k = 0; k < count; k++) indices[k] = randomInt(random, count);
    const value = statistic(indices);
    if (!Number.isNaN(value)) values[defined++] = value;
  }
  if (defined === 0) return { low: NaN, high: NaN };
  const sorted = values.subarray(0, defined).sort();
  const at = (q: number) => sorted[Math.min(defined - 1, Math.floor(q * defined))];
  return { low: at(0.025), high: at(0.975) };
}
