/**
 * Focus (Arias-Duart et al., "Focus! Rating XAI Methods and Finding Biases", 2022): on a 2x2
 * mosaic of images, some of the target class and some not, the share of the positive attribution
 * that falls on the quadrants holding an image of the target class:
 *
 *     focus = Σ_{p in target quadrants} max(a_p, 0) / Σ_p max(a_p, 0).
 *
 * Higher is better (1: all relevance on the right images). The batch holds the mosaics and
 * `mosaicQuadrantsN4` says which quadrants hold the target class (Quantus's `custom_batch`); the
 * quadrants split each mosaic at H/2 and W/2 (rounded down). A batch without that field, or a map
 * with no positive attribution, gives NaN with the reason.
 *
 * `quantusCompat` divides by Σ max(a, 0) + 1e-9 as Quantus does (0 for a map with no positive
 * attribution) and normalises by the largest |a| of the whole batch.
 *
 * @module
 */
import { allNaN, commonFromQuantus, defineMetric, scoreEachMap } from "../metric.ts";

/** Quantus's guard against a map without positive attribution. */
const QUANTUS_EPSILON = 1e-9;

/**
 * The share of `mapHW`'s positive mass in the quadrants `quadrants` marks (top-left, top-right,
 * bottom-left, bottom-right), beside the positive mass itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { targetQuadrantMass } from "./focus.ts";
 * // A 2x2 map: one pixel per quadrant.
 * const { inTarget, total } = targetQuadrantMass(Float32Array.of(1, 3, -2, 4), 2, 2, [0, 1, 1, 0]);
 * assert(inTarget === 3 && total === 8);
 * ```
 */
export function targetQuadrantMass(
  mapHW: Float32Array,
  h: number,
  w: number,
  quadrants: ArrayLike<number>,
): { inTarget: number; total: number } {
  const [midRow, midCol] = [Math.floor(h / 2), Math.floor(w / 2)];
  let inTarget = 0, total = 0;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const v = Math.max(mapHW[row * w + col], 0);
      total += v;
      if (quadrants[(row < midRow ? 0 : 2) + (col < midCol ? 0 : 1)]) inTarget += v;
    }
  }
  return { inTarget, total };
}

/**
 * Quantus's float32 arithmetic: Σ(v · mask) / (Σ v + 1e-9) with v = max(a, 0), both sums numpy's
 * pairwise float32 sums over the whole map, so the result is Quantus's to the last bit.
 */
function quantusFocus(
  mapHW: Float32Array,
  h: number,
  w: number,
  quadrants: ArrayLike<number>,
): number {
  const [midRow, midCol] = [Math.floor(h / 2), Math.floor(w / 2)];
  const positive = mapHW.map((v) => Math.max(v, 0));
  const inTarget = positive.map((v, p) => {
    const [row, col] = [Math.floor(p / w), p % w];
    return quadrants[(row < midRow ? 0 : 2) + (col < midCol ? 0 : 1)] ? v : 0;
  });
  const total = Math.fround(numpyFloat32Sum(positive) + QUANTUS_EPSILON);
  return Math.fround(numpyFloat32Sum(inTarget) / total);
}

/** numpy's unrolled block of its pairwise summation. */
const NUMPY_BLOCK = 128;

/**
 * `np.sum` of a contiguous float32 array as numpy computes it: pairwise, blocks of up to 128
 * summed with eight float32 accumulators.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { numpyFloat32Sum } from "./focus.ts";
 * assert(numpyFloat32Sum(Float32Array.of(1, 2, 3)) === 6);
 * ```
 */
export function numpyFloat32Sum(values: Float32Array): number {
  const n = values.length;
  const f = Math.fround;
  if (n < 8) {
    let sum = -0;
    for (const v of values) sum = f(sum + v);
    return sum;
  }
  if (n <= NUMPY_BLOCK) {
    const r = Array.from(values.subarray(0, 8));
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let k = 0; k < 8; k++) r[k] = f(r[k] + values[i + k]);
    }
    let sum = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) sum = f(sum + values[i]);
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return f(numpyFloat32Sum(values.subarray(0, half)) + numpyFloat32Sum(values.subarray(half)));
}

/**
 * Focus with Quantus's defaults (normalise on, abs off, logits).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { FOCUS } from "./focus.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(1, 3, -2, 4),
 *   mosaicQuadrantsN4: Uint8Array.of(1, 0, 0, 1), // top-left and bottom-right hold the class
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await FOCUS.evaluate(context, batch, FOCUS.defaults);
 * assert(Math.abs(r.scores[0] - 5 / 8) < 1e-12);
 * const without = await FOCUS.evaluate(context, { ...batch, mosaicQuadrantsN4: undefined }, FOCUS.defaults);
 * assert(Number.isNaN(without.scores[0]) && without.reasons[0]);
 * ```
 */
export const FOCUS = defineMetric({
  name: "focus",
  quantusName: "Focus",
  category: "localisation",
  direction: "higher",
  paper: "Arias-Duart et al. 2022, Focus! Rating XAI Methods and Finding Biases",
  description: "share of positive attribution on the mosaic quadrants holding the target class",
  needs: ["mosaics"],
  defaults: { abs: false, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus: commonFromQuantus,
  score(_context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w] = batch.shapeNHWC;
    const quadrants = batch.mosaicQuadrantsN4;
    if (!quadrants) {
      return allNaN(
        n,
        "focus needs 2x2 mosaics with the quadrants holding the target class " +
          "(MetricBatch.mosaicQuadrantsN4, Quantus's custom_batch)",
      );
    }
    if (quadrants.length !== 4 * n) {
      return allNaN(
        n,
        `mosaicQuadrantsN4 has ${quadrants.length} values; ${n} mosaics need ${4 * n}`,
      );
    }
    return scoreEachMap(prepared, (map, i) => {
      const quadrantsOfMap = quadrants.subarray(4 * i, 4 * i + 4);
      if (params.quantusCompat) return quantusFocus(map, h, w, quadrantsOfMap);
      const { inTarget, total } = targetQuadrantMass(map, h, w, quadrantsOfMap);
      if (total === 0) return { score: NaN, reason: "the map has no positive attribution" };
      return inTarget / total;
    });
  },
  toQuantus: (result) => Array.from(result.scores),
});
