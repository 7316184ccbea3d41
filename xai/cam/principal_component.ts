/**
 * The projection of a matrix's rows on their first principal component, as EigenCAM needs it:
 * centre the columns of X [rows, cols], take the leading right singular vector v of the
 * centred X_c, and return X_c v. Computed from the smaller of the two Gram matrices (X_c X_cᵀ
 * or X_cᵀ X_c, whose leading eigenvector gives the same projection) with the cyclic Jacobi
 * eigenvalue method in float64: no library, robust for any spectrum, and cheap for the sizes of
 * a CNN layer (min(h·w, C) ≤ a few hundred).
 *
 * @module
 */

/** Off-diagonal mass, relative to the matrix's, below which Jacobi sweeps stop. */
const JACOBI_TOLERANCE = 1e-26;
/** Cyclic Jacobi converges quadratically; 50 sweeps is never reached in practice. */
const MAX_JACOBI_SWEEPS = 50;

/**
 * The leading eigenvalue and eigenvector of a symmetric matrix `a` [n, n] (row-major; it is
 * overwritten), by cyclic Jacobi rotations.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { leadingEigenpair } from "./principal_component.ts";
 * const { value, vector } = leadingEigenpair(Float64Array.from([2, 1, 1, 2]), 2);
 * assert(Math.abs(value - 3) < 1e-12 && Math.abs(Math.abs(vector[0]) - Math.SQRT1_2) < 1e-12);
 * ```
 */
export function leadingEigenpair(
  a: Float64Array,
  n: number,
): { value: number; vector: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < MAX_JACOBI_SWEEPS; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= JACOBI_TOLERANCE * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p, q] (Golub and Van Loan, algorithm 8.5.1).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i * n + i] > a[best * n + best]) best = i;
  return {
    value: a[best * n + best],
    vector: Float64Array.from({ length: n }, (_, k) => v[k * n + best]),
  };
}

/**
 * X_c v for X [rows, cols] (row-major): the rows' coordinates on the first principal axis v of
 * the column-centred X_c (pytorch-grad-cam's `get_2d_projection`). The sign of a singular
 * vector is arbitrary (numpy's depends on LAPACK's internals); here v is oriented so that
 * Σ_j v_j ≥ 0, which is the same as making the projection correlate positively with the
 * centred row sums of X. For EigenCAM (rows = pixels, cols = channels) that means the
 * projection grows where the layer's total activation grows, so the ReLU that follows keeps
 * the active region rather than its complement. An all-constant X projects to zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { firstPrincipalProjection } from "./principal_component.ts";
 * // Points on the line y = 2x around (2, 4): the axis is (1, 2)/√5, pointing up.
 * const p = firstPrincipalProjection(Float32Array.from([1, 2, 2, 4, 3, 6]), 3, 2);
 * assert(Math.abs(p[0] + Math.sqrt(5)) < 1e-9 && Math.abs(p[2] - Math.sqrt(5)) < 1e-9);
 * ```
 */
export function firstPrincipalProjection(
  matrix: ArrayLike<number>,
  rows: number,
  cols: number,
): Float64Array {
  const centred = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += matrix[i * cols + j];
    mean /= rows;
    for (let i = 0; i < rows; i++) centred[i * cols + j] = matrix[i * cols + j] - mean;
  }
  const projection = new Float64Array(rows);
  let orientation = 0;
  if (rows <= cols) {
    // X_c X_cᵀ u = σ² u and X_c v = σ u: the projection is σ u, oriented by u · X_c 1 = σ Σ v.
    const gram = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) {
      for (let k = i; k < rows; k++) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += centred[i * cols + j] * centred[k * cols + j];
        gram[i * rows + k] = gram[k * rows + i] = dot;
      }
    }
    const { value, vector } = leadingEigenpair(gram, rows);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let i = 0; i < rows; i++) {
      projection[i] = sigma * vector[i];
      for (let j = 0; j < cols; j++) orientation += vector[i] * centred[i * cols + j];
    }
  } else {
    const gram = new Float64Array(cols * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const x = centred[i * cols + j];
        if (x === 0) continue;
        for (let k = j; k < cols; k++) gram[j * cols + k] += x * centred[i * cols + k];
      }
    }
    for (let j = 0; j < cols; j++) {
      for (let k = 0; k < j; k++) gram[j * cols + k] = gram[k * cols + j];
    }
    const { vector } = leadingEigenpair(gram, cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) projection[i] += centred[i * cols + j] * vector[j];
    }
    orientation = vector.reduce((sum, x) => sum + x, 0);
  }
  if (orientation < 0) { for (let i = 0; i < rows; i++) projection[i] = -projection[i]; }
  return projection;
}
