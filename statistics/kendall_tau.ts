/**
 * Kendall's rank correlation τ (Kendall 1938) in its tie-corrected form τ-b.
 *
 * @module
 */

/**
 * Kendall's τ-b between two rankings of the same items, `scipy.stats.kendalltau(x, y)`'s
 * statistic: (C − D) / √((P − Tₓ)(P − Tᵧ)), where C and D count the concordant and discordant
 * pairs of items, P = n(n − 1)/2 all pairs, and Tₓ, Tᵧ the pairs tied in x, in y. 1 when the two
 * order the items alike, −1 when exactly reversed. Only the order of the values matters, so
 * scores can be passed as they are. NaN when a value is NaN or either side is constant (no
 * order to compare), as in scipy.
 *
 * @throws {RangeError} when the two differ in length.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { kendallTauB } from "./kendall_tau.ts";
 * assert(kendallTauB([1, 2, 3, 4], [10, 20, 30, 40]) === 1);
 * assert(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]) === -1);
 * // C = 2, D = 0, one pair tied in y: 2 / √(3 · 2)
 * assert(Math.abs(kendallTauB([1, 2, 3], [1, 2, 2]) - 2 / Math.sqrt(6)) < 1e-15);
 * assert(Number.isNaN(kendallTauB([1, 2, 3], [5, 5, 5])));
 * ```
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) {
    throw new RangeError(`kendallTauB: rankings of ${x.length} and ${y.length} items`);
  }
  const n = x.length;
  let concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(x[i]) || Number.isNaN(y[i])) return NaN;
    for (let j = i + 1; j < n; j++) {
      const dx = compare(x[i], x[j]), dy = compare(y[i], y[j]);
      if (dx === 0) tiedX++;
      if (dy === 0) tiedY++;
      if (dx * dy > 0) concordant++;
      else if (dx * dy < 0) discordant++;
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((pairs - tiedX) * (pairs - tiedY));
  if (denominator === 0) return NaN;
  return Math.max(-1, Math.min(1, (concordant - discordant) / denominator));
}

/** −1, 0 or 1 as a is below, equal to or above b (infinities included). */
function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
