/**
 * The plainest segmentation: square cells of `cellSizePx`, numbered row by row; the last row
 * and column of cells are cut short where the image size is not a multiple.
 *
 * @module
 */
import { InputError } from "../../../core/errors.ts";
import type { Segments } from "./segments.ts";

/** Options of {@link gridSegments}. */
export interface GridOptions {
  /** Side of a cell in pixels; default 16. */
  cellSizePx?: number;
}

/**
 * Cells of `cellSizePx` x `cellSizePx`: pixel (r, c) gets label
 * ⌊r / s⌋ · ⌈W / s⌉ + ⌊c / s⌋.
 *
 * @throws {InputError} when `cellSizePx` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gridSegments } from "./grid.ts";
 * const s = gridSegments(3, 3, { cellSizePx: 2 });
 * assert(s.labelsHW.join() === "0,0,1,0,0,1,2,2,3" && s.count === 4);
 * ```
 */
export function gridSegments(
  heightPx: number,
  widthPx: number,
  options: GridOptions = {},
): Segments {
  const cellSizePx = options.cellSizePx ?? 16;
  if (!Number.isInteger(cellSizePx) || cellSizePx < 1) {
    throw new InputError(
      `grid segmentation: cellSizePx must be an integer >= 1, got ${cellSizePx}`,
    );
  }
  const columns = Math.ceil(widthPx / cellSizePx);
  const labelsHW = new Int32Array(heightPx * widthPx);
  for (let r = 0; r < heightPx; r++) {
    for (let c = 0; c < widthPx; c++) {
      labelsHW[r * widthPx + c] = Math.floor(r / cellSizePx) * columns +
        Math.floor(c / cellSizePx);
    }
  }
  return { labelsHW, heightPx, widthPx, count: Math.ceil(heightPx / cellSizePx) * columns };
}
