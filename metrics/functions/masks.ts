/**
 * Ground-truth masks as the localisation metrics read them: one 0/1 value per pixel, 1 where the
 * evidence is (the synthetic set's lesion masks, Quantus's `s_batch`).
 *
 * @module
 */
import { imageSlice, type MetricResult, type PreparedBatch, scoreEachMap } from "../metric.ts";

/**
 * Why a localisation score is NaN for an image whose mask has no pixel: there is no evidence the
 * explanation could point at.
 */
export const EMPTY_MASK_REASON =
  "the ground-truth mask of this image is empty, so there is no evidence to localise";

/**
 * How many pixels of one image's mask are inside (non-zero).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { maskArea } from "./masks.ts";
 * assert(maskArea(Uint8Array.of(0, 1, 1, 0)) === 2);
 * ```
 */
export function maskArea(maskHW: Uint8Array): number {
  let count = 0;
  for (let j = 0; j < maskHW.length; j++) if (maskHW[j] !== 0) count++;
  return count;
}

/**
 * The sum of the attributions inside the mask and over the whole image (float64).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { massInside } from "./masks.ts";
 * const m = massInside(Float32Array.of(1, 2, 3), Uint8Array.of(0, 1, 1));
 * assert(m.inside === 5 && m.total === 6);
 * ```
 */
export function massInside(
  valuesHW: Float32Array,
  maskHW: Uint8Array,
): { inside: number; total: number } {
  let inside = 0, total = 0;
  for (let j = 0; j < valuesHW.length; j++) {
    total += valuesHW[j];
    if (maskHW[j] !== 0) inside += valuesHW[j];
  }
  return { inside, total };
}

/**
 * How many of the first `count` pixels of `order` lie inside the mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { hitsInTop } from "./masks.ts";
 * assert(hitsInTop(Int32Array.of(2, 0, 1), Uint8Array.of(0, 1, 1), 2) === 1);
 * ```
 */
export function hitsInTop(order: Int32Array, maskHW: Uint8Array, count: number): number {
  let hits = 0;
  for (let r = 0; r < Math.min(count, order.length); r++) if (maskHW[order[r]] !== 0) hits++;
  return hits;
}

/** What a localisation metric computes for one image. */
export type MaskedScore = (
  valuesHW: Float32Array,
  maskHW: Uint8Array,
  area: number,
  image: number,
) => number | { score: number; reason?: string };

/**
 * The loop every localisation metric shares: scores each image's prepared map with its mask; an
 * image whose mask is empty gets NaN with {@link EMPTY_MASK_REASON} unless `emptyMask` says what
 * to return instead. The batch must hold masks (a metric that `needs` them is checked for them).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { prepareBatch } from "../metric.ts";
 * import { scoreEachMask } from "./masks.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [2, 1, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(1, 2, 3, 4), masksNHW: Uint8Array.of(0, 1, 0, 0),
 * };
 * const params = { abs: false, normalise: false, quantusCompat: false };
 * const r = await scoreEachMask(prepareBatch(batch, params), (v, mask) => v[mask.indexOf(1)]);
 * assert(r.scores[0] === 2 && Number.isNaN(r.scores[1]) && r.reasons[1] !== undefined);
 * ```
 */
export function scoreEachMask(
  prepared: PreparedBatch,
  score: MaskedScore,
  emptyMask?: () => number,
): Promise<MetricResult> {
  const { batch, pixels } = prepared;
  return scoreEachMap(prepared, (map, i) => {
    const mask = imageSlice(batch.masksNHW!, i, pixels);
    const area = maskArea(mask);
    if (area === 0) return emptyMask ? emptyMask() : { score: NaN, reason: EMPTY_MASK_REASON };
    return score(map, mask, area, i);
  });
}
