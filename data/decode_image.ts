/**
 * JPEG and PNG decoding to 8-bit RGBA, with every failure turned into an {@link InputError}.
 *
 * The header is checked first ({@link readImageHeader}), so absurd dimensions are refused
 * before any allocation; jpeg-js's own resolution and memory limits are a second guard.
 * Truncated JPEGs make jpeg-js throw (it looks for the end-of-image marker) when
 * `tolerantDecoding` is off; truncated PNGs make fast-png run out of bytes or chunks.
 *
 * YCbCr JPEGs are converted to RGB here, with libjpeg's rounded fixed-point formulas, not by
 * jpeg-js: jpeg-js truncates, which made grey values 0.33 levels darker on average than PIL
 * (libjpeg) on the ECG scans; rounding brings 90 % of the 224 px grey pixels of the
 * torch-parity inputs to PIL's exact value (the rest differ by the IDCT and chroma upsampling).
 *
 * PNG conversions follow PIL's `convert("RGB")` where it matters for grey values: gray and
 * palette images are expanded to RGB, 16-bit samples keep their high byte, and sub-byte
 * gray depths are scaled to 0..255. Alpha channels and palette alpha are carried into the
 * RGBA result (255 elsewhere; a tRNS colour key is ignored), but nothing downstream
 * composites with alpha, as PIL's `convert("RGB")` drops it too.
 *
 * @module
 */
import { jpeg, png } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { RgbaImage } from "./image.ts";
import { type JpegColor, MAX_IMAGE_PIXELS, readImageHeader } from "./image_header.ts";

/**
 * Memory jpeg-js may use for one decode, in MB: by its accounting a 10000 x 10000 JPEG (the
 * 100 MP header limit) needs at least 2099 MB.
 */
const MAX_JPEG_DECODE_MEMORY_MB = 3072;

/**
 * Decodes a JPEG or PNG file's bytes to RGBA.
 *
 * @param bytes the whole file.
 * @param file the file's path, for error messages.
 * @throws {InputError} for zero-byte, non-image, truncated, corrupt or oversized files.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeImage } from "./decode_image.ts";
 * import { png } from "../deps.ts";
 * const bytes = png.encode({ width: 1, height: 1, data: new Uint8Array([10, 20, 30]), channels: 3 });
 * const image = decodeImage(bytes, "dot.png");
 * assert(image.data.join() === "10,20,30,255");
 * ```
 */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  const header = readImageHeader(bytes, file);
  return header.jpegColor !== undefined
    ? decodeJpeg(bytes, header.jpegColor, file)
    : decodePng(bytes, file);
}

/**
 * Reads and decodes an image file.
 *
 * @throws {InputError} when the file is missing or unreadable as an image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readImageFile } from "./decode_image.ts";
 * import { png } from "../deps.ts";
 * const dir = await Deno.makeTempDir();
 * const data = new Uint8Array([0, 0, 0, 255]);
 * await Deno.writeFile(`${dir}/a.png`, png.encode({ width: 1, height: 1, data, channels: 4 }));
 * assert((await readImageFile(`${dir}/a.png`)).widthPx === 1);
 * ```
 */
export async function readImageFile(path: string): Promise<RgbaImage> {
  return decodeImage(await readFileBytes(path), path);
}

