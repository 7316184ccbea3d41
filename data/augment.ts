/**
 * The reference's training augmentation on the resized grey image, seeded.
 *
 * Reference transform order (torchvision on PIL images):
 * `Resize((s, s))` → `Grayscale(3)` → `RandomAffine(0, translate=(0.02, 0.02), fill=0)` →
 * `RandomApply([RandomRotation(3, fill=0)], p=0.5)` → `ColorJitter(brightness=0.1,
 * contrast=0.1)` → `ToTensor()` → `Normalize(ImageNet)`. Here the same order runs on the
 * grey plane (identical to running on its 3 equal channels) between the cached resize and
 * `writeNormalizedHWC`; every step, like PIL's, produces an 8-bit image:
 *
 * 1. translation by whole pixels, dx, dy = round(U(−0.02·size, 0.02·size)) (torchvision
 *    rounds the draw to an integer), uncovered pixels black;
 * 2. with probability 0.5, rotation by U(−3°, 3°) about the image centre (counter-clockwise
 *    for positive angles, as PIL's `rotate`), sampled bilinearly with PIL's transform
 *    semantics: pixel centres, edge clamping, black where the source point falls outside the
 *    image, result truncated to 8 bits. torchvision's default for both affine steps is
 *    NEAREST; bilinear was chosen for smoother thin traces;
 * 3. brightness factor b ~ U(0.9, 1.1) (v ← b·v) and contrast factor c ~ U(0.9, 1.1)
 *    (v ← m + c·(v − m), m the image mean rounded to an integer, as PIL's
 *    `ImageEnhance.Contrast`), in a random order as `ColorJitter` does, each computed like
 *    PIL's `Image.blend` (float32, truncated, clamped to 0..255).
 *
 * Draw order from the passed {@link Random}: dx, dy, rotation coin, angle (only when the
 * coin says rotate), order coin, brightness factor, contrast factor.
 *
 * @module
 */
import { type Random, randomBetween } from "../core/random.ts";
import type { GrayImage } from "./image.ts";

/** Augmentation strengths. */
export interface AugmentOptions {
  /** Largest shift as a fraction of width (x) and height (y). */
  readonly translateFraction: number;
  /** Largest rotation, in degrees either way. */
  readonly rotationDeg: number;
  /** Probability that the rotation is applied at all. */
  readonly rotationProbability: number;
  /** Brightness factor range is [1 − brightness, 1 + brightness]. */
  readonly brightness: number;
  /** Contrast factor range is [1 − contrast, 1 + contrast]. */
  readonly contrast: number;
  /** Grey level of the pixels that translation and rotation uncover (0 = black, as torchvision). */
  readonly fillGray: number;
}

/** The reference pipeline's values. */
export const REFERENCE_AUGMENTATION: AugmentOptions = {
  translateFraction: 0.02,
  rotationDeg: 3,
  rotationProbability: 0.5,
  brightness: 0.1,
  contrast: 0.1,
  fillGray: 0,
};

/** One drawn augmentation, recordable and replayable with {@link applyAugmentation}. */
export interface AugmentParams {
  readonly fillGray: number;
  readonly shiftXPx: number;
  readonly shiftYPx: number;
  /** Counter-clockwise rotation in degrees; 0 when the rotation was not applied. */
  readonly rotationDeg: number;
  readonly brightnessFactor: number;
  readonly contrastFactor: number;
  readonly brightnessFirst: boolean;
}

/**
 * Draws augmentation parameters for an image of the given size.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sampleAugmentation } from "./augment.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const p = sampleAugmentation(new SeededRandom(1), 224, 224);
 * assert(Math.abs(p.shiftXPx) <= 4 && Math.abs(p.rotationDeg) <= 3);
 * ```
 */
export function sampleAugmentation(
  random: Random,
  widthPx: number,
  heightPx: number,
  options: AugmentOptions = REFERENCE_AUGMENTATION,
): AugmentParams {
  const maxDx = options.translateFraction * widthPx;
  const maxDy = options.translateFraction * heightPx;
  const shiftXPx = Math.round(randomBetween(random, -maxDx, maxDx));
  const shiftYPx = Math.round(randomBetween(random, -maxDy, maxDy));
  const rotate = random.uniform() < options.rotationProbability;
  const rotationDeg = rotate ? randomBetween(random, -options.rotationDeg, options.rotationDeg) : 0;
  const brightnessFirst = random.uniform() < 0.5;
  const brightnessFactor = randomBetween(random, 1 - options.brightness, 1 + options.brightness);
  const contrastFactor = randomBetween(random, 1 - options.contrast, 1 + options.contrast);
  const { fillGray } = options;
  return {
    fillGray,
    shiftXPx,
    shiftYPx,
    rotationDeg,
    brightnessFactor,
    contrastFactor,
    brightnessFirst,
  };
}

