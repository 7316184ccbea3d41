/**
 * Resampling identical to PIL's `Image.resize(size, Image.BILINEAR)`, which is what
 * torchvision's `transforms.Resize((s, s))` runs on PIL images.
 *
 * PIL's "bilinear" is a separable triangle filter whose support widens with the
 * downscale factor (support = max(1, in/out) input pixels each side), so shrinking
 * averages every input pixel (antialiasing) instead of sampling two of them: a 1-px ECG
 * trace downscaled 10x stays a continuous faint line rather than a row of dots.
 *
 * Arithmetic follows PIL's 8-bit path exactly: per output pixel the filter weights are
 * normalised to sum 1, converted to 22-bit fixed point, applied horizontally with
 * round-half-up and clamping to an 8-bit intermediate image, then vertically the same way.
 * An axis whose size does not change is passed through, as PIL skips that pass.
 *
 * @module
 */
import type { GrayImage, RgbaImage } from "./image.ts";

/** Fixed-point fraction bits of PIL's 8-bit resampler (32 − 8 − 2). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Filter taps for one axis: output i reads `count[i]` inputs from `start[i]`. */
interface AxisFilter {
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** `taps` fixed-point weights per output, zero-padded after `count[i]`. */
  readonly weights: Int32Array;
  readonly taps: number;
}

/**
 * The triangle-filter taps PIL computes for resizing one axis from `inSize` to `outSize`.
 *
 * Output pixel i is centred at input coordinate (i + 0.5)·scale; the filter has support
 * max(scale, 1) on each side and is evaluated at input pixel centres.
 */
function axisFilter(inSize: number, outSize: number): AxisFilter {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const raw = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // Math.trunc, not floor: PIL casts with (int), and the low end is clamped to 0 anyway.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let sum = 0;
    for (let k = 0; k < hi - lo; k++) {
      const w = Math.max(0, 1 - Math.abs((k + lo - center + 0.5) / filterScale));
      raw[k] = w;
      sum += w;
    }
    for (let k = 0; k < hi - lo; k++) {
      const w = sum !== 0 ? raw[k] / sum : raw[k];
      weights[i * taps + k] = Math.trunc(0.5 + w * ONE);
    }
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, taps };
}

function clip8(fixed: number): number {
  const v = fixed >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(
  src: Uint8Array,
  inWidth: number,
  height: number,
  channels: number,
  filter: AxisFilter,
): Uint8Array {
  const outWidth = filter.start.length;
  const out = new Uint8Array(outWidth * height * channels);
  const { start, count, weights, taps } = filter;
  for (let y = 0; y < height; y++) {
    const rowIn = y * inWidth * channels;
    const rowOut = y * outWidth * channels;
    for (let x = 0; x < outWidth; x++) {
      const n = count[x];
      const w0 = x * taps;
      for (let c = 0; c < channels; c++) {
        let ss = HALF;
        let p = rowIn + start[x] * channels + c;
        for (let k = 0; k < n; k++, p += channels) ss += src[p] * weights[w0 + k];
        out[rowOut + x * channels + c] = clip8(ss);
      }
    }
  }
  return out;
}

function resampleVertical(
  src: Uint8Array,
  rowLength: number,
  filter: AxisFilter,
): Uint8Array {
  const outHeight = filter.start.length;
  const out = new Uint8Array(outHeight * rowLength);
  const { start, count, weights, taps } = filter;
  // Accumulate whole rows so the inner loop reads memory sequentially.
  const acc = new Float64Array(rowLength);
  for (let y = 0; y < outHeight; y++) {
    acc.fill(HALF);
    for (let k = 0; k < count[y]; k++) {
      const w = weights[y * taps + k];
      const row = (start[y] + k) * rowLength;
      for (let i = 0; i < rowLength; i++) acc[i] += src[row + i] * w;
    }
    const rowOut = y * rowLength;
    for (let i = 0; i < rowLength; i++) out[rowOut + i] = clip8(acc[i]);
  }
  return out;
}

/** Resizes interleaved 8-bit pixels, every channel independently, as PIL does. */
function resizeInterleaved(
  data: Uint8Array,
  widthPx: number,
  heightPx: number,
  channels: number,
  outWidthPx: number,
  outHeightPx: number,
): Uint8Array {
  for (const [name, v] of [["width", outWidthPx], ["height", outHeightPx]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`resize: target ${name} must be a positive integer, got ${v}`);
    }
  }
  let pixels = data;
  if (outWidthPx !== widthPx) {
    pixels = resampleHorizontal(
      pixels,
      widthPx,
      heightPx,
      channels,
      axisFilter(widthPx, outWidthPx),
    );
  }
  if (outHeightPx !== heightPx) {
    pixels = resampleVertical(pixels, outWidthPx * channels, axisFilter(heightPx, outHeightPx));
  }
  return pixels === data ? data.slice() : pixels;
}

/**
 * Resizes a grey image like PIL's `resize((widthPx, heightPx), BILINEAR)` on mode "L".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resizeGray } from "./resize.ts";
 * // A 2x shrink: triangle of support 2, truncated at the border and renormalised (3/7, 3/7, 1/7).
 * const image = { widthPx: 4, heightPx: 1, data: new Uint8Array([0, 80, 160, 240]) };
 * assert(resizeGray(image, 2, 1).data.join() === "57,183");
 * ```
 */
export function resizeGray(image: GrayImage, widthPx: number, heightPx: number): GrayImage {
  const data = resizeInterleaved(image.data, image.widthPx, image.heightPx, 1, widthPx, heightPx);
  return { widthPx, heightPx, data };
}

/**
 * Resizes an RGBA image like PIL's `resize(size, BILINEAR)` on mode "RGB", each channel
 * independently. Alpha is resampled as a fourth independent channel (straight alpha; PIL
 * premultiplies for mode "RGBA", which only matters for translucent pixels, and the
 * reference pipeline drops alpha with `convert("RGB")` anyway).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resizeRgba } from "./resize.ts";
 * const red = { widthPx: 2, heightPx: 2, data: new Uint8Array(16).fill(255).map((v, i) => i % 4 === 1 || i % 4 === 2 ? 0 : v) };
 * assert(resizeRgba(red, 1, 1).data.join() === "255,0,0,255");
 * ```
 */
export function resizeRgba(image: RgbaImage, widthPx: number, heightPx: number): RgbaImage {
  const data = resizeInterleaved(image.data, image.widthPx, image.heightPx, 4, widthPx, heightPx);
  return { widthPx, heightPx, data };
}
