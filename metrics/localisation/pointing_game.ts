/**
 * Pointing Game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016).
 *
 * A hit when the map's maximum lies on the evidence:
 *
 *     hit = 1 if some pixel i with a_i = max_j a_j has mask_i = 1, else 0.
 *
 * With `weighted`, a hit is worth 1 − |mask| / (H·W), so pointing into a small region counts more
 * than into one covering most of the image (a miss stays 0). Higher is better (Quantus:
 * `ScoreDirection.HIGHER`). An empty mask gives NaN with a reason.
 *
 * With `quantusCompat`, Quantus 0.6.0's behaviour: an empty mask scores true (its NaN is stored
 * in a boolean array), and `weighted` raises an InputError, as Quantus fails on it.
 * {@link POINTING_GAME}'s `toQuantus` returns booleans, as Quantus does; `scores` holds 1/0.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { scoreEachMask } from "../functions/masks.ts";

/** Parameters of {@link POINTING_GAME}. */
export interface PointingGameParams extends CommonParams {
  /** Weight each hit by 1 − (mask area / image area). */
  weighted: boolean;
}

/**
 * Pointing Game, with Quantus's defaults (signed maps, normalised, unweighted).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { POINTING_GAME } from "./pointing_game.ts";
 * const batch = {
 *   xNHWC: new Float32Array(8), shapeNHWC: [2, 2, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(0, 5, 1, 1, 9, 0, 0, 0),
 *   masksNHW: Uint8Array.of(0, 1, 0, 0, 0, 0, 1, 1),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await POINTING_GAME.evaluate(context, batch, POINTING_GAME.defaults);
 * assert(r.scores.join() === "1,0");
 * const quantus = POINTING_GAME.toQuantus(r, POINTING_GAME.defaults) as boolean[];
 * assert(quantus.join() === "true,false");
 * ```
 */
export const POINTING_GAME = defineMetric<PointingGameParams>({
  name: "pointing_game",
  quantusName: "PointingGame",
  category: "localisation",
  direction: "higher",
  paper: "Zhang et al. 2016, Top-down Neural Attention by Excitation Backprop",
  description: "1 when the attribution maximum lies inside the ground-truth mask",
  needs: ["masks"],
  defaults: { abs: false, normalise: true, softmax: false, quantusCompat: false, weighted: false },
  fromQuantus(init, call) {
    return { ...commonFromQuantus(init, call), weighted: Boolean(init.weighted) };
  },
  score(_context, prepared, params) {
    if (params.weighted && params.quantusCompat) {
      throw new InputError(
        `${this.name}: weighted=true fails inside Quantus 0.6.0 (a boolean-mask assignment ` +
          "with a 2-D right-hand side), so there is no Quantus score to reproduce; " +
          "turn quantusCompat off for the weighted score",
      );
    }
    return scoreEachMask(prepared, (v, mask, area) => {
      let max = -Infinity;
      for (const value of v) max = Math.max(max, value);
      let hit = false;
      for (let j = 0; j < v.length && !hit; j++) hit = v[j] === max && mask[j] !== 0;
      if (!hit) return 0;
      return params.weighted ? 1 - area / v.length : 1;
    }, params.quantusCompat ? () => 1 : undefined);
  },
  toQuantus(result, params) {
    const scores = Array.from(result.scores);
    return params.weighted ? scores : scores.map((s) => (Number.isNaN(s) ? s : s === 1));
  },
});
