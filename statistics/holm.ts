/**
 * Holm's step-down correction for multiple tests (Holm 1979), as adjusted p-values.
 *
 * @module
 */

/**
 * Holm-adjusted p-values: with the m p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, the k-th gets
 * max over j ≤ k of min(1, (m − j + 1)·p₍ⱼ₎), and is returned in the input's order. Rejecting
 * where the adjusted p is below α controls the family-wise error rate at α under any dependence
 * between the tests. NaN p-values (tests that could not be run) stay NaN and do not count in m.
 * Matches `statsmodels.stats.multitest.multipletests(p, method="holm")[1]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { holmAdjust } from "./holm.ts";
 * // sorted 0.01, 0.02, 0.04 -> 3·0.01, 2·0.02, max(0.04, 1·0.04)
 * assert(holmAdjust([0.04, 0.01, 0.02]).join() === "0.04,0.03,0.04");
 * assert(Number.isNaN(holmAdjust([NaN, 0.5])[0]) && holmAdjust([NaN, 0.5])[1] === 0.5);
 * ```
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues.map((_, i) => i).filter((i) => !Number.isNaN(pValues[i]))
    .sort((i, j) => pValues[i] - pValues[j]);
  const m = order.length;
  const adjusted = pValues.map(() => NaN);
  let running = 0;
  for (const [k, i] of order.entries()) {
    running = Math.max(running, Math.min(1, (m - k) * pValues[i]));
    adjusted[i] = running;
  }
  return adjusted;
}
