/**
 * The Wilcoxon signed-rank test (Wilcoxon 1945) on paired differences, two-sided, exactly as
 * `scipy.stats.wilcoxon(d)` computes it with its defaults in scipy 1.17
 * (`zero_method="wilcox"`, `correction=False`, `alternative="two-sided"`, `method="auto"`):
 *
 * - Zeros (pairs whose difference is exactly 0) are dropped before ranking ("wilcox"); `n` counts
 *   the differences left, `zeros` the ones dropped.
 * - The rest are ranked by absolute value, ties sharing their average rank; R+ and R− are the rank
 *   sums of the positive and negative differences, and the statistic is min(R+, R−).
 * - Which null distribution, decided on the length of `d` with the zeros still in (scipy's rule):
 *   - length ≤ 50, no ties and no zeros: **exact**, R+ over all 2ⁿ sign patterns of the ranks
 *     1..n (the counts are exact integers, so the p-value has scipy's bits);
 *   - length ≤ 13 with ties or zeros: an exact **permutation** test, R+ over all 2ⁿ sign patterns
 *     of the (average) ranks, which is what scipy's `PermutationMethod` enumerates there;
 *   - otherwise **asymptotic**: z = (R+ − n(n+1)/4) / σ with the tie correction
 *     σ² = (n(n+1)(2n+1) − Σ(t³ − t)/2) / 24 over tie groups of size t, no continuity
 *     correction, p = 2·P(Z > |z|).
 * - In the exact and permutation cases p = min(1, 2·min(P(R+ ≤ r), P(R+ ≥ r))) for the observed r.
 *
 * An empty input, or (asymptotic) one that is all zeros, has no p-value: NaN, as in scipy.
 *
 * With `zeroMethod: "zsplit"` (scipy's `zero_method="zsplit"`, what MetaQuantus's intra-consistency
 * uses) the zeros stay: they are ranked with the others and each zero's rank counts half to R+
 * and half to R−; `n` counts every difference, the normal approximation's mean and tie correction
 * include the zeros, and the permutation test flips only the signs of the non-zero ones (a zero's
 * half ranks never move). An input of zeros alone then has p = 1: no evidence of a shift.
 *
 * @module
 */
import { averageRanks } from "./ranks.ts";
import { normalSurvival } from "./normal.ts";

/** Above this length scipy's `method="auto"` goes straight to the normal approximation. */
export const WILCOXON_EXACT_MAX_N = 50;

/** Up to this length, ties or zeros get scipy's exact permutation test (2¹³ < its 9999 draws). */
export const WILCOXON_PERMUTATION_MAX_N = 13;

/** Which null distribution gave the p-value; `none` for an empty input. */
export type WilcoxonMethod = "exact" | "permutation" | "asymptotic" | "none";

/** The outcome of {@link wilcoxonSignedRank}. */
export interface WilcoxonResult {
  /** Differences ranked (the non-zero ones). */
  n: number;
  /** Differences that were exactly zero, dropped. */
  zeros: number;
  /** Rank sum of the positive differences. */
  rPlus: number;
  /** Rank sum of the negative differences. */
  rMinus: number;
  /** min(R+, R−), what scipy reports as `statistic` for a two-sided test. */
  statistic: number;
  /** Two-sided p-value. */
  p: number;
  method: WilcoxonMethod;
}

/**
 * The two-sided Wilcoxon signed-rank test of "the differences are symmetric about zero".
 *
 * @param differences paired differences x − y; every one finite (leave out pairs with a NaN
 *   first, as {@link pairedDifferences} does).
 * @throws {RangeError} for a difference that is not a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { wilcoxonSignedRank } from "./wilcoxon.ts";
 * // Five positive differences, no ties: the exact p is 2 · 1/2⁵.
 * const r = wilcoxonSignedRank([1, 2, 3, 4, 5]);
 * assert(r.method === "exact" && r.p === 0.0625 && r.statistic === 0 && r.rPlus === 15);
 * // zsplit keeps the zeros and splits their ranks: no shift at all is p = 1.
 * const same = wilcoxonSignedRank([0, 0, 0], { zeroMethod: "zsplit" });
 * assert(same.p === 1 && same.n === 3 && same.rPlus === 3 && same.rMinus === 3);
 * assert(wilcoxonSignedRank([0, 0, 0]).n === 0); // "wilcox" drops them
 * ```
 */
