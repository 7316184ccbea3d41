/**
 * Similarities between two flat vectors, as Quantus's `similarity_func` pieces. All accumulate in
 * float64.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";

/** A similarity (or difference) of two equally long vectors. */
export type SimilarityFunction = (a: ArrayLike<number>, b: ArrayLike<number>) => number;

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/**
 * Pearson's correlation coefficient (`scipy.stats.pearsonr`); NaN when either vector is
 * constant.
 *
 * @example
 * ```ts
 * import { pearson } from "./similarity.ts";
 * console.assert(Math.abs(pearson([1, 2, 3], [2, 4, 7]) - 0.9933992677987828) < 1e-12);
 * console.assert(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
 * ```
 */
export const pearson: SimilarityFunction = (a, b) => {
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
};

/**
 * Ranks 1..n with ties given their average rank (`scipy.stats.rankdata`, method "average").
 *
 * @example
 * ```ts
 * import { averageRanks } from "./similarity.ts";
 * console.assert(averageRanks([10, 30, 20, 20]).join() === "1,4,2.5,2.5");
 * ```
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i)
    .sort((i, j) => values[i] - values[j]);
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

/**
 * Spearman's rank correlation (`scipy.stats.spearmanr`): Pearson's on average ranks.
 *
 * @example
 * ```ts
 * import { spearman } from "./similarity.ts";
 * console.assert(spearman([1, 2, 3, 4], [1, 4, 9, 16]) === 1);
 * ```
 */
export const spearman: SimilarityFunction = (a, b) => pearson(averageRanks(a), averageRanks(b));

/**
 * Cosine similarity; NaN when either vector is zero.
 *
 * @example
 * ```ts
 * import { cosine } from "./similarity.ts";
 * console.assert(cosine([1, 0], [0, 2]) === 0 && cosine([1, 1], [2, 2]) > 0.9999999);
 * ```
 */
export const cosine: SimilarityFunction = (a, b) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? NaN : ab / Math.sqrt(aa * bb);
};

/**
 * The element-wise difference a − b (Quantus's `difference`), for norms of changes.
 *
 * @example
 * ```ts
 * import { difference } from "./similarity.ts";
 * console.assert(difference([3, 1], [1, 1]).join() === "2,0");
 * ```
 */
export function difference(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
}

/** The correlations a metric can compare two series with. */
export type CorrelationName = "pearson" | "spearman";

/** The correlation functions by name. */
export const CORRELATIONS: Record<CorrelationName, SimilarityFunction> = { pearson, spearman };

/**
 * A correlation from Quantus's `similarity_func` (a qualified function name, or null for the
 * metric's default): any name containing "pearson" or "spearman".
 *
 * @throws {InputError} for any other similarity function.
 *
 * @example
 * ```ts
 * import { correlationFromQuantus } from "./similarity.ts";
 * console.assert(correlationFromQuantus("quantus.functions.similarity_func.correlation_spearman", "pearson") === "spearman");
 * console.assert(correlationFromQuantus(null, "pearson") === "pearson");
 * ```
 */
export function correlationFromQuantus(
  similarityFunc: unknown,
  fallback: CorrelationName,
): CorrelationName {
  if (similarityFunc === undefined || similarityFunc === null) return fallback;
  const name = String(similarityFunc).toLowerCase();
  if (name.includes("pearson")) return "pearson";
  if (name.includes("spearman")) return "spearman";
  throw new InputError(
    `similarity_func ${
      String(similarityFunc)
    }: only Pearson and Spearman correlations are supported`,
  );
}
