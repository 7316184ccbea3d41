/**
 * Ranks with ties averaged, as `scipy.stats.rankdata(method="average")`: what Spearman's
 * correlation (metrics' similarity functions) and the Wilcoxon signed-rank test share.
 *
 * @module
 */

/**
 * Ranks 1..n with ties given their average rank (`scipy.stats.rankdata`, method "average").
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { averageRanks } from "./ranks.ts";
 * assert(averageRanks([10, 30, 20, 20]).join() === "1,4,2.5,2.5");
 * ```
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = values instanceof Float32Array && values.length <= INDEX_SLOTS
    ? float32Order(values)
    : undefined;
  return ranksInOrder(
    values,
    order ?? Array.from({ length: values.length }, (_, i) => i)
      .sort((i, j) => values[i] - values[j]),
  );
}

/** Indices a sort key has room for: 2^21, so that 32 bits of value and the index fit in 2^53. */
const INDEX_SLOTS = 2 ** 21;

/**
 * The indices of float32 values in ascending order, by sorting one float64 key per value (its
 * bits made order-preserving, times 2^21, plus its index) without a comparator: several times
 * faster than sorting indices with one. Undefined when a value is NaN (no order).
 */
function float32Order(values: Float32Array): Uint32Array | undefined {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const keys = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return undefined;
    // Negative floats: flip all bits; positive: flip the sign bit. Unsigned order = float order.
    const b = bits[i];
    const sortable = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = sortable * INDEX_SLOTS + i;
  }
  keys.sort();
  return Uint32Array.from(keys, (k) => k % INDEX_SLOTS);
}

/** Average ranks given the ascending `order` of `values`. */
function ranksInOrder(values: ArrayLike<number>, order: ArrayLike<number>): Float64Array {
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    const rank = (start + end + 1) / 2; // mean of the 1-based ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}
