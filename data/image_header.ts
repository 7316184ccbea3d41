/**
 * Image format sniffing and declared dimensions, read from the header without decoding.
 *
 * A JPEG or PNG header is a few dozen bytes that can claim any size; decoders allocate
 * what it claims. Checking the claim first refuses a 100000 x 100000 "image" before a
 * single pixel buffer exists.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";

/** Longest side accepted, in pixels (the ECG scans are 2213 x 1572). */
export const MAX_IMAGE_SIDE_PX = 20_000;

/** Largest pixel count accepted (100 megapixels: 400 MB as RGBA). */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** The formats the data layer decodes. */
export type ImageFormat = "jpeg" | "png";

/** What a header declares. */
export interface ImageHeader {
  readonly format: ImageFormat;
  readonly widthPx: number;
  readonly heightPx: number;
  /** JPEG only: how its colours are coded, which decides the colour conversion. */
  readonly jpegColor?: JpegColor;
}

/** A JPEG frame's component count and the colour-transform code of an Adobe APP14 segment. */
export interface JpegColor {
  readonly components: number;
  /** 0: RGB or CMYK as stored, 1: YCbCr, 2: YCCK; `undefined` without an Adobe segment. */
  readonly adobeTransform: number | undefined;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The format named by the magic bytes, or `undefined` for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sniffImageFormat } from "./image_header.ts";
 * assert(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])) === "jpeg");
 * assert(sniffImageFormat(new TextEncoder().encode("hello")) === undefined);
 * ```
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "png";
  return undefined;
}

/**
 * Reads format and declared size from the header and refuses what cannot or should not be
 * decoded: zero-byte files, non-images, truncated headers, zero or absurd dimensions.
 *
 * @param bytes the whole file, or at least its header.
 * @param file the file's path, for error messages.
 * @throws {InputError} naming `file`, the reason and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readImageHeader } from "./image_header.ts";
 * import { png } from "../deps.ts";
 * const bytes = png.encode({ width: 3, height: 2, data: new Uint8Array(24), channels: 4 });
 * const header = readImageHeader(bytes, "tiny.png");
 * assert(header.format === "png" && header.widthPx === 3 && header.heightPx === 2);
 * ```
 */
export function readImageHeader(bytes: Uint8Array, file: string): ImageHeader {
  if (bytes.length === 0) {
    throw new InputError(
      `${file}: zero-byte file; replace it with a valid JPEG or PNG or remove it`,
    );
  }
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new InputError(
      `${file}: not a JPEG or PNG image (unrecognised leading bytes); ` +
        `convert it to JPEG or PNG or remove it`,
    );
  }
  if (format === "png") {
    const size = pngSize(bytes, file);
    checkDimensions(size.widthPx, size.heightPx, file);
    return { format, ...size };
  }
  const { widthPx, heightPx, jpegColor } = jpegFrame(bytes, file);
  checkDimensions(widthPx, heightPx, file);
  return { format, widthPx, heightPx, jpegColor };
}

function truncated(file: string, format: string): InputError {
  return new InputError(
    `${file}: truncated ${format} header (the file ends before the image size is declared); ` +
      `re-export or re-download the file`,
  );
}

/** Walks the JPEG marker segments up to the first SOFn frame header. */
function jpegFrame(
  bytes: Uint8Array,
  file: string,
): { widthPx: number; heightPx: number; jpegColor: JpegColor } {
  let pos = 2;
  let adobeTransform: number | undefined;
  while (true) {
    if (pos >= bytes.length) throw truncated(file, "JPEG");
    if (bytes[pos] !== 0xff) {
      throw new InputError(
        `${file}: corrupt JPEG header (expected a marker at byte ${pos}); re-export the file`,
      );
    }
    // Any number of 0xFF fill bytes may precede a marker code.
    while (pos < bytes.length && bytes[pos] === 0xff) pos++;
    if (pos >= bytes.length) throw truncated(file, "JPEG");
    const marker = bytes[pos++];
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no payload
    if (marker === 0xd9 || marker === 0xda) {
      throw new InputError(
        `${file}: corrupt JPEG (no frame header before the image data); re-export the file`,
      );
    }
    if (pos + 2 > bytes.length) throw truncated(file, "JPEG");
    const segmentLength = (bytes[pos] << 8) | bytes[pos + 1];
    if (segmentLength < 2) {
      throw new InputError(`${file}: corrupt JPEG header (bad segment length); re-export the file`);
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    const isFrameHeader = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
      marker !== 0xc8 && marker !== 0xcc;
    if (isFrameHeader) {
      if (pos + 8 > bytes.length) throw truncated(file, "JPEG");
      const heightPx = (bytes[pos + 3] << 8) | bytes[pos + 4];
      const widthPx = (bytes[pos + 5] << 8) | bytes[pos + 6];
      return { widthPx, heightPx, jpegColor: { components: bytes[pos + 7], adobeTransform } };
    }
    if (marker === 0xee && segmentLength >= 14 && pos + 14 <= bytes.length) {
      const tag = String.fromCharCode(...bytes.subarray(pos + 2, pos + 7));
      if (tag === "Adobe") adobeTransform = bytes[pos + 13];
    }
    pos += segmentLength;
  }
}

function pngSize(bytes: Uint8Array, file: string): { widthPx: number; heightPx: number } {
  if (bytes.length < 24) throw truncated(file, "PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkType = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || chunkType !== "IHDR") {
    throw new InputError(
      `${file}: corrupt PNG (the first chunk is not a 13-byte IHDR); re-export the file`,
    );
  }
  return { widthPx: view.getUint32(16), heightPx: view.getUint32(20) };
}

function checkDimensions(widthPx: number, heightPx: number, file: string): void {
  if (widthPx === 0 || heightPx === 0) {
    throw new InputError(
      `${file}: the header declares an empty image (${widthPx} x ${heightPx} px); ` +
        `re-export the file`,
    );
  }
  if (
    widthPx > MAX_IMAGE_SIDE_PX || heightPx > MAX_IMAGE_SIDE_PX ||
    widthPx * heightPx > MAX_IMAGE_PIXELS
  ) {
    throw new InputError(
      `${file}: the header declares ${widthPx} x ${heightPx} px, over the limit of ` +
        `${MAX_IMAGE_SIDE_PX} px per side and ${MAX_IMAGE_PIXELS / 1e6} megapixels; ` +
        `downscale the image (the models use 224 px) or remove it`,
    );
  }
}
