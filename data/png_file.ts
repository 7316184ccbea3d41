/**
 * PNG files written and read back: the bytes of an RGBA raster (fast-png, pure JS) with text
 * chunks, and those chunks read without decoding the pixels (the xai stage records each
 * picture's colour scale and picture height in them).
 *
 * @module
 */
import { png } from "../deps.ts";
import type { RgbaImage } from "./image.ts";

/**
 * PNG bytes of an RGBA image, with optional `tEXt` chunks (Latin-1 keywords and text).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeRgbaPng } from "./png_file.ts";
 * const bytes = encodeRgbaPng({ widthPx: 1, heightPx: 1, data: new Uint8Array([1, 2, 3, 255]) });
 * assert(bytes[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export function encodeRgbaPng(image: RgbaImage, text?: Record<string, string>): Uint8Array {
  return png.encode({
    width: image.widthPx,
    height: image.heightPx,
    data: image.data,
    channels: 4,
    ...(text ? { text } : {}),
  });
}

/**
 * The `tEXt` chunks of PNG bytes, keyword → text, read without decoding the pixels; `{}` for
 * bytes that are not a PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeRgbaPng, readPngText } from "./png_file.ts";
 * const image = { widthPx: 1, heightPx: 1, data: new Uint8Array([1, 2, 3, 255]) };
 * assert(readPngText(encodeRgbaPng(image, { scale: "x" })).scale === "x");
 * assert(Object.keys(readPngText(encodeRgbaPng(image))).length === 0);
 * ```
 */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  const text: Record<string, string> = {};
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) return text;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder("latin1");
  // Chunks: length (4), type (4), data (length), CRC (4).
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = latin1.decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    if (type === "tEXt") {
      const nul = data.indexOf(0);
      if (nul > 0) {
        text[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1));
      }
    }
    if (type === "IEND") break;
    at += 12 + length;
  }
  return text;
}
