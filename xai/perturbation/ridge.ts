/**
 * Weighted ridge regression with an intercept, as scikit-learn's `Ridge(alpha,
 * fit_intercept=True).fit(X, y, sample_weight)` solves it: centre X and y on their weighted
 * means x̄, ȳ, solve (X_cᵀ W X_c + α I) β = X_cᵀ W y_c, and set the intercept to ȳ − x̄ᵀβ.
 * LIME fits its local surrogate with it.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";

/** A fitted linear model ŷ = intercept + xᵀ coef. */
export interface RidgeFit {
  /** β, one coefficient per fitted column (in the order of `columns`). */
  coef: Float64Array;
  intercept: number;
}

/** The rows of a design matrix and which of its columns to use. */
export interface Design {
  /** [N, K] row-major. */
  xNK: ArrayLike<number>;
  /** K, the columns of `xNK`. */
  numColumns: number;
  /** The columns to fit on; default all. */
  columns?: readonly number[];
}

/** Solves the symmetric system A z = b in place (Gaussian elimination, partial pivoting). */
function solveInPlace(a: Float64Array, b: Float64Array, size: number): Float64Array {
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++) {
      if (Math.abs(a[r * size + col]) > Math.abs(a[pivot * size + col])) pivot = r;
    }
    if (pivot !== col) {
      for (let c = 0; c < size; c++) {
        [a[col * size + c], a[pivot * size + c]] = [a[pivot * size + c], a[col * size + c]];
      }
      [b[col], b[pivot]] = [b[pivot], b[col]];
    }
    const diagonal = a[col * size + col];
    // A singular system (alpha 0 and a constant column): that coefficient stays 0.
    if (Math.abs(diagonal) < 1e-12) continue;
    for (let r = col + 1; r < size; r++) {
      const factor = a[r * size + col] / diagonal;
      if (factor === 0) continue;
      for (let c = col; c < size; c++) a[r * size + c] -= factor * a[col * size + c];
      b[r] -= factor * b[col];
    }
  }
  const z = new Float64Array(size);
  for (let r = size - 1; r >= 0; r--) {
    const diagonal = a[r * size + r];
    if (Math.abs(diagonal) < 1e-12) continue;
    let sum = b[r];
    for (let c = r + 1; c < size; c++) sum -= a[r * size + c] * z[c];
    z[r] = sum / diagonal;
  }
  return z;
}

function columnsOf(design: Design): readonly number[] {
  return design.columns ?? Array.from({ length: design.numColumns }, (_, j) => j);
}

/**
 * Fits weighted ridge regression with an intercept.
 *
 * @param sampleWeight one non-negative weight per row, not all 0.
 * @param alpha the L2 penalty α ≥ 0 (0: weighted least squares).
 * @throws {InputError} for a negative α, mismatched lengths or all-zero weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fitRidge } from "./ridge.ts";
 * // y = 2 + 3 x exactly; with alpha 0 the fit recovers it.
 * const fit = fitRidge({ xNK: [0, 1, 2], numColumns: 1 }, [2, 5, 8], [1, 1, 1], 0);
 * assert(Math.abs(fit.coef[0] - 3) < 1e-12 && Math.abs(fit.intercept - 2) < 1e-12);
 * ```
 */
export function fitRidge(
  design: Design,
  y: ArrayLike<number>,
  sampleWeight: ArrayLike<number>,
  alpha: number,
): RidgeFit {
  const { xNK, numColumns } = design;
  const rows = y.length;
  if (!(alpha >= 0) || !Number.isFinite(alpha)) {
    throw new InputError(`ridge regression: alpha must be a finite number >= 0, got ${alpha}`);
  }
  if (xNK.length !== rows * numColumns || sampleWeight.length !== rows) {
    throw new InputError(
      `ridge regression: ${xNK.length} design values, ${rows} targets and ` +
        `${sampleWeight.length} weights do not make ${rows} rows of ${numColumns} columns`,
    );
  }
  const columns = columnsOf(design);
  const size = columns.length;
  let totalWeight = 0;
  let yMean = 0;
  const xMean = new Float64Array(size);
  for (let i = 0; i < rows; i++) {
    const w = sampleWeight[i];
    totalWeight += w;
    yMean += w * y[i];
    columns.forEach((col, j) => xMean[j] += w * xNK[i * numColumns + col]);
  }
  if (!(totalWeight > 0)) {
    throw new InputError("ridge regression: the sample weights sum to 0; give some weight > 0");
  }
  yMean /= totalWeight;
  xMean.forEach((v, j) => xMean[j] = v / totalWeight);
  const gram = new Float64Array(size * size);
  const moment = new Float64Array(size);
  const centred = new Float64Array(size);
  for (let i = 0; i < rows; i++) {
    const w = sampleWeight[i];
    if (w === 0) continue;
    columns.forEach((col, j) => centred[j] = xNK[i * numColumns + col] - xMean[j]);
    const yc = y[i] - yMean;
    for (let j = 0; j < size; j++) {
      const wx = w * centred[j];
      moment[j] += wx * yc;
      for (let k = j; k < size; k++) gram[j * size + k] += wx * centred[k];
    }
  }
  for (let j = 0; j < size; j++) {
    gram[j * size + j] += alpha;
    for (let k = 0; k < j; k++) gram[j * size + k] = gram[k * size + j];
  }
  const coef = solveInPlace(gram, moment, size);
  const intercept = yMean - coef.reduce((sum, b, j) => sum + b * xMean[j], 0);
  return { coef, intercept };
}

/**
 * The weighted coefficient of determination R² of `fit` on the rows, as scikit-learn's
 * `score(X, y, sample_weight)`: 1 − Σ w (y − ŷ)² / Σ w (y − ȳ)².
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fitRidge, ridgeScore } from "./ridge.ts";
 * const design = { xNK: [0, 1, 2], numColumns: 1 };
 * const fit = fitRidge(design, [2, 5, 8], [1, 1, 1], 0);
 * assert(Math.abs(ridgeScore(fit, design, [2, 5, 8], [1, 1, 1]) - 1) < 1e-12);
 * ```
 */
export function ridgeScore(
  fit: RidgeFit,
  design: Design,
  y: ArrayLike<number>,
  sampleWeight: ArrayLike<number>,
): number {
  const columns = columnsOf(design);
  let [totalWeight, yMean] = [0, 0];
  for (let i = 0; i < y.length; i++) {
    totalWeight += sampleWeight[i];
    yMean += sampleWeight[i] * y[i];
  }
  yMean /= totalWeight;
  let [residual, total] = [0, 0];
  for (let i = 0; i < y.length; i++) {
    let predicted = fit.intercept;
    columns.forEach((col, j) => predicted += fit.coef[j] * design.xNK[i * design.numColumns + col]);
    residual += sampleWeight[i] * (y[i] - predicted) ** 2;
    total += sampleWeight[i] * (y[i] - yMean) ** 2;
  }
  // scikit-learn's r2_score gives 1 for a perfect fit of a constant target, 0 otherwise.
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}
