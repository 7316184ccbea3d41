/**
 * Ground-truth evidence masks at the model's input size, for the localisation metrics.
 *
 * @module
 */
import { readImageFile } from "./decode_image.ts";
import type { GrayImage } from "./image.ts";
import { rgbaToGray } from "./grayscale.ts";

/** A source mask pixel is evidence when its grey value reaches this (half of 255). */
export const MASK_THRESHOLD = 128;

/**
 * Reads a mask image and shrinks it to `sizePx` x `sizePx` the way the images are (stretched to
 * the square): 1 where the input pixel covers any evidence pixel, 0 elsewhere.
 *
 * @throws {InputError} for a file that is missing or not an image (from `readImageFile`).
 *
 * @example
 * ```ts ignore
 * const mask = await loadMask("outputs/synthetic/masks/test/MI/MI(3).png", 128);
 * ```
 */
export async function loadMask(file: string, sizePx: number): Promise<Uint8Array> {
  return shrinkMask(rgbaToGray(await readImageFile(file)), sizePx);
}

/**
 * A binary mask at `sizePx` x `sizePx`: an output pixel is 1 when any source pixel in its
 * footprint reaches {@link MASK_THRESHOLD}. Evidence on an ECG is a trace one or two pixels
 * wide; averaging it down (as the images are resized) would leave almost nothing above half
 * intensity at 128 px, so the mask keeps every input pixel the evidence passes through.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { shrinkMask } from "./masks.ts";
 * const line = new Uint8Array(16); // a 4 x 4 mask with one lit pixel at (1, 2)
 * line[2 * 4 + 1] = 255;
 * const mask = shrinkMask({ widthPx: 4, heightPx: 4, data: line }, 2);
 * assert(mask.join() === "0,0,1,0");
 * ```
 */
export function shrinkMask(mask: GrayImage, sizePx: number): Uint8Array {
  const out = new Uint8Array(sizePx * sizePx);
  const { widthPx, heightPx, data } = mask;
  const span = (t: number, source: number) => [
    Math.floor((t * source) / sizePx),
    Math.max(Math.floor((t * source) / sizePx) + 1, Math.ceil(((t + 1) * source) / sizePx)),
  ];
  for (let ty = 0; ty < sizePx; ty++) {
    const [y0, y1] = span(ty, heightPx);
    for (let tx = 0; tx < sizePx; tx++) {
      const [x0, x1] = span(tx, widthPx);
      search: for (let y = y0; y < Math.min(y1, heightPx); y++) {
        for (let x = x0; x < Math.min(x1, widthPx); x++) {
          if (data[y * widthPx + x] >= MASK_THRESHOLD) {
            out[ty * sizePx + tx] = 1;
            break search;
          }
        }
      }
    }
  }
  return out;
}
