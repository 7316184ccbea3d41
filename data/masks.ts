/**
 * Ground-truth evidence masks at the model's input size, for the localisation metrics.
 *
 * @module
 */
import { readImageFile } from "./decode_image.ts";
import { rgbaToGray } from "./grayscale.ts";
import { resizeGray } from "./resize.ts";

/** A mask pixel counts as evidence when its resized grey value reaches this (half of 255). */
export const MASK_THRESHOLD = 128;

/**
 * Reads a mask image and resizes it to `sizePx` x `sizePx` with the images' filter (PIL
 * bilinear), so mask and input stay aligned pixel for pixel; returns 1 inside, 0 outside.
 *
 * @throws {InputError} for a file that is missing or not an image (from `readImageFile`).
 *
 * @example
 * ```ts ignore
 * const mask = await loadMask("outputs/synthetic/masks/test/MI/MI(3).png", 128);
 * ```
 */
export async function loadMask(file: string, sizePx: number): Promise<Uint8Array> {
  return binariseMask(resizeGray(rgbaToGray(await readImageFile(file)), sizePx, sizePx).data);
}

/**
 * Grey values → 0/1 at {@link MASK_THRESHOLD}.
 *
 * @example
 * ```ts
 * import { binariseMask } from "./masks.ts";
 * console.assert(binariseMask(Uint8Array.of(0, 127, 128, 255)).join() === "0,0,1,1");
 * ```
 */
export function binariseMask(grey: Uint8Array): Uint8Array {
  return grey.map((v) => (v >= MASK_THRESHOLD ? 1 : 0));
}
