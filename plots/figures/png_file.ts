/**
 * Writing a figure as a PNG file (fast-png, pure JS), atomically.
 *
 * @module
 */
import { png } from "../../deps.ts";
import { writeFileAtomic } from "../../core/atomic_write.ts";
import type { RgbaImage } from "../../data/image.ts";

/**
 * PNG bytes of an RGBA image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeRgbaPng } from "./png_file.ts";
 * const bytes = encodeRgbaPng({ widthPx: 1, heightPx: 1, data: new Uint8Array([1, 2, 3, 255]) });
 * assert(bytes[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export function encodeRgbaPng(image: RgbaImage): Uint8Array {
  return png.encode({
    width: image.widthPx,
    height: image.heightPx,
    data: image.data,
    channels: 4,
  });
}

/**
 * Writes `image` to `path` as PNG (creating folders; a reader never sees half a file).
 *
 * @example
 * ```ts ignore
 * await writePngFile("outputs/plots/figures/x.png", image);
 * ```
 */
export async function writePngFile(path: string, image: RgbaImage): Promise<void> {
  await writeFileAtomic(path, encodeRgbaPng(image));
}
