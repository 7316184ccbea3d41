/**
 * Similarities between two flat vectors, as Quantus's `similarity_func` pieces. All accumulate in
 * float64.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { averageRanks } from "../../statistics/ranks.ts";

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
 * import assert from "node:assert";
 * import { pearson } from "./similarity.ts";
 * assert(Math.abs(pearson([1, 2, 3], [2, 4, 7]) - 0.9933992677987828) < 1e-12);
 * assert(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
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
 * Spearman's rank correlation (`scipy.stats.spearmanr`): Pearson's on average ranks.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { spearman } from "./similarity.ts";
 * assert(spearman([1, 2, 3, 4], [1, 4, 9, 16]) === 1);
 * ```
 */
export const spearman: SimilarityFunction = (a, b) => pearson(averageRanks(a), averageRanks(b));

/**
 * Cosine similarity; NaN when either vector is zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cosine } from "./similarity.ts";
 * assert(cosine([1, 0], [0, 2]) === 0 && cosine([1, 1], [2, 2]) > 0.9999999);
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
 * import assert from "node:assert";
 * import { difference } from "./similarity.ts";
 * assert(difference([3, 1], [1, 1]).join() === "2,0");
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
 * import assert from "node:assert";
 * import { correlationFromQuantus } from "./similarity.ts";
 * assert(correlationFromQuantus("quantus.functions.similarity_func.correlation_spearman", "pearson") === "spearman");
 * assert(correlationFromQuantus(null, "pearson") === "pearson");
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

/**
 * The structural similarity (Wang et al. 2004) of two flat vectors, as Quantus's `ssim` computes
 * it with scikit-image on flattened maps: a 1-D window of `winSize` values (uniform weights,
 * sample covariance), K1 = 0.01, K2 = 0.03, the data range max − min over both vectors, and the
 * mean over the positions whose window lies inside the vector (`(winSize − 1) / 2` cropped at each
 * end). NaN when both vectors are the same constant (no range), or when they are shorter than the
 * window. `winSize` must be odd (scikit-image's rule).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ssim1d } from "./similarity.ts";
 * const a = Array.from({ length: 20 }, (_, i) => Math.sin(i));
 * assert(Math.abs(ssim1d(a, a) - 1) < 1e-12);
 * assert(ssim1d(a, a.map((_, i) => Math.cos(3 * i))) < 0.1);
 * ```
 */
export function ssim1d(a: ArrayLike<number>, b: ArrayLike<number>, winSize = 7): number {
  if (winSize % 2 !== 1 || winSize < 3) {
    throw new RangeError(`ssim1d: winSize ${winSize} must be odd and at least 3`);
  }
  const length = a.length;
  if (length < winSize || b.length !== length) return NaN;
  let max = -Infinity, min = Infinity;
  for (let i = 0; i < length; i++) {
    max = Math.max(max, a[i], b[i]);
    min = Math.min(min, a[i], b[i]);
  }
  const range = max - min;
  if (!(range > 0)) return NaN;
  const c1 = (0.01 * range) ** 2, c2 = (0.03 * range) ** 2;
  const covarianceNorm = winSize / (winSize - 1);
  const pad = (winSize - 1) >> 1;
  let total = 0;
  for (let centre = pad; centre < length - pad; centre++) {
    let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (let j = centre - pad; j <= centre + pad; j++) {
      sa += a[j];
      sb += b[j];
      saa += a[j] * a[j];
      sbb += b[j] * b[j];
      sab += a[j] * b[j];
    }
    const ma = sa / winSize, mb = sb / winSize;
    const va = covarianceNorm * (saa / winSize - ma * ma);
    const vb = covarianceNorm * (sbb / winSize - mb * mb);
    const vab = covarianceNorm * (sab / winSize - ma * mb);
    total += ((2 * ma * mb + c1) * (2 * vab + c2)) /
      ((ma * ma + mb * mb + c1) * (va + vb + c2));
  }
  return total / (length - 2 * pad);
}
