/**
 * The plain-TypeScript F(2x2, 3x3) convolution that tests compare `winograd.ts`'s SIMD
 * kernels with: the same transforms in the same order, one float32 rounding per operation
 * (`Math.fround`), unblocked, on ordinary arrays. With the same matrix product the two agree
 * bit for bit.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { Sgemm } from "./openblas.ts";
import type { ClampRange } from "./winograd.ts";

const f = Math.fround;

/** [a, (a + b + d)/2, (a − b + d)/2, d]: G applied to three taps. */
function gRows(a: number, b: number, d: number): number[] {
  return [a, f(f(f(a + b) + d) * 0.5), f(f(f(a - b) + d) * 0.5), d];
}

/** Bᵀ applied to four values: [a0 − a2, a1 + a2, a2 − a1, a1 − a3]. */
function bRows(a: number[]): number[] {
  return [f(a[0] - a[2]), f(a[1] + a[2]), f(a[2] - a[1]), f(a[1] - a[3])];
}

/** Aᵀ applied to four values: [a0 + a1 + a2, a1 − a2 − a3]. */
function aRows(a: number[]): number[] {
  return [f(f(a[0] + a[1]) + a[2]), f(f(a[1] - a[2]) - a[3])];
}

/**
 * conv2d(x, filter) (+ bias) clamped to `clamp`, by F(2x2, 3x3), for a convolution
 * `winogradFits` accepts; NHWC in and out, HWIO filter.
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
): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: fo } = info;
  const { outHeight: ho, outWidth: wo, padInfo: { top, left } } = info;
  const tilesHigh = Math.ceil(ho / 2), tilesWide = Math.ceil(wo / 2);
  const tiles = n * tilesHigh * tilesWide;
  const input = (b: number, y: number, x: number, ch: number) =>
    y < 0 || y >= h || x < 0 || x >= w ? 0 : xNHWC[((b * h + y) * w + x) * c + ch];

  // U[ξν] (C x F) = G g Gᵀ: down the taps' rows first, then along them.
  const u = new Float32Array(16 * c * fo);
  for (let ch = 0; ch < c; ch++) {
    for (let o = 0; o < fo; o++) {
      const g = (r: number, s: number) => filterHWIO[((r * 3 + s) * c + ch) * fo + o];
      const columns = [0, 1, 2].map((s) => gRows(g(0, s), g(1, s), g(2, s)));
      for (let i = 0; i < 4; i++) {
        gRows(columns[0][i], columns[1][i], columns[2][i]).forEach((value, j) => {
          u[((i * 4 + j) * c + ch) * fo + o] = value;
        });
      }
    }
  }
  // V[ξν] (tiles x C) = Bᵀ d B: along each patch row first, then down the columns.
  const v = new Float32Array(16 * tiles * c);
  for (let t = 0; t < tiles; t++) {
    const b = Math.floor(t / (tilesHigh * tilesWide));
    const y0 = 2 * (Math.floor(t / tilesWide) % tilesHigh) - top;
    const x0 = 2 * (t % tilesWide) - left;
    for (let ch = 0; ch < c; ch++) {
      const rows = [0, 1, 2, 3].map((r) =>
        bRows([0, 1, 2, 3].map((q) => input(b, y0 + r, x0 + q, ch)))
      );
      for (let q = 0; q < 4; q++) {
        bRows(rows.map((row) => row[q])).forEach((value, r) => {
          v[((r * 4 + q) * tiles + t) * c + ch] = value;
        });
      }
    }
  }
  const m = new Float32Array(16 * tiles * fo);
  for (let e = 0; e < 16; e++) {
    sgemm(
      tiles,
      fo,
      c,
      v.subarray(e * tiles * c),
      c,
      u.subarray(e * c * fo),
      fo,
      0,
      m.subarray(e * tiles * fo),
      fo,
    );
  }
  // Y = Aᵀ m A: down the columns first, then along the rows; + bias, clamped.
  const out = new Float32Array(n * ho * wo * fo);
  for (let t = 0; t < tiles; t++) {
    const b = Math.floor(t / (tilesHigh * tilesWide));
    const y0 = 2 * (Math.floor(t / tilesWide) % tilesHigh), x0 = 2 * (t % tilesWide);
    for (let o = 0; o < fo; o++) {
      const at = (r: number, q: number) => m[((r * 4 + q) * tiles + t) * fo + o];
      const columns = [0, 1, 2, 3].map((q) => aRows([0, 1, 2, 3].map((r) => at(r, q))));
      for (let i = 0; i < 2; i++) {
        aRows(columns.map((column) => column[i])).forEach((value, j) => {
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
