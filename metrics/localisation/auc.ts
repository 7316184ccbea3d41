/**
 * AUC (Fawcett, "An Introduction to ROC Analysis", Pattern Recognition Letters 2006): the area
 * under the ROC curve of the attributions read as a pixel classifier of the evidence.
 *
 * Every distinct attribution value t is a threshold; the curve runs through
 * (FPR(t), TPR(t)) = (|{a ≥ t} \ mask| / |not mask|, |{a ≥ t} ∩ mask| / |mask|) and the area is
 * the trapezoidal sum (scikit-learn's `roc_curve` and `auc`, as Quantus uses). 1 when every
 * evidence pixel outranks every other pixel, 0.5 for a map unrelated to the evidence. Higher is
 * better (Quantus: `ScoreDirection.HIGHER`). An empty mask, or one covering the whole image, has
 * no ROC curve: NaN with a reason (Quantus: NaN).
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { scoreEachMask } from "../functions/masks.ts";

/**
 * Area under the ROC curve of `scores` against the 0/1 `labels`, ties at one threshold (float64);
 * NaN without positives or negatives.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rocAuc } from "./auc.ts";
 * assert(rocAuc(Float32Array.of(0.9, 0.1, 0.8, 0.2), Uint8Array.of(1, 0, 1, 0)) === 1);
 * assert(rocAuc(Float32Array.of(1, 1, 1, 1), Uint8Array.of(1, 0, 1, 0)) === 0.5);
 * ```
 */
export function rocAuc(scores: Float32Array, labels: Uint8Array): number {
  const order = Int32Array.from(scores.keys()).sort((i, j) => scores[j] - scores[i]);
  let positives = 0;
  for (const l of labels) if (l !== 0) positives++;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  let tp = 0, fp = 0, area = 0;
  for (let r = 0; r < order.length;) {
    const threshold = scores[order[r]];
    const tpBefore = tp, fpBefore = fp;
    for (; r < order.length && scores[order[r]] === threshold; r++) {
      if (labels[order[r]] !== 0) tp++;
      else fp++;
    }
    area += ((fp - fpBefore) / negatives) * ((tp + tpBefore) / positives) / 2;
  }
  return area;
}

/**
 * AUC, with Quantus's defaults (signed maps, normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { AUC } from "./auc.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(4, 3, 2, 1), masksNHW: Uint8Array.of(1, 0, 1, 0),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await AUC.evaluate(context, batch, AUC.defaults);
 * assert(r.scores[0] === 0.75);
 * ```
 */
export const AUC = defineMetric<CommonParams>({
  name: "auc",
  quantusName: "AUC",
  category: "localisation",
  direction: "higher",
  paper: "Fawcett 2006, An Introduction to ROC Analysis",
  description: "Area under the ROC curve of the attributions against the ground-truth mask",
  needs: ["masks"],
  defaults: { abs: false, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus(init, call) {
    return commonFromQuantus(init, call);
  },
  score(_context, prepared) {
    return scoreEachMask(prepared, (v, mask, area) => {
      if (area === v.length) {
        return {
          score: NaN,
          reason: "the ground-truth mask covers the whole image, so no pixel is outside it " +
            "and the ROC curve is undefined",
        };
      }
      return rocAuc(v, mask);
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