/**
 * Reads a file's bytes, turning a missing or unreadable file into an {@link InputError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readFileBytes } from "./decode_image.ts";
 * import { InputError } from "../core/errors.ts";
 * const missing = await readFileBytes("/no/such/file.jpg").catch((e) => e);
 * assert(missing instanceof InputError);
 * ```
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`${path}: file not found; check the path or the data folder`);
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError(`${path}: is a folder, not an image file; pass an image path`);
    }
    throw e;
  }
}

function decoderFailure(file: string, format: string, e: unknown): InputError {
  const reason = e instanceof Error ? e.message : String(e);
  if (/maxMemoryUsageInMB|maxResolutionInMP/.test(reason)) {
    return new InputError(
      `${file}: ${format} too large to decode (decoder: ${reason}); downscale the image`,
    );
  }
  return new InputError(
    `${file}: corrupt or truncated ${format} data (decoder: ${reason}); ` +
      `re-export or re-download the file, or remove it`,
  );
}

function decodeJpeg(bytes: Uint8Array, color: JpegColor, file: string): RgbaImage {
  // jpeg-js applies its own conversion whenever an Adobe segment asks for one, so only
  // plain (JFIF) three-component files are handed over as raw YCbCr.
  const isPlainYCbCr = color.components === 3 && color.adobeTransform === undefined;
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      colorTransform: isPlainYCbCr ? false : undefined,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: MAX_JPEG_DECODE_MEMORY_MB,
    });
  } catch (e) {
    throw decoderFailure(file, "JPEG", e);
  }
  if (isPlainYCbCr) yCbCrToRgbInPlace(decoded.data);
  return { widthPx: decoded.width, heightPx: decoded.height, data: decoded.data };
}

/** libjpeg's fixed-point YCbCr → RGB tables (jdcolor.c): 16 fraction bits, rounded. */
const YCC_BITS = 16;
const YCC_HALF = 1 << (YCC_BITS - 1);
const fix = (x: number) => Math.floor(x * (1 << YCC_BITS) + 0.5);
const CR_TO_R = new Int32Array(256);
const CB_TO_B = new Int32Array(256);
const CR_TO_G = new Int32Array(256);
const CB_TO_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_TO_R[i] = (fix(1.402) * x + YCC_HALF) >> YCC_BITS;
  CB_TO_B[i] = (fix(1.772) * x + YCC_HALF) >> YCC_BITS;
  CR_TO_G[i] = -fix(0.71414) * x;
  CB_TO_G[i] = -fix(0.34414) * x + YCC_HALF;
}

function yCbCrToRgbInPlace(rgba: Uint8Array): void {
  for (let p = 0; p < rgba.length; p += 4) {
    const y = rgba[p], cb = rgba[p + 1], cr = rgba[p + 2];
    const r = y + CR_TO_R[cr];
    const g = y + ((CB_TO_G[cb] + CR_TO_G[cr]) >> YCC_BITS);
    const b = y + CB_TO_B[cb];
    rgba[p] = r < 0 ? 0 : r > 255 ? 255 : r;
    rgba[p + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    rgba[p + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}

function decodePng(bytes: Uint8Array, file: string): RgbaImage {
  let decoded: png.DecodedPng;
  try {
    decoded = png.decode(bytes, { checkCrc: true });
  } catch (e) {
    throw decoderFailure(file, "PNG", e);
  }
  const { width, height, depth, channels, palette } = decoded;
  const samplesPerRow = width * channels;
  const bytesPerRow = depth < 8 ? Math.ceil((samplesPerRow * depth) / 8) : samplesPerRow;
  if (decoded.data.length < bytesPerRow * height) {
    throw decoderFailure(file, "PNG", new Error("image data shorter than the declared size"));
  }
  const sample = sampleReader(
    decoded.data,
    depth,
    bytesPerRow,
    samplesPerRow,
    palette !== undefined,
  );
  const out = new Uint8Array(width * height * 4);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 4) {
      const s = y * samplesPerRow + x * channels;
      if (palette !== undefined) {
        const color = palette[sample(s)];
        if (color === undefined) {
          throw decoderFailure(file, "PNG", new Error("palette index out of range"));
        }
        out[o] = color[0];
        out[o + 1] = color[1];
        out[o + 2] = color[2];
        out[o + 3] = color[3] ?? 255;
      } else if (channels <= 2) {
        out[o] = out[o + 1] = out[o + 2] = sample(s);
        out[o + 3] = channels === 2 ? sample(s + 1) : 255;
      } else {
        out[o] = sample(s);
        out[o + 1] = sample(s + 1);
        out[o + 2] = sample(s + 2);
        out[o + 3] = channels === 4 ? sample(s + 3) : 255;
      }
    }
  }
  return { widthPx: width, heightPx: height, data: out };
}

/**
 * A reader of the `index`-th sample (row-major, channels interleaved) as 8 bits, or as a raw
 * palette index for indexed images.
 */
function sampleReader(
  data: png.PngDataArray,
  depth: number,
  bytesPerRow: number,
  samplesPerRow: number,
  isIndexed: boolean,
): (index: number) => number {
  if (depth === 8) return (i) => data[i];
  if (depth === 16) return (i) => data[i] >> 8;
  // Sub-byte depths are packed MSB first, each row starting on a byte boundary.
  const mask = (1 << depth) - 1;
  const scale = isIndexed ? 1 : 255 / mask;
  return (i) => {
    const row = Math.floor(i / samplesPerRow);
    const bit = (i - row * samplesPerRow) * depth;
    const byte = data[row * bytesPerRow + (bit >> 3)];
    return ((byte >> (8 - depth - (bit & 7))) & mask) * scale;
  };
}
