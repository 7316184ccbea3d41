/**
 * Turning raw attributions into what a metric scores: Quantus's `normalise` (divide by the largest
 * |a|) and `abs`, in Quantus's order (normalise first), without ever modifying the caller's array.
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
  /** Divide each map by its largest |value| before scoring. */
  normalise: boolean;
  /**
   * Reproduce Quantus 0.6.0's defects; here: normalise by the largest |a| of the whole batch
   * instead of each image's.
   */
  quantusCompat: boolean;
}

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
  const out = params.normalise
    ? normaliseByMax(attributionsNHW, pixelsPerImage, { wholeBatch: params.quantusCompat })
    : attributionsNHW.slice();
  if (params.abs) { for (let j = 0; j < out.length; j++) out[j] = Math.abs(out[j]); }
  return out;
}
