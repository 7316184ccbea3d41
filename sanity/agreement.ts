/**
 * How alike two models' explanations of the same images are, per image: Spearman's rank
 * correlation and the structural similarity (SSIM) of the two maps, the similarities Adebayo et
 * al. (2018) report for their sanity checks and that MPRT uses for the weights. Both maps are
 * prepared as MPRT prepares them (|a|, divided by its largest |value|), so a sign flip or a
 * scale change alone does not count as a difference.
 *
 * @module
 */
import { imageSlice } from "../metrics/metric.ts";
import { prepareAttributions } from "../metrics/functions/normalise.ts";
import { spearman, ssim1d } from "../metrics/functions/similarity.ts";

/** The per-image similarities of two sets of maps; NaN where a map is constant. */
export interface MapAgreement {
  spearman: Float64Array;
  ssim: Float64Array;
}

/** MPRT's preparation of each map before it is compared (Quantus's defaults, without its whole-batch normalisation defect). */
const PREPARATION = { abs: true, normalise: true, quantusCompat: false } as const;

/**
 * Spearman's ρ and SSIM between `aNHW[i]` and `bNHW[i]` for every image i (maps of `pixels`
 * values each, in the same image order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { mapAgreement } from "./agreement.ts";
 * const a = Float32Array.from({ length: 16 }, (_, i) => i);
 * // Image 0: the same map at twice the scale and flipped in sign; image 1: reversed.
 * const b = Float32Array.from([...a].map((v) => -2 * v));
 * const reversed = Float32Array.from([...a].reverse());
 * const { spearman, ssim } = mapAgreement(
 *   Float32Array.from([...a, ...a]), Float32Array.from([...b, ...reversed]), 16);
 * assert(spearman[0] === 1 && Math.abs(ssim[0] - 1) < 1e-12);
 * assert(spearman[1] === -1 && ssim[1] < 0);
 * ```
 */
export function mapAgreement(aNHW: Float32Array, bNHW: Float32Array, pixels: number): MapAgreement {
  if (aNHW.length !== bNHW.length || aNHW.length % pixels !== 0) {
    throw new RangeError(
      `mapAgreement: ${aNHW.length} and ${bNHW.length} values are not the same whole number ` +
        `of ${pixels}-pixel maps`,
    );
  }
  const n = aNHW.length / pixels;
  const a = prepareAttributions(aNHW, pixels, PREPARATION);
  const b = prepareAttributions(bNHW, pixels, PREPARATION);
  const result = { spearman: new Float64Array(n), ssim: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const [x, y] = [imageSlice(a, i, pixels), imageSlice(b, i, pixels)];
    result.spearman[i] = spearman(x, y);
    result.ssim[i] = ssim1d(x, y);
  }
  return result;
}
