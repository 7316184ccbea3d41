/**
 * Text on figures with the project's own 5x7 bitmap font (`data/synth/bitmap_font.ts`): the
 * same pixels on every machine and no font files to ship. Each font cell is a square of
 * `cellPx` pixels, so `cellPx` 2 gives 14 px capitals.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import {
  ADVANCE_CELLS,
  CAP_HEIGHT_CELLS,
  hasGlyph,
  textRuns,
  textWidthCells,
} from "../../data/synth/bitmap_font.ts";
import type { Rgb } from "../../data/synth/raster.ts";
import { fillRect } from "./canvas.ts";

/** Rows of one text line including descenders and a gap, in font cells. */
export const LINE_HEIGHT_CELLS = CAP_HEIGHT_CELLS + 4;

/**
 * `text` with every character the font lacks replaced by `?`, so that a file or class name
 * with an unusual character still labels its figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { printable } from "./text.ts";
 * assert(printable("MI@1") === "MI?1");
 * ```
 */
export function printable(text: string): string {
  return [...text].map((c) => c.length === 1 && hasGlyph(c) ? c : "?").join("");
}

/**
 * Width of `text` drawn with `cellPx`, in pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { textWidthPx } from "./text.ts";
 * assert(textWidthPx("AB", 2) === 22);
 * ```
 */
export function textWidthPx(text: string, cellPx: number): number {
  return textWidthCells(printable(text)) * cellPx;
}

/**
 * Height of one text line drawn with `cellPx` (capitals, descenders and spacing), in pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lineHeightPx } from "./text.ts";
 * assert(lineHeightPx(2) === 22);
 * ```
 */
export function lineHeightPx(cellPx: number): number {
  return LINE_HEIGHT_CELLS * cellPx;
}

/**
 * The longest prefix of `text` (ending in `..` when cut) that fits in `maxWidthPx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { truncateToWidth } from "./text.ts";
 * assert(truncateToWidth("abcdefgh", 2, 6 * 2 * 5) === "abc..");
 * ```
 */
export function truncateToWidth(text: string, cellPx: number, maxWidthPx: number): string {
  const fits = Math.floor((maxWidthPx / cellPx + 1) / ADVANCE_CELLS);
  return text.length <= fits
    ? text
    : fits < 3
    ? text.slice(0, fits)
    : `${text.slice(0, fits - 2)}..`;
}

/**
 * Draws `text` with its top-left (top of the capitals) at (`xPx`, `yPx`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { drawText } from "./text.ts";
 * const image = filledImage(12, 8, [255, 255, 255]);
 * drawText(image, "-", 0, 0, 1, [0, 0, 0]);
 * assert(image.data[(3 * 12 + 1) * 4] === 0); // the dash's middle row
 * ```
 */
export function drawText(
  image: RgbaImage,
  text: string,
  xPx: number,
  yPx: number,
  cellPx: number,
  rgb: Rgb,
): void {
  for (const run of textRuns(printable(text))) {
    fillRect(
      image,
      xPx + run.xCell * cellPx,
      yPx + run.yCell * cellPx,
      run.lengthCells * cellPx,
      cellPx,
      rgb,
    );
  }
}
