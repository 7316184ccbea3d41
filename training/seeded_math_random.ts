/**
 * Seeding the randomness tfjs draws internally.
 *
 * tfjs initialisers take an optional seed; without one, tfjs seeds its generator from
 * `Math.random()`. An architecture builder need not pass seeds, so model initialisation is made
 * reproducible by serving those `Math.random()` calls from one of our seeded streams for the
 * duration of the build. Our own code still never
 * calls `Math.random`.
 *
 * @module
 */
import type { Random } from "../core/random.ts";

/**
 * Runs `fn` with `Math.random` drawing from `random`, then restores it (also on error).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { withSeededMathRandom } from "./seeded_math_random.ts";
 * await tf.setBackend("cpu");
 * const draw = () => tf.randomUniform([3]).dataSync().join();
 * const a = await withSeededMathRandom(new SeededRandom(5), draw);
 * const b = await withSeededMathRandom(new SeededRandom(5), draw);
 * assert(a === b);
 * ```
 */
export async function withSeededMathRandom<T>(
  random: Random,
  fn: () => T | Promise<T>,
): Promise<T> {
  const original = Math.random;
  Math.random = () => random.uniform();
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
