/**
 * Ground-truth masks as the localisation metrics read them: one 0/1 value per pixel, 1 where the
 * evidence is (the synthetic set's lesion masks, Quantus's `s_batch`).
 *
 * @module
 */

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
 * import { maskArea } from "./masks.ts";
 * console.assert(maskArea(Uint8Array.of(0, 1, 1, 0)) === 2);
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
 * import { massInside } from "./masks.ts";
 * const m = massInside(Float32Array.of(1, 2, 3), Uint8Array.of(0, 1, 1));
 * console.assert(m.inside === 5 && m.total === 6);
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
 * import { hitsInTop } from "./masks.ts";
 * console.assert(hitsInTop(Int32Array.of(2, 0, 1), Uint8Array.of(0, 1, 1), 2) === 1);
 * ```
 */
export function hitsInTop(order: Int32Array, maskHW: Uint8Array, count: number): number {
  let hits = 0;
  for (let r = 0; r < Math.min(count, order.length); r++) if (maskHW[order[r]] !== 0) hits++;
  return hits;
}
