/**
 * The full per-file image pipeline, with an on-disk cache of its result.
 *
 * Pipeline: read bytes → header check → cache lookup → decode → resize the RGB image to
 * s x s (PIL bilinear) → grey (PIL `convert("L")`) → cache store. Resizing before the grey
 * conversion is the reference order (`Resize` then `Grayscale`); the 8-bit rounding of each
 * step makes the other order differ by a level here and there.
 *
 * Cache entries live in the folder the caller passes, one file per (file content, size):
 * `<sha256 of the file's bytes>-<s>px.gray`, holding a 16-byte header (ASCII `ECGGRAY1`,
 * width and height as little-endian uint32) and the s·s grey bytes, row-major. Keying on the
 * content, not the path, means renamed or copied files hit and edited files miss. Entries
 * are written atomically; one whose magic, size or length is wrong is ignored and rewritten.
 * `ECGGRAY1` is bumped whenever decoding or resampling changes its output.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { decodeImage, readFileBytes } from "./decode_image.ts";
import { rgbaToGray } from "./grayscale.ts";
import type { GrayImage } from "./image.ts";
import { readImageHeader } from "./image_header.ts";
import { resizeRgba } from "./resize.ts";

const MAGIC = new TextEncoder().encode("ECGGRAY1");
const HEADER_BYTES = 16;

/**
 * Decodes an image file's bytes and resizes it to `sizePx` x `sizePx` grey, uncached.
 *
 * @throws {InputError} when the bytes are not a decodable JPEG or PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeResizedGray } from "./image_cache.ts";
 * import { png } from "../deps.ts";
 * const bytes = png.encode({ width: 4, height: 4, data: new Uint8Array(16).fill(90), channels: 1 });
 * assert(decodeResizedGray(bytes, "a.png", 2).data.join() === "90,90,90,90");
 * ```
 */
export function decodeResizedGray(bytes: Uint8Array, file: string, sizePx: number): GrayImage {
  return rgbaToGray(resizeRgba(decodeImage(bytes, file), sizePx, sizePx));
}

/**
 * The cache file for an image with these bytes at this size.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imageCachePath } from "./image_cache.ts";
 * const path = await imageCachePath("outputs/cache/images", new Uint8Array([1, 2, 3]), 224);
 * assert(path.endsWith("-224px.gray"));
 * ```
 */
export async function imageCachePath(
  cacheDir: string,
  bytes: Uint8Array,
  sizePx: number,
): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return join(cacheDir, `${hex}-${sizePx}px.gray`);
}

/**
 * Loads an image file as `sizePx` x `sizePx` grey, through the cache when `cacheDir` is set.
 *
 * @param path the image file (JPEG or PNG).
 * @param cacheDir the cache folder (created on demand), or `undefined` for no cache.
 * @throws {InputError} when the file is missing, not an image, corrupt or oversized.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadResizedGray } from "./image_cache.ts";
 * import { png } from "../deps.ts";
 * const dir = await Deno.makeTempDir();
 * const data = new Uint8Array(64).fill(30);
 * await Deno.writeFile(`${dir}/a.png`, png.encode({ width: 8, height: 8, data, channels: 1 }));
 * const first = await loadResizedGray(`${dir}/a.png`, 4, `${dir}/cache`); // miss: decodes
 * const again = await loadResizedGray(`${dir}/a.png`, 4, `${dir}/cache`); // hit
 * assert(first.data.join() === again.data.join());
 * ```
 */
export async function loadResizedGray(
  path: string,
  sizePx: number,
  cacheDir: string | undefined,
): Promise<GrayImage> {
  if (!Number.isInteger(sizePx) || sizePx < 1) {
    throw new RangeError(`loadResizedGray: sizePx must be a positive integer, got ${sizePx}`);
  }
  const bytes = await readFileBytes(path);
  readImageHeader(bytes, path);
  if (cacheDir === undefined) return decodeResizedGray(bytes, path, sizePx);

  const entryPath = await imageCachePath(cacheDir, bytes, sizePx);
  const cached = await readEntry(entryPath, sizePx);
  if (cached !== undefined) return cached;
  const image = decodeResizedGray(bytes, path, sizePx);
  await writeFileAtomic(entryPath, encodeEntry(image));
  return image;
}

function encodeEntry(image: GrayImage): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + image.data.length);
  out.set(MAGIC);
  const view = new DataView(out.buffer);
  view.setUint32(8, image.widthPx, true);
  view.setUint32(12, image.heightPx, true);
  out.set(image.data, HEADER_BYTES);
  return out;
}

/** The cached image, or `undefined` when absent or not a well-formed entry of this size. */
async function readEntry(entryPath: string, sizePx: number): Promise<GrayImage | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(entryPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (bytes.length !== HEADER_BYTES + sizePx * sizePx) return undefined;
  if (!MAGIC.every((b, i) => bytes[i] === b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8, true) !== sizePx || view.getUint32(12, true) !== sizePx) return undefined;
  return { widthPx: sizePx, heightPx: sizePx, data: bytes.slice(HEADER_BYTES) };
}
