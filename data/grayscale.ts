/**
 * RGB(A) to 8-bit grey exactly as PIL's `Image.convert("L")`.
 *
 * PIL computes the ITU-R 601-2 luma L = R·299/1000 + G·587/1000 + B·114/1000 in 16-bit
 * fixed point: L = (R·19595 + G·38470 + B·7471 + 32768) >> 16, the weights being the
 * decimal ones times 65536, rounded so they sum to 65536 (white stays 255). Alpha is
 * ignored, as PIL's RGBA to L conversion ignores it.
 *
 * @module
 */
import type { GrayImage, RgbaImage } from "./image.ts";

/**
 * PIL's luma of one 8-bit RGB triple.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lumaPil } from "./grayscale.ts";
 * assert(lumaPil(255, 255, 255) === 255);
 * assert(lumaPil(255, 0, 0) === 76); // 255 * 0.299 = 76.2
 * ```
 */
export function lumaPil(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 32768) >> 16;
}

/**
 * Converts an RGBA image to grey with {@link lumaPil}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rgbaToGray } from "./grayscale.ts";
 * const gray = rgbaToGray({ widthPx: 2, heightPx: 1, data: new Uint8Array([0, 0, 255, 255, 0, 255, 0, 0]) });
 * assert(gray.data.join() === "29,150");
 * ```
 */
export function rgbaToGray(image: RgbaImage): GrayImage {
  const { widthPx, heightPx, data } = image;
  const out = new Uint8Array(widthPx * heightPx);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) {
    out[i] = lumaPil(data[j], data[j + 1], data[j + 2]);
  }
  return { widthPx, heightPx, data: out };
}
