/**
 * The plain-TypeScript F(m x m, 3x3) convolution (m = 2 or 4) that tests compare `winograd.ts`'s
 * SIMD kernels with: the same transforms (`winograd_transforms.ts`) in the same order, one
 * float32 rounding per operation (`Math.fround`), unblocked, on ordinary arrays. With the same
 * matrix product the two agree bit for bit.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { Sgemm } from "./openblas.ts";
import type { ClampRange } from "./winograd.ts";
import { type Arithmetic, type WinogradTile, winogradTransforms } from "./winograd_transforms.ts";

const f = Math.fround;

/** Float32 arithmetic: one rounding per operation, constants rounded as the kernels splat them. */
const float32: Arithmetic<number> = {
  add: (a, b) => f(a + b),
  sub: (a, b) => f(a - b),
  scale: (a, k) => f(a * f(k)),
};

/**
 * conv2d(x, filter) (+ bias) clamped to `clamp`, by F(m x m, 3x3) with tiles of `m` = 2 (the
 * default) or 4 pixels a side, for a convolution `winogradFits` accepts; NHWC in and out, HWIO
 * filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { winogradReference } from "./winograd_reference.ts";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * const info = tf.backend_util.computeConv2DInfo([1, 4, 4, 16], [3, 3, 16, 16], 1, 1, "same");
 * const out = winogradReference(
 *   referenceSgemm,
 *   info,
 *   new Float32Array(256).fill(1),
 *   new Float32Array(9 * 256).fill(1),
 * );
 * assert(out[0] === 64 && out[5 * 16] === 144);
 * ```
 */
export function winogradReference(
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  xNHWC: Float32Array,
  filterHWIO: Float32Array,
  bias?: Float32Array,
  [lo, hi]: ClampRange = [-Infinity, Infinity],
  m: WinogradTile = 2,
): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: fo } = info;
  const { outHeight: ho, outWidth: wo, padInfo: { top, left } } = info;
  const { alpha, g: gOf, b: bOf, a: aOf } = winogradTransforms(m);
  const planes = alpha * alpha, indices = [...Array(alpha).keys()];
  const tilesHigh = Math.ceil(ho / m), tilesWide = Math.ceil(wo / m);
  const tiles = n * tilesHigh * tilesWide;
  const input = (b: number, y: number, x: number, ch: number) =>
    y < 0 || y >= h || x < 0 || x >= w ? 0 : xNHWC[((b * h + y) * w + x) * c + ch];

  // U[ξν] (C x F) = G g Gᵀ: down the taps' rows first, then along them.
  const u = new Float32Array(planes * c * fo);
  for (let ch = 0; ch < c; ch++) {
    for (let o = 0; o < fo; o++) {
      const g = (r: number, s: number) => filterHWIO[((r * 3 + s) * c + ch) * fo + o];
      const columns = [0, 1, 2].map((s) => gOf([g(0, s), g(1, s), g(2, s)], float32));
      for (let i = 0; i < alpha; i++) {
        gOf(columns.map((column) => column[i]), float32).forEach((value, j) => {
          u[((i * alpha + j) * c + ch) * fo + o] = value;
        });
      }
    }
  }
  // V[ξν] (tiles x C) = Bᵀ d B: along each patch row first, then down the columns.
  const v = new Float32Array(planes * tiles * c);
  for (let t = 0; t < tiles; t++) {
    const b = Math.floor(t / (tilesHigh * tilesWide));
    const y0 = m * (Math.floor(t / tilesWide) % tilesHigh) - top;
    const x0 = m * (t % tilesWide) - left;
    for (let ch = 0; ch < c; ch++) {
      const rows = indices.map((r) =>
        bOf(indices.map((q) => input(b, y0 + r, x0 + q, ch)), float32)
      );
      for (let q = 0; q < alpha; q++) {
        bOf(rows.map((row) => row[q]), float32).forEach((value, r) => {
          v[((r * alpha + q) * tiles + t) * c + ch] = value;
        });
      }
    }
  }
  const products = new Float32Array(planes * tiles * fo);
  for (let e = 0; e < planes; e++) {
    sgemm(
      tiles,
      fo,
      c,
      v.subarray(e * tiles * c),
      c,
      u.subarray(e * c * fo),
      fo,
      0,
      products.subarray(e * tiles * fo),
      fo,
    );
  }
  // Y = Aᵀ M A: down the columns first, then along the rows; + bias, clamped.
  const out = new Float32Array(n * ho * wo * fo);
  for (let t = 0; t < tiles; t++) {
    const b = Math.floor(t / (tilesHigh * tilesWide));
    const y0 = m * (Math.floor(t / tilesWide) % tilesHigh), x0 = m * (t % tilesWide);
    for (let o = 0; o < fo; o++) {
      const at = (r: number, q: number) => products[((r * alpha + q) * tiles + t) * fo + o];
      const columns = indices.map((q) => aOf(indices.map((r) => at(r, q)), float32));
      for (let i = 0; i < m; i++) {
        aOf(columns.map((column) => column[i]), float32).forEach((value, j) => {
          const y = y0 + i, x = x0 + j;
          if (y >= ho || x >= wo) return;
          const biased = f(value + (bias ? bias[o] : 0));
          out[((b * ho + y) * wo + x) * fo + o] = Math.min(Math.max(biased, lo), hi);
        });
      }
    }
  }
  return out;
}
