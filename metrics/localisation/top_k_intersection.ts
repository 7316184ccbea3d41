/**
 * Top-K Intersection (Theiner et al., "Interpretable Semantic Photo Geolocation", WACV 2022).
 *
 * The share of the k most relevant pixels that lie on the evidence:
 *
 *     TKI = |top_k(a) ∩ mask| / k,
 *
 * with `conceptInfluence` multiplied by (H·W) / |mask|, so that hitting a small region counts as
 * much as hitting a large one. Ties in a are broken by the context's rank order (pixel order by
 * default; numpy's recorded order in a Quantus replay). Higher is better (Quantus:
 * `ScoreDirection.HIGHER`). An empty mask gives NaN with a reason, as in Quantus.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, stableRankOrder } from "../metric.ts";
import { hitsInTop, scoreEachMask } from "../functions/masks.ts";

/** Parameters of {@link TOP_K_INTERSECTION}. */
export interface TopKIntersectionParams extends CommonParams {
  /** How many of the most relevant pixels are compared with the mask. */
  k: number;
  /** Multiply by image area / mask area. */
  conceptInfluence: boolean;
}

/**
 * Top-K Intersection, with Quantus's defaults (k = 1000, signed maps, normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { TOP_K_INTERSECTION } from "./top_k_intersection.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(4, 3, 2, 1), masksNHW: Uint8Array.of(1, 0, 0, 1),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const p = { ...TOP_K_INTERSECTION.defaults, k: 2 };
 * const r = await TOP_K_INTERSECTION.evaluate(context, batch, p);
 * assert(r.scores[0] === 0.5);
 * ```
 */
export const TOP_K_INTERSECTION = defineMetric<TopKIntersectionParams>({
  name: "top_k_intersection",
  quantusName: "TopKIntersection",
  category: "localisation",
  direction: "higher",
  paper: "Theiner et al. 2022, Interpretable Semantic Photo Geolocation",
  description: "Share of the k most relevant pixels inside the ground-truth mask",
  needs: ["masks"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    k: 1000,
    conceptInfluence: false,
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      k: Number(init.k ?? 1000),
      conceptInfluence: Boolean(init.concept_influence),
    };
  },
  score(context, prepared, params) {
    const { pixels } = prepared;
    if (!Number.isInteger(params.k) || params.k < 1 || params.k > pixels) {
      throw new InputError(
        `${this.name}: k ${params.k} must be an integer from 1 to ${pixels} (H x W); ` +
          "choose a smaller k for these images",
      );
    }
    const rankOrder = context.rankOrder ?? stableRankOrder;
    return scoreEachMask(prepared, (v, mask, area, i) => {
      const share = hitsInTop(rankOrder(i, v, "descending"), mask, params.k) / params.k;
      return params.conceptInfluence ? share * (pixels / area) : share;
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
