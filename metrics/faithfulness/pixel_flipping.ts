/**
 * Pixel Flipping (Bach et al., "On Pixel-Wise Explanations for Non-Linear Classifier Decisions
 * by Layer-Wise Relevance Propagation", PLOS ONE 2015).
 *
 * Pixels are removed in order of decreasing attribution, `featuresInStep` at a time and
 * cumulatively (each removed pixel set to the baseline of the current image), and the model's
 * output for the target class is recorded after each step: curve_k = f(x_{(k)})_y, k = 1..K.
 * A faithful map names the pixels the decision rests on first, so the curve falls fast. The
 * per-image score is the area under the curve, Σ_k (curve_k + curve_{k+1}) / 2 (trapezoidal,
 * unit spacing, as `np.trapz`). Lower is better.
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric, stableRankOrder } from "../metric.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import {
  cumulativeCurves,
  markConstantMaps,
  orderedSteps,
  resolveFeaturesInStep,
  trapezoid,
} from "./perturbation_curve.ts";

/** Parameters of {@link PIXEL_FLIPPING}. */
export interface PixelFlippingParams extends CommonParams {
  /** Pixels removed per step; 0 (the default) for one image row's worth (W). */
  featuresInStep: number;
  /** What removed pixels become. */
  perturbBaseline: Baseline;
  /** `toQuantus` gives the per-image AUC instead of the curves (Quantus's `return_auc_per_sample`). */
  returnAucPerSample: boolean;
}

/**
 * Pixel Flipping: the AUC of the target output as the most relevant pixels are removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PIXEL_FLIPPING } from "./pixel_flipping.ts";
 * assert(PIXEL_FLIPPING.direction === "lower" && PIXEL_FLIPPING.defaults.softmax);
 * ```
 */
export const PIXEL_FLIPPING = defineMetric<PixelFlippingParams>({
  name: "pixel_flipping",
  quantusName: "PixelFlipping",
  category: "faithfulness",
  direction: "lower",
  paper: "Bach et al. 2015, On Pixel-Wise Explanations for Non-Linear Classifier Decisions by LRP",
  description: "area under the target probability as the most relevant pixels are removed",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    featuresInStep: 0,
    perturbBaseline: "black",
    returnAucPerSample: false,
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      featuresInStep: Number(init.features_in_step ?? 1),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      returnAucPerSample: Boolean(init.return_auc_per_sample),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w] = batch.shapeNHWC;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    const rank = context.rankOrder ?? stableRankOrder;
    const steps = Array.from(
      { length: n },
      (_, i) => orderedSteps(rank(i, prepared.map(i), "descending"), featuresInStep),
    );
    const curves = await cumulativeCurves(context.model, batch, {
      steps,
      baselines: (states) =>
        batchBaselines(params.perturbBaseline, states, batch.shapeNHWC, context.draws),
      softmax: params.softmax,
    });
    const result = {
      scores: Float64Array.from(curves, (curve) => trapezoid(curve)),
      reasons: Array(n).fill(undefined),
      curves: curves.map((curve) => Float64Array.from(curve)),
    };
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result, params) {
    return params.returnAucPerSample
      ? Array.from(result.scores)
      : result.curves!.map((curve) => Array.from(curve));
  },
});
