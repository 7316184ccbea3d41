/**
 * The pixel-grid figure: the model's input image at its own resolution, and a zoomed crop of
 * it where every input pixel is a square with grid lines between them, so a reader sees how
 * coarsely a 2000 px report reaches a 128 or 224 px network.
 *
 * @module
 */
import type { GrayImage, RgbaImage } from "../../data/image.ts";
import { filledImage, type Rgb } from "../../data/synth/raster.ts";
import { fillRect, grayToRgba, magnifyNearest, strokeRect } from "./canvas.ts";
import type { SvgFigure } from "../../svg/figure.ts";
import { tileGrid } from "./tile_grid.ts";

/** Side of the zoomed crop in input pixels (less when the input is smaller). */
export const PIXEL_GRID_WINDOW_PX = 32;
/** Side of one magnified input pixel, its grid line included. */
export const PIXEL_GRID_CELL_PX = 16;
/** Colour of the grid lines and of the crop's frame on the overview. */
const GRID_LINE_RGB: Rgb = [120, 150, 210];
const CROP_FRAME_RGB: Rgb = [220, 30, 30];

/**
 * Top-left corner of the `windowPx` square with the most ink (the darkest sum), so the crop
 * shows trace rather than empty paper; the first such square in row-major order on ties.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { inkiestWindow } from "./pixel_grid.ts";
 * const data = new Uint8Array(16).fill(255);
 * data[2 * 4 + 3] = 0; // one black pixel at (3, 2)
 * const at = inkiestWindow({ widthPx: 4, heightPx: 4, data }, 2);
 * assert(at.xPx === 2 && at.yPx === 1);
 * ```
 */
export function inkiestWindow(image: GrayImage, windowPx: number): { xPx: number; yPx: number } {
  const { widthPx: w, heightPx: h } = image;
  // Summed-area table of ink (255 - grey), one row and column of zeros in front.
  const sums = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      sums[(y + 1) * (w + 1) + x + 1] = 255 - image.data[y * w + x] +
        sums[y * (w + 1) + x + 1] + sums[(y + 1) * (w + 1) + x] - sums[y * (w + 1) + x];
    }
  }
  let best = { xPx: 0, yPx: 0 }, bestInk = -1;
  for (let y = 0; y + windowPx <= h; y++) {
    for (let x = 0; x + windowPx <= w; x++) {
      const ink = sums[(y + windowPx) * (w + 1) + x + windowPx] -
        sums[y * (w + 1) + x + windowPx] - sums[(y + windowPx) * (w + 1) + x] +
        sums[y * (w + 1) + x];
      if (ink > bestInk) {
        bestInk = ink;
        best = { xPx: x, yPx: y };
      }
    }
  }
  return best;
}

/**
 * The `windowPx` square at (`xPx`, `yPx`) of `image`, each pixel a `cellPx` square framed by
 * one-pixel grid lines; `windowPx * cellPx + 1` pixels wide.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gridCrop } from "./pixel_grid.ts";
 * const crop = gridCrop({ widthPx: 2, heightPx: 2, data: new Uint8Array([0, 50, 100, 150]) }, 1, 0, 1, 4);
 * assert(crop.widthPx === 5 && crop.data[(2 * 5 + 2) * 4] === 50);
 * ```
 */
export function gridCrop(
  image: GrayImage,
  xPx: number,
  yPx: number,
  windowPx: number,
  cellPx: number,
): RgbaImage {
  const sidePx = windowPx * cellPx + 1;
  const crop = filledImage(sidePx, sidePx, GRID_LINE_RGB);
  for (let y = 0; y < windowPx; y++) {
    for (let x = 0; x < windowPx; x++) {
      const v = image.data[(yPx + y) * image.widthPx + xPx + x];
      fillRect(crop, x * cellPx + 1, y * cellPx + 1, cellPx - 1, cellPx - 1, [v, v, v]);
    }
  }
  return crop;
}

/**
 * The figure: the whole input (magnified by a whole factor to about the crop's height, the
 * crop framed in red) beside the zoomed crop with grid lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pixelGridFigure } from "./pixel_grid.ts";
 * const image = { widthPx: 16, heightPx: 16, data: new Uint8Array(256).map((_, i) => i) };
 * const figure = pixelGridFigure(image, "test/A/a");
 * assert(figure.widthPx > 16 * 16);
 * ```
 */
export function pixelGridFigure(image: GrayImage, sampleId: string): SvgFigure {
  const windowPx = Math.min(PIXEL_GRID_WINDOW_PX, image.widthPx, image.heightPx);
  const { xPx, yPx } = inkiestWindow(image, windowPx);
  const crop = gridCrop(image, xPx, yPx, windowPx, PIXEL_GRID_CELL_PX);
  const factor = Math.max(1, Math.floor(crop.heightPx / Math.max(image.widthPx, image.heightPx)));
  const overview = magnifyNearest(grayToRgba(image), factor);
  strokeRect(
    overview,
    xPx * factor,
    yPx * factor,
    windowPx * factor,
    windowPx * factor,
    2,
    CROP_FRAME_RGB,
  );
  const size = `${image.widthPx} x ${image.heightPx}`;
  return tileGrid({
    title: [`What the model sees: ${size} px input`, sampleId],
    rows: [[
      {
        image: overview,
        pixelated: true,
        caption: [`whole input, shown ${factor}x`, "red frame: the crop"],
      },
      {
        image: crop,
        pixelated: true,
        caption: [`${windowPx} x ${windowPx} px at (${xPx}, ${yPx})`, "1 square = 1 input pixel"],
      },
    ]],
  }).image;
}
