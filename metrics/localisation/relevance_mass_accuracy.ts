/**
 * Relevance Mass Accuracy (Arras et al., "CLEVR-XAI: A Benchmark Dataset for the Ground Truth
 * Evaluation of Neural Network Explanations", Information Fusion 2022).
 *
 * The share of the attribution mass that falls on the evidence:
 *
 *     RMA = Σ_{i ∈ mask} a_i / Σ_i a_i.
 *
 * In [0, 1] for non-negative maps; signed maps can leave that range. Higher is better (Quantus:
 * `ScoreDirection.HIGHER`). An empty mask gives NaN with a reason, as in Quantus; a map summing
 * to 0 gives NaN with a reason (Quantus divides by it: ±Infinity or NaN, kept with
 * `quantusCompat`).
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { massInside, scoreEachMask } from "../functions/masks.ts";

/**
 * Relevance Mass Accuracy, with Quantus's defaults (signed maps, normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { RELEVANCE_MASS_ACCURACY } from "./relevance_mass_accuracy.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(4, 3, 2, 1), masksNHW: Uint8Array.of(1, 0, 1, 0),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const p = RELEVANCE_MASS_ACCURACY.defaults;
 * const r = await RELEVANCE_MASS_ACCURACY.evaluate(context, batch, p);
 * assert(r.scores[0] === 0.6);
 * ```
 */
export const RELEVANCE_MASS_ACCURACY = defineMetric<CommonParams>({
  name: "relevance_mass_accuracy",
  quantusName: "RelevanceMassAccuracy",
  category: "localisation",
  direction: "higher",
  paper: "Arras et al. 2022, CLEVR-XAI: A Benchmark Dataset for the Ground Truth Evaluation " +
    "of Neural Network Explanations",
  description: "Share of the attribution mass inside the ground-truth mask",
  needs: ["masks"],
  defaults: { abs: false, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus(init, call) {
    return commonFromQuantus(init, call);
  },
  score(_context, prepared, params) {
    return scoreEachMask(prepared, (v, mask) => {
      const { inside, total } = massInside(v, mask);
      if (params.quantusCompat) return Math.fround(inside) / Math.fround(total);
      if (total === 0) {
        return { score: NaN, reason: "the attributions sum to 0, so they have no share" };
      }
      return inside / total;
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