/**
 * Applies drawn parameters in the reference order; returns a new image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { applyAugmentation } from "./augment.ts";
 * const image = { widthPx: 3, heightPx: 1, data: new Uint8Array([10, 20, 30]) };
 * const shifted = applyAugmentation(image, {
 *   fillGray: 0, shiftXPx: 1, shiftYPx: 0, rotationDeg: 0,
 *   brightnessFactor: 1, contrastFactor: 1, brightnessFirst: true,
 * });
 * assert(shifted.data.join() === "0,10,20");
 * ```
 */
export function applyAugmentation(image: GrayImage, params: AugmentParams): GrayImage {
  let out = translate(image, params.shiftXPx, params.shiftYPx, params.fillGray);
  if (params.rotationDeg !== 0) out = rotateBilinear(out, params.rotationDeg, params.fillGray);
  if (params.brightnessFirst) {
    out = blendWithConstant(out, 0, params.brightnessFactor);
    out = blendWithConstant(out, roundedMean(out), params.contrastFactor);
  } else {
    out = blendWithConstant(out, roundedMean(out), params.contrastFactor);
    out = blendWithConstant(out, 0, params.brightnessFactor);
  }
  return out;
}

/**
 * Draws and applies the training augmentation (see the module notes for the order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { augmentGray } from "./augment.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const image = { widthPx: 8, heightPx: 8, data: new Uint8Array(64).fill(200) };
 * const a = augmentGray(image, new SeededRandom(3));
 * const b = augmentGray(image, new SeededRandom(3));
 * assert(a.data.join() === b.data.join());
 * ```
 */
export function augmentGray(
  image: GrayImage,
  random: Random,
  options: AugmentOptions = REFERENCE_AUGMENTATION,
): GrayImage {
  return applyAugmentation(
    image,
    sampleAugmentation(random, image.widthPx, image.heightPx, options),
  );
}

/** out(x, y) = in(x − dx, y − dy), `fillGray` outside. */
function translate(image: GrayImage, dx: number, dy: number, fillGray: number): GrayImage {
  const { widthPx: w, heightPx: h, data } = image;
  const out = new Uint8Array(w * h).fill(fillGray);
  const x0 = Math.max(0, dx), x1 = Math.min(w, w + dx);
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    if (x1 > x0) out.set(data.subarray((y - dy) * w + x0 - dx, (y - dy) * w + x1 - dx), y * w + x0);
  }
  return { widthPx: w, heightPx: h, data: out };
}

/** PIL's `rotate(angle, BILINEAR, fillcolor)` on mode "L" (inverse map from output centres). */
function rotateBilinear(image: GrayImage, angleDeg: number, fillGray: number): GrayImage {
  const { widthPx: w, heightPx: h, data } = image;
  const out = new Uint8Array(w * h).fill(fillGray);
  const theta = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const cx = w / 2, cy = h / 2;
  for (let y = 0; y < h; y++) {
    const ry = y + 0.5 - cy;
    for (let x = 0; x < w; x++) {
      const rx = x + 0.5 - cx;
      const xin = cos * rx - sin * ry + cx;
      const yin = sin * rx + cos * ry + cy;
      if (xin < 0 || xin >= w || yin < 0 || yin >= h) continue;
      const fx = xin - 0.5, fy = yin - 0.5;
      const ix = Math.floor(fx), iy = Math.floor(fy);
      const dx = fx - ix, dy = fy - iy;
      const xa = ix < 0 ? 0 : ix, xb = ix + 1 >= w ? w - 1 : ix + 1;
      const rowA = (iy < 0 ? 0 : iy) * w;
      const top = data[rowA + xa] + (data[rowA + xb] - data[rowA + xa]) * dx;
      let bottom = top;
      if (iy + 1 < h) {
        const rowB = (iy + 1) * w;
        bottom = data[rowB + xa] + (data[rowB + xb] - data[rowB + xa]) * dx;
      }
      out[y * w + x] = Math.trunc(top + (bottom - top) * dy);
    }
  }
  return { widthPx: w, heightPx: h, data: out };
}

/** The image mean rounded half up, as PIL's contrast enhancer computes its grey level. */
function roundedMean(image: GrayImage): number {
  let sum = 0;
  for (let i = 0; i < image.data.length; i++) sum += image.data[i];
  return Math.trunc(sum / image.data.length + 0.5);
}

/**
 * PIL's `Image.blend(constant, image, factor)`: constant + factor·(v − constant) in float32
 * (the factor is a C float), truncated toward zero and clamped to 0..255.
 */
function blendWithConstant(image: GrayImage, constant: number, factor: number): GrayImage {
  if (factor === 1) return image;
  const alpha = Math.fround(factor);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const t = Math.fround(constant + Math.fround(alpha * (v - constant)));
    lut[v] = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
  }
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = lut[image.data[i]];
  return { widthPx: image.widthPx, heightPx: image.heightPx, data };
}
