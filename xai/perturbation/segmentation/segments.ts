/**
 * A superpixel segmentation: one label per pixel, labels 0..count−1 with none unused.
 *
 * @module
 */

/** Superpixels of one image. */
export interface Segments {
  /** [H, W] row-major, the segment of each pixel, 0..count−1. */
  labelsHW: Int32Array;
  heightPx: number;
  widthPx: number;
  /** K, the number of segments; every label below it occurs. */
  count: number;
}

/**
 * Renumbers arbitrary integer labels to 0..K−1 in increasing order of the old label (as
 * `np.unique(labels, return_inverse=True)` does), so no label is unused.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { relabelContiguous } from "./segments.ts";
 * const s = relabelContiguous(Int32Array.of(7, 7, 3, 9), 2, 2);
 * assert(s.labelsHW.join() === "1,1,0,2" && s.count === 3);
 * ```
 */
export function relabelContiguous(
  labelsHW: Int32Array,
  heightPx: number,
  widthPx: number,
): Segments {
  const sorted = Int32Array.from(new Set(labelsHW)).sort();
  const newLabel = new Map<number, number>();
  sorted.forEach((old, i) => newLabel.set(old, i));
  return {
    labelsHW: labelsHW.map((old) => newLabel.get(old)!),
    heightPx,
    widthPx,
    count: sorted.length,
  };
}
