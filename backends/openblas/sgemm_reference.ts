/**
 * The plain-TypeScript matrix product that tests compare OpenBLAS's `cblas_sgemm` with, and that
 * lets `conv2dByGemm`'s layout logic be tested on machines without OpenBLAS.
 *
 * @module
 */
import type { Sgemm } from "./openblas.ts";

/**
 * {@link Sgemm} as three loops, accumulating in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * const c = Float32Array.of(1);
 * referenceSgemm(1, 1, 2, Float32Array.of(1, 2), 2, Float32Array.of(3, 4), 1, 1, c, 1);
 * assert(c[0] === 12);
 * ```
 */
export const referenceSgemm: Sgemm = (
  m,
  n,
  k,
  a,
  lda,
  b,
  ldb,
  beta,
  c,
  ldc,
  transposeA,
  transposeB,
) => {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = beta === 1 ? c[i * ldc + j] : 0;
      for (let p = 0; p < k; p++) {
        const aValue = transposeA ? a[p * lda + i] : a[i * lda + p];
        sum += aValue * (transposeB ? b[j * ldb + p] : b[p * ldb + j]);
      }
      c[i * ldc + j] = sum;
    }
  }
};
