/**
 * Pixel operations on the pictures figures show: rectangles, nearest-neighbour magnification,
 * shrinking to fit a box, grey to RGBA. The figures themselves are composed as SVG
 * (`svg/figure.ts`); these prepare the rasters they embed.
 *
 * @module
 */
import type { GrayImage, RgbaImage } from "../../data/image.ts";
import { resizeRgba } from "../../data/resize.ts";
import type { Rgb } from "../../data/synth/raster.ts";

/**
 * Paints the rectangle with top-left (`xPx`, `yPx`) in `rgb`, clipped to the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { fillRect } from "./canvas.ts";
 * const image = filledImage(4, 4, [255, 255, 255]);
 * fillRect(image, 1, 1, 10, 1, [0, 0, 0]);
 * assert(image.data[(1 * 4 + 3) * 4] === 0 && image.data[0] === 255);
 * ```
 */
export function fillRect(
  image: RgbaImage,
  xPx: number,
  yPx: number,
  widthPx: number,
  heightPx: number,
  rgb: Rgb,
): void {
  const left = Math.max(0, Math.round(xPx)), top = Math.max(0, Math.round(yPx));
  const right = Math.min(image.widthPx, Math.round(xPx + widthPx));
  const bottom = Math.min(image.heightPx, Math.round(yPx + heightPx));
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const i = (y * image.widthPx + x) * 4;
      image.data[i] = rgb[0];
      image.data[i + 1] = rgb[1];
      image.data[i + 2] = rgb[2];
      image.data[i + 3] = 255;
    }
  }
}

/**
 * Draws a rectangle's outline `thicknessPx` wide, inside the rectangle.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { strokeRect } from "./canvas.ts";
 * const image = filledImage(5, 5, [255, 255, 255]);
 * strokeRect(image, 0, 0, 5, 5, 1, [255, 0, 0]);
 * assert(image.data[1] === 0 && image.data[(2 * 5 + 2) * 4 + 1] === 255);
 * ```
 */
export function strokeRect(
  image: RgbaImage,
  xPx: number,
  yPx: number,
  widthPx: number,
  heightPx: number,
  thicknessPx: number,
  rgb: Rgb,
): void {
  fillRect(image, xPx, yPx, widthPx, thicknessPx, rgb);
  fillRect(image, xPx, yPx + heightPx - thicknessPx, widthPx, thicknessPx, rgb);
  fillRect(image, xPx, yPx, thicknessPx, heightPx, rgb);
  fillRect(image, xPx + widthPx - thicknessPx, yPx, thicknessPx, heightPx, rgb);
}

/**
 * Each pixel becomes a `factor` x `factor` block (nearest neighbour): pixels stay visible as
 * pixels, which is the point of showing what a model sees.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { magnifyNearest } from "./canvas.ts";
 * const big = magnifyNearest({ widthPx: 1, heightPx: 1, data: new Uint8Array([1, 2, 3, 255]) }, 3);
 * assert(big.widthPx === 3 && big.data[8 * 4] === 1);
 * ```
 */
export function magnifyNearest(image: RgbaImage, factor: number): RgbaImage {
  const widthPx = image.widthPx * factor, heightPx = image.heightPx * factor;
  const data = new Uint8Array(widthPx * heightPx * 4);
  for (let y = 0; y < heightPx; y++) {
    const sourceRow = Math.floor(y / factor) * image.widthPx;
    for (let x = 0; x < widthPx; x++) {
      const from = (sourceRow + Math.floor(x / factor)) * 4;
      data.set(image.data.subarray(from, from + 4), (y * widthPx + x) * 4);
    }
  }
  return { widthPx, heightPx, data };
}

/**
 * `image` shrunk (never enlarged) to fit in `maxWidthPx` x `maxHeightPx`, aspect kept. The
 * resampling is PIL-style bilinear with a support that widens with the shrink factor, which
 * averages over the source pixels so thin ECG traces stay lines instead of breaking into dots.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { fitWithin } from "./canvas.ts";
 * const small = fitWithin(filledImage(400, 100, [0, 0, 0]), 200, 200);
 * assert(small.widthPx === 200 && small.heightPx === 50);
 * ```
 */
export function fitWithin(image: RgbaImage, maxWidthPx: number, maxHeightPx: number): RgbaImage {
  const scale = Math.min(1, maxWidthPx / image.widthPx, maxHeightPx / image.heightPx);
  if (scale === 1) return image;
  const widthPx = Math.max(1, Math.round(image.widthPx * scale));
  const heightPx = Math.max(1, Math.round(image.heightPx * scale));
  return resizeRgba(image, widthPx, heightPx);
}

/**
 * An opaque RGBA copy of a grey image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { grayToRgba } from "./canvas.ts";
 * const rgba = grayToRgba({ widthPx: 1, heightPx: 1, data: new Uint8Array([7]) });
 * assert(rgba.data.join() === "7,7,7,255");
 * ```
 */
export function grayToRgba(image: GrayImage): RgbaImage {
  const data = new Uint8Array(image.data.length * 4);
  for (let i = 0; i < image.data.length; i++) {
    data[i * 4] = data[i * 4 + 1] = data[i * 4 + 2] = image.data[i];
    data[i * 4 + 3] = 255;
  }
  return { widthPx: image.widthPx, heightPx: image.heightPx, data };
}
