/**
 * The reference pipeline's tensor transforms: `ToTensor()` (divide by 255), the grey plane
 * copied into 3 channels (`Grayscale(num_output_channels=3)`), and `Normalize` with the
 * ImageNet statistics — written straight into one image's slot of an NHWC batch buffer.
 *
 * Arithmetic is float32 step by step as PyTorch does it: x = fround(v / 255), then
 * fround(fround(x − mean[c]) / std[c]) with mean and std rounded to float32, so a uint8
 * image gives bit-identical inputs to the torch-parity fixture (`resnet18_inputs.npy`).
 *
 * @module
 */
import type { GrayFloatImage, GrayImage, RgbaImage } from "./image.ts";

/** ImageNet per-channel means (R, G, B) on the [0, 1] scale, as torchvision uses them. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];

/** ImageNet per-channel standard deviations (R, G, B) on the [0, 1] scale. */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** Channels of a model input (the grey plane replicated). */
export const INPUT_CHANNELS = 3;

/** Normalises one value on the 0..255 scale for channel `c`, in float32 steps like PyTorch. */
function normalizeValue(v255: number, c: number): number {
  const x = Math.fround(v255 / 255);
  return Math.fround(
    Math.fround(x - Math.fround(IMAGENET_MEAN[c])) / Math.fround(IMAGENET_STD[c]),
  );
}

/** Per-channel lookup tables for 8-bit input: 256 entries for channel 0, then 1, then 2. */
const NORMALIZED_U8 = (() => {
  const table = new Float32Array(256 * INPUT_CHANNELS);
  for (let c = 0; c < INPUT_CHANNELS; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = normalizeValue(v, c);
  }
  return table;
})();

/**
 * Writes `gray` as a normalised 3-channel HWC image into `out` at element `offset`, i.e.
 * image n of an NHWC batch of s x s images goes at offset n·s·s·3.
 *
 * @param gray a `GrayImage` (uint8) or a `GrayFloatImage` on the same 0..255 scale.
 * @param out the batch buffer; needs `widthPx·heightPx·3` elements from `offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeNormalizedHWC } from "./preprocess.ts";
 * const batch = new Float32Array(2 * 1 * 1 * 3);
 * writeNormalizedHWC({ widthPx: 1, heightPx: 1, data: new Uint8Array([255]) }, batch, 3);
 * assert(Math.abs(batch[3] - (1 - 0.485) / 0.229) < 1e-6 && batch[0] === 0);
 * ```
 */
export function writeNormalizedHWC(
  gray: GrayImage | GrayFloatImage,
  out: Float32Array,
  offset: number,
): void {
  const { data } = gray;
  const pixels = gray.widthPx * gray.heightPx;
  if (data.length !== pixels) {
    throw new RangeError(`writeNormalizedHWC: ${data.length} values for ${pixels} pixels`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + pixels * INPUT_CHANNELS > out.length) {
    throw new RangeError(
      `writeNormalizedHWC: ${pixels * INPUT_CHANNELS} values at offset ${offset} ` +
        `do not fit a buffer of ${out.length}`,
    );
  }
  if (data instanceof Uint8Array) {
    for (let i = 0, o = offset; i < pixels; i++, o += 3) {
      const v = data[i];
      out[o] = NORMALIZED_U8[v];
      out[o + 1] = NORMALIZED_U8[256 + v];
      out[o + 2] = NORMALIZED_U8[512 + v];
    }
  } else {
    for (let i = 0, o = offset; i < pixels; i++, o += 3) {
      const v = data[i];
      out[o] = normalizeValue(v, 0);
      out[o + 1] = normalizeValue(v, 1);
      out[o + 2] = normalizeValue(v, 2);
    }
  }
}

/**
 * A new normalised HWC buffer for one image ({@link writeNormalizedHWC} without a batch).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toNormalizedHWC } from "./preprocess.ts";
 * const x = toNormalizedHWC({ widthPx: 2, heightPx: 1, data: new Uint8Array([0, 255]) });
 * assert(x.length === 6 && x[0] < 0 && x[3] > 0);
 * ```
 */
export function toNormalizedHWC(gray: GrayImage | GrayFloatImage): Float32Array {
  const out = new Float32Array(gray.widthPx * gray.heightPx * INPUT_CHANNELS);
  writeNormalizedHWC(gray, out, 0);
  return out;
}

/**
 * Undoes the normalisation of one HWC image for display: v = x·std[c] + mean[c], scaled to
 * 0..255, rounded and clamped; alpha is 255.
 *
 * @param data a buffer holding the image at element `offset` (e.g. an NHWC batch).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { denormalizeHWC, toNormalizedHWC } from "./preprocess.ts";
 * const x = toNormalizedHWC({ widthPx: 1, heightPx: 1, data: new Uint8Array([200]) });
 * assert(denormalizeHWC(x, 0, 1, 1).data.join() === "200,200,200,255");
 * ```
 */
export function denormalizeHWC(
  data: Float32Array,
  offset: number,
  widthPx: number,
  heightPx: number,
): RgbaImage {
  const pixels = widthPx * heightPx;
  if (!Number.isInteger(offset) || offset < 0 || offset + pixels * INPUT_CHANNELS > data.length) {
    throw new RangeError(
      `denormalizeHWC: ${widthPx} x ${heightPx} x 3 values at offset ${offset} ` +
        `do not fit a buffer of ${data.length}`,
    );
  }
  const out = new Uint8Array(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < INPUT_CHANNELS; c++) {
      const v = (data[offset + i * 3 + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255;
      out[i * 4 + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
    out[i * 4 + 3] = 255;
  }
  return { widthPx, heightPx, data: out };
}