export function wilcoxonSignedRank(
  differences: ArrayLike<number>,
  { zeroMethod = "wilcox" }: { zeroMethod?: "wilcox" | "zsplit" } = {},
): WilcoxonResult {
  const total = differences.length;
  const ranked: number[] = [];
  for (let i = 0; i < total; i++) {
    const d = differences[i];
    if (!Number.isFinite(d)) {
      throw new RangeError(
        `wilcoxonSignedRank: difference ${i} is ${d}; leave out pairs with a missing score first`,
      );
    }
    if (d !== 0 || zeroMethod === "zsplit") ranked.push(d);
  }
  const n = ranked.length, zeros = total - ranked.filter((d) => d !== 0).length;
  const ranks = averageRanks(ranked.map(Math.abs));
  let rPlus = 0, rMinus = 0, zeroHalves = 0;
  for (let i = 0; i < n; i++) {
    if (ranked[i] > 0) rPlus += ranks[i];
    else if (ranked[i] < 0) rMinus += ranks[i];
    else zeroHalves += ranks[i] / 2;
  }
  rPlus += zeroHalves;
  rMinus += zeroHalves;
  const result = { n, zeros, rPlus, rMinus, statistic: Math.min(rPlus, rMinus) };
  if (total === 0) return { ...result, p: NaN, method: "none" };
  const tieSizes = groupSizes(ranks);
  const hasTies = tieSizes.some((t) => t > 1);
  if (total <= WILCOXON_EXACT_MAX_N && !hasTies && zeros === 0) {
    return { ...result, p: signFlipPValue(ranks, rPlus), method: "exact" };
  }
  if (total <= WILCOXON_PERMUTATION_MAX_N) {
    // zsplit: the zeros' half ranks are fixed; only the non-zero differences' signs flip.
    const flipped = ranks.filter((_, i) => ranked[i] !== 0);
    const p = signFlipPValue(flipped, rPlus - zeroHalves);
    return { ...result, p, method: "permutation" };
  }
  // scipy's order of operations, so that z carries the same rounding.
  const mean = n * (n + 1) * 0.25;
  const tieCorrection = tieSizes.reduce((sum, t) => sum + (t ** 3 - t), 0);
  const se = Math.sqrt((n * (n + 1) * (2 * n + 1) - tieCorrection / 2) / 24);
  const z = (rPlus - mean) / se;
  return { ...result, p: 2 * normalSurvival(Math.abs(z)), method: "asymptotic" };
}

/** Sizes of the groups of equal values. */
function groupSizes(values: ArrayLike<number>): number[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  return [...counts.values()];
}

/**
 * Two-sided p of the observed R+ under the null where each rank's sign is a fair coin:
 * min(1, 2·min(P(R+ ≤ r), P(R+ ≥ r))). Ranks are multiples of 1/2, so the distribution of twice
 * R+ is counted over integers; counts stay below 2⁵¹, exact in a float64.
 */
function signFlipPValue(ranks: ArrayLike<number>, rPlus: number): number {
  const doubled = Array.from(ranks, (r) => Math.round(2 * r));
  const max = doubled.reduce((a, b) => a + b, 0);
  let counts = new Float64Array(max + 1);
  counts[0] = 1;
  let reach = 0;
  for (const r of doubled) {
    const next = counts.slice();
    for (let s = 0; s <= reach; s++) next[s + r] += counts[s];
    counts = next;
    reach += r;
  }
  const observed = Math.round(2 * rPlus);
  let below = 0, above = 0;
  for (let s = 0; s <= max; s++) {
    if (s <= observed) below += counts[s];
    if (s >= observed) above += counts[s];
  }
  const patterns = 2 ** ranks.length;
  return Math.min(1, 2 * Math.min(below / patterns, above / patterns));
}
