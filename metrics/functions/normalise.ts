/**
 * Turning raw attributions into what a metric scores: Quantus's `normalise` (divide by the largest
 * |a|, or for the relative stabilities by the root mean square) and `abs`, in Quantus's order
 * (normalise first), without ever modifying the caller's array.
 *
 * @module
 */

/**
 * The settings that decide how attributions are prepared. Every metric's parameters extend these
 * (`CommonParams` in `../metric.ts`); they live here so this file imports nothing of the metric
 * shape that uses it.
 */
export interface NormaliseParams {
  /** Take |a| before scoring. */
  abs: boolean;
  /** Divide each map by its largest |value| (or see `normaliseBy`) before scoring. */
  normalise: boolean;
  /**
   * What `normalise` divides by: the largest |value| (`"max"`, the default: Quantus's
   * `normalise_by_max`) or the root mean square (`"second_moment"`: Quantus's
   * `normalise_by_average_second_moment_estimate`, the relative stabilities' default).
   */
  normaliseBy?: NormaliseBy;
  /**
   * Reproduce Quantus 0.6.0's defects; here: normalise by the largest |a| of the whole batch
   * instead of each image's.
   */
  quantusCompat: boolean;
}

/** The normalisations `NormaliseParams.normaliseBy` names. */
export type NormaliseBy = "max" | "second_moment";

/**
 * Divides each image's map by its largest |value| (a zero map stays zero). With
 * `wholeBatch`, divides every map by the largest |value| of the whole batch, as Quantus 0.6.0's
 * `normalise_by_max` does (a defect: one image's scale then depends on the others).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normaliseByMax } from "./normalise.ts";
 * const a = Float32Array.of(1, -2, 0.5, 0.25);
 * assert(normaliseByMax(a, 2).join() === "0.5,-1,1,0.5");
 * assert(normaliseByMax(a, 2, { wholeBatch: true }).join() === "0.5,-1,0.25,0.125");
 * ```
 */
export function normaliseByMax(
  attributionsNHW: Float32Array,
  pixelsPerImage: number,
  { wholeBatch = false }: { wholeBatch?: boolean } = {},
): Float32Array {
  const out = new Float32Array(attributionsNHW.length);
  const maxAbs = (from: number, to: number) => {
    let m = 0;
    for (let j = from; j < to; j++) m = Math.max(m, Math.abs(attributionsNHW[j]));
    return m;
  };
  const batchMax = wholeBatch ? maxAbs(0, attributionsNHW.length) : 0;
  for (let start = 0; start < attributionsNHW.length; start += pixelsPerImage) {
    const end = start + pixelsPerImage;
    const m = wholeBatch ? batchMax : maxAbs(start, end);
    // Quantus divides by 0 and gets NaN; a zero map has nothing to scale, so it stays zero.
    for (let j = start; j < end; j++) {
      out[j] = m === 0 ? attributionsNHW[j] : attributionsNHW[j] / m;
    }
  }
  return out;
}

/**
 * Divides each image's map by its root mean square, sqrt(Σa² / H·W) (a zero map stays zero).
 * With `wholeBatch`, divides every map by the root mean square of the whole batch, as Quantus's
 * `normalise_by_average_second_moment_estimate` does (its default axes are all of them, the
 * batch's included).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normaliseBySecondMoment } from "./normalise.ts";
 * const a = Float32Array.of(3, -4, 0, 0);
 * // Image 0: sqrt((9 + 16) / 2) = sqrt(12.5); image 1 is all zero and stays so.
 * const perImage = normaliseBySecondMoment(a, 2);
 * assert(Math.abs(perImage[0] - 3 / Math.sqrt(12.5)) < 1e-6 && perImage[3] === 0);
 * const batch = normaliseBySecondMoment(a, 2, { wholeBatch: true }); // sqrt(25 / 4) = 2.5
 * assert(batch.join() === "1.2000000476837158,-1.600000023841858,0,0");
 * ```
 */
export function normaliseBySecondMoment(
  attributionsNHW: Float32Array,
  pixelsPerImage: number,
  { wholeBatch = false }: { wholeBatch?: boolean } = {},
): Float32Array {
  const out = new Float32Array(attributionsNHW.length);
  const rootMeanSquare = (from: number, to: number) => {
    let sum = 0;
    for (let j = from; j < to; j++) sum += attributionsNHW[j] * attributionsNHW[j];
    return Math.sqrt(sum / (to - from));
  };
  const batchRms = wholeBatch ? rootMeanSquare(0, attributionsNHW.length) : 0;
  for (let start = 0; start < attributionsNHW.length; start += pixelsPerImage) {
    const end = start + pixelsPerImage;
    const rms = wholeBatch ? batchRms : rootMeanSquare(start, end);
    // Quantus leaves an all-zero array as it is; so does a zero map here.
    for (let j = start; j < end; j++) {
      out[j] = rms === 0 ? attributionsNHW[j] : attributionsNHW[j] / rms;
    }
  }
  return out;
}

/**
 * The attributions a metric scores: a copy of `attributionsNHW`, normalised and/or made absolute
 * as `params` ask (normalise first, as Quantus does).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { prepareAttributions } from "./normalise.ts";
 * const p = { abs: true, normalise: true, quantusCompat: false };
 * const a = Float32Array.of(-4, 2);
 * assert(prepareAttributions(a, 2, p).join() === "1,0.5" && a[0] === -4);
 * ```
 */
export function prepareAttributions(
  attributionsNHW: Float32Array,
  pixelsPerImage: number,
  params: NormaliseParams,
): Float32Array {
  const normalise = params.normaliseBy === "second_moment"
    ? normaliseBySecondMoment
    : normaliseByMax;
  const out = params.normalise
    ? normalise(attributionsNHW, pixelsPerImage, { wholeBatch: params.quantusCompat })
    : attributionsNHW.slice();
  if (params.abs) { for (let j = 0; j < out.length; j++) out[j] = Math.abs(out[j]); }
  return out;
}
