/**
 * The transforms of Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016), for output tiles of m = 2 and m = 4 pixels a side,
 * written once as evaluation orders over an {@link Arithmetic}: the wasm SIMD kernels
 * (`winograd.ts`) run them as instructions, the TypeScript reference (`winograd_reference.ts`)
 * with one float32 rounding per operation, and the tests in exact rationals. So the kernels and
 * the reference agree bit for bit by construction, and the tests check the matrices themselves.
 *
 * Each 1-D transform maps values along one axis of a tile; the 2-D ones apply it along rows and
 * columns. With α = m + 2 (the input patch a side):
 * - `g`: G (α x 3) applied to 3 filter taps;
 * - `b`: Bᵀ (α x α) applied to α input values;
 * - `a`: Aᵀ (m x α) applied to α products.
 *
 * F(2x2, 3x3) uses the interpolation points 0, ±1, ∞; F(4x4, 3x3) 0, ±1, ±2, ∞:
 * ```text
 *        [4  0 -5  0  1  0]        [ 1/4     0     0 ]
 *        [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]        [1  1  1  1  1  0]
 *   Bᵀ = [0  4 -4 -1  1  0]    G = [-1/6   1/6  -1/6 ]   Aᵀ = [0  1 -1  2 -2  0]
 *        [0 -2 -1  2  1  0]        [1/24  1/12   1/6 ]        [0  1  1  4  4  0]
 *        [0  2 -1 -2  1  0]        [1/24 -1/12   1/6 ]        [0  1 -1  8 -8  1]
 *        [0  4  0 -5  0  1]        [  0     0     1  ]
 * ```
 * (checked in exact rationals by `tests/winograd_test.ts`: Aᵀ[(G g) ⊙ (Bᵀ d)] is the 1-D
 * correlation of d with g).
 *
 * @module
 */

/**
 * The operations the transforms use, on values of type T: sums, differences and products with
 * a constant.
 */
export interface Arithmetic<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  /** a · k, for a constant k. */
  scale(a: T, k: number): T;
}

/** One variant's transforms: see the module notes. */
export interface WinogradTransforms {
  /** Output pixels a tile side: 2 or 4. */
  readonly m: number;
  /** Input pixels a patch side, m + 2. */
  readonly alpha: number;
  /** G applied to 3 taps: α values. */
  g<T>(taps: readonly T[], ar: Arithmetic<T>): T[];
  /** Bᵀ applied to α input values: α values. */
  b<T>(d: readonly T[], ar: Arithmetic<T>): T[];
  /** Aᵀ applied to α products: m values. */
  a<T>(p: readonly T[], ar: Arithmetic<T>): T[];
}

/** F(2x2, 3x3): points 0, ±1, ∞. G halves; Bᵀ and Aᵀ only add and subtract. */
const F2: WinogradTransforms = {
  m: 2,
  alpha: 4,
  g: ([g0, g1, g2], ar) => [
    g0,
    ar.scale(ar.add(ar.add(g0, g1), g2), 0.5),
    ar.scale(ar.add(ar.sub(g0, g1), g2), 0.5),
    g2,
  ],
  b: ([d0, d1, d2, d3], ar) => [ar.sub(d0, d2), ar.add(d1, d2), ar.sub(d2, d1), ar.sub(d1, d3)],
  a: ([p0, p1, p2, p3], ar) => [ar.add(ar.add(p0, p1), p2), ar.sub(ar.sub(p1, p2), p3)],
};

/**
 * F(4x4, 3x3): points 0, ±1, ±2, ∞. Shared partial sums (g0 + g2, d4 − d2, 2(d3 − d1), p1 ± p2,
 * p3 ± p4) are computed once; the scalings by 2, 4 and 8 are exact in floating point.
 */
const F4: WinogradTransforms = {
  m: 4,
  alpha: 6,
  g: ([g0, g1, g2], ar) => {
    const outer = ar.add(g0, g2);
    const ends = ar.add(ar.scale(g0, 1 / 24), ar.scale(g2, 1 / 6));
    const middle = ar.scale(g1, 1 / 12);
    return [
      ar.scale(g0, 1 / 4),
      ar.scale(ar.add(outer, g1), -1 / 6),
      ar.scale(ar.sub(outer, g1), -1 / 6),
      ar.add(ends, middle),
      ar.sub(ends, middle),
      g2,
    ];
  },
  b: ([d0, d1, d2, d3, d4, d5], ar) => {
    const odd = ar.scale(ar.sub(d3, d1), 2), even = ar.sub(d4, d2);
    return [
      ar.sub(ar.add(ar.scale(d0, 4), d4), ar.scale(d2, 5)),
      ar.sub(ar.add(d3, d4), ar.scale(ar.add(d1, d2), 4)),
      ar.add(ar.sub(d4, d3), ar.scale(ar.sub(d1, d2), 4)),
      ar.add(even, odd),
      ar.sub(even, odd),
      ar.sub(ar.add(ar.scale(d1, 4), d5), ar.scale(d3, 5)),
    ];
  },
  a: ([p0, p1, p2, p3, p4, p5], ar) => {
    const sum12 = ar.add(p1, p2), difference12 = ar.sub(p1, p2);
    const sum34 = ar.add(p3, p4), difference34 = ar.sub(p3, p4);
    return [
      ar.add(ar.add(p0, sum12), sum34),
      ar.add(difference12, ar.scale(difference34, 2)),
      ar.add(sum12, ar.scale(sum34, 4)),
      ar.add(ar.add(difference12, ar.scale(difference34, 8)), p5),
    ];
  },
};

/** Output pixels a Winograd tile side: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradTile = 2 | 4;

/**
 * The transforms of F(m x m, 3x3).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { winogradTransforms } from "./winograd_transforms.ts";
 * const exact = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b,
 *   scale: (a: number, k: number) => a * k };
 * const { g, b, a } = winogradTransforms(2);
 * // One output pixel pair: the correlation of [1, 2, 3, 4] with [1, 1, 1] is [6, 9].
 * const products = b([1, 2, 3, 4], exact).map((v, i) => v * g([1, 1, 1], exact)[i]);
 * assert.deepStrictEqual(a(products, exact), [6, 9]);
 * ```
 */
export function winogradTransforms(m: WinogradTile): WinogradTransforms {
  return m === 2 ? F2 : F4;
}
