/**
 * Relevance Rank Accuracy (Arras et al., "CLEVR-XAI: A Benchmark Dataset for the Ground Truth
 * Evaluation of Neural Network Explanations", Information Fusion 2022).
 *
 * With K = |mask| pixels of evidence, the share of the K most relevant pixels that lie on it:
 *
 *     RRA = |top_K(a) ∩ mask| / K.
 *
 * 1 when the evidence holds exactly the K highest attributions. Ties in a are broken by the
 * context's rank order (pixel order by default; numpy's recorded order in a Quantus replay).
 * Higher is better (Quantus: `ScoreDirection.HIGHER`). An empty mask gives NaN with a reason, as
 * in Quantus.
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric, stableRankOrder } from "../metric.ts";
import { hitsInTop, scoreEachMask } from "../functions/masks.ts";

/**
 * Relevance Rank Accuracy, with Quantus's defaults (signed maps, normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { RELEVANCE_RANK_ACCURACY } from "./relevance_rank_accuracy.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(4, 3, 2, 1), masksNHW: Uint8Array.of(1, 0, 1, 0),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const p = RELEVANCE_RANK_ACCURACY.defaults;
 * const r = await RELEVANCE_RANK_ACCURACY.evaluate(context, batch, p);
 * assert(r.scores[0] === 0.5);
 * ```
 */
export const RELEVANCE_RANK_ACCURACY = defineMetric<CommonParams>({
  name: "relevance_rank_accuracy",
  quantusName: "RelevanceRankAccuracy",
  category: "localisation",
  direction: "higher",
  paper: "Arras et al. 2022, CLEVR-XAI: A Benchmark Dataset for the Ground Truth Evaluation " +
    "of Neural Network Explanations",
  description: "Share of the |mask| most relevant pixels inside the ground-truth mask",
  needs: ["masks"],
  defaults: { abs: false, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus(init, call) {
    return commonFromQuantus(init, call);
  },
  score(context, prepared) {
    const rankOrder = context.rankOrder ?? stableRankOrder;
    return scoreEachMask(
      prepared,
      (v, mask, area, i) => hitsInTop(rankOrder(i, v, "descending"), mask, area) / area,
    );
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
