/**
 * Attribution Localisation (Kohlbrenner et al., "Towards Best Practice in Explaining Neural
 * Network Decisions with LRP", IJCNN 2020).
 *
 * The share of the attribution that falls on the evidence:
 *
 *     μ = Σ_{i ∈ mask} a_i / Σ_i a_i,
 *
 * with `positiveAttributions` counting only a_i > 0, and with `weighted` multiplied by the mask's
 * share of the image, |mask| / (H·W). Higher is better (Quantus: `ScoreDirection.HIGHER`).
 * NaN with a reason when the mask is empty, when the map sums to 0, when μ > 1 (the mass outside
 * the mask is negative, so μ is no share), and when the mask covers more than `maxSize` of the
 * image (the paper scores only objects smaller than that).
 *
 * With `quantusCompat`, Quantus 0.6.0's arithmetic: the denominator is Σ a + 1e-9, `maxSize` only
 * warns, and `weighted` divides by the size of `x_batch[2:]` — (N − 2) · C · H · W, the batch axis
 * sliced by mistake — instead of H·W.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { massInside, scoreEachMask } from "../functions/masks.ts";

/** Parameters of {@link ATTRIBUTION_LOCALISATION}. */
export interface AttributionLocalisationParams extends CommonParams {
  /** Multiply the score by the mask's share of the image. */
  weighted: boolean;
  /** Largest share of the image a mask may cover (0 to 1). */
  maxSize: number;
  /** Count only positive attributions (after abs and normalise). */
  positiveAttributions: boolean;
}

/**
 * Attribution Localisation, with Quantus's defaults (abs and normalise on, unweighted).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { ATTRIBUTION_LOCALISATION } from "./attribution_localisation.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(3, 1, 0, 0), masksNHW: Uint8Array.of(1, 0, 0, 0),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const p = ATTRIBUTION_LOCALISATION.defaults;
 * const r = await ATTRIBUTION_LOCALISATION.evaluate(context, batch, p);
 * assert(Math.abs(r.scores[0] - 0.75) < 1e-7);
 * ```
 */
export const ATTRIBUTION_LOCALISATION = defineMetric<AttributionLocalisationParams>({
  name: "attribution_localisation",
  quantusName: "AttributionLocalisation",
  category: "localisation",
  direction: "higher",
  paper: "Kohlbrenner et al. 2020, Towards Best Practice in Explaining Neural Network " +
    "Decisions with LRP",
  description: "Share of the attribution mass inside the ground-truth mask",
  needs: ["masks"],
  defaults: {
    abs: true,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    weighted: false,
    maxSize: 1,
    positiveAttributions: false,
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      weighted: Boolean(init.weighted),
      maxSize: Number(init.max_size ?? 1),
      positiveAttributions: Boolean(init.positive_attributions),
    };
  },
  score(_context, prepared, params) {
    if (!(params.maxSize > 0 && params.maxSize <= 1)) {
      throw new InputError(`${this.name}: maxSize ${params.maxSize} must be in (0, 1]`);
    }
    const [n, h, w, c] = prepared.batch.shapeNHWC;
    // Quantus 0.6.0 takes the size of x_batch[2:] (a defect); the mask's image is H·W pixels.
    const imageSize = params.quantusCompat ? Math.max(0, n - 2) * c * h * w : h * w;
    return scoreEachMask(prepared, (values, mask, area) => {
      const v = params.positiveAttributions
        ? Float32Array.from(values, (x) => Math.max(0, x))
        : values;
      if (!params.quantusCompat && area / (h * w) > params.maxSize) {
        return {
          score: NaN,
          reason: `the mask covers ${(area / (h * w)).toFixed(3)} of the image, more than ` +
            `maxSize ${params.maxSize}`,
        };
      }
      const { inside, total } = massInside(v, mask);
      if (!params.quantusCompat && total === 0) {
        return { score: NaN, reason: "the attributions sum to 0, so they have no share" };
      }
      const share = params.quantusCompat
        ? Math.fround(Math.fround(inside) / Math.fround(Math.fround(total) + 1e-9))
        : inside / total;
      if (share > 1) {
        return {
          score: NaN,
          reason: `the mass inside the mask (${inside}) exceeds the total (${total}): ` +
            "negative attributions outside it, so the share is undefined",
        };
      }
      return params.weighted ? share * (area / imageSize) : share;
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
