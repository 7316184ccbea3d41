/**
 * Monotonicity (Arya et al., "One Explanation Does Not Fit All: A Toolkit and Taxonomy of AI
 * Explainability Techniques", 2019).
 *
 * Starting from a baseline image (every pixel the baseline value of x), the pixels of x are
 * inserted back in order of INCREASING attribution, `featuresInStep` at a time and cumulatively,
 * recording the target output after each step. The explanation is monotonic when every
 * insertion raises (or keeps) the output: score = 1 if f_1 ≤ f_2 ≤ … ≤ f_K, else 0. Higher is
 * better.
 *
 * Quantus 0.6.0 instead "inserts" the baseline into the all-baseline image, which never changes
 * it, so every image is monotonic; `quantusCompat` reproduces that.
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
} from "./perturbation_curve.ts";

/** Parameters of {@link MONOTONICITY_ARYA}. */
export interface MonotonicityAryaParams extends CommonParams {
  /** Pixels inserted per step; 0 (the default) for one image row's worth (W). */
  featuresInStep: number;
  /** The value of every pixel of the starting image. */
  perturbBaseline: Baseline;
}

/**
 * Monotonicity (Arya): 1 when inserting pixels in increasing attribution order never lowers the
 * target output, else 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MONOTONICITY_ARYA } from "./monotonicity_arya.ts";
 * assert(MONOTONICITY_ARYA.direction === "higher");
 * ```
 */
export const MONOTONICITY_ARYA = defineMetric<MonotonicityAryaParams>({
  name: "monotonicity_arya",
  quantusName: "MonotonicityArya",
  category: "faithfulness",
  direction: "higher",
  paper:
    "Arya et al. 2019, One Explanation Does Not Fit All: A Toolkit and Taxonomy of AI Explainability",
  description:
    "1 if inserting pixels by increasing attribution never lowers the target probability",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    featuresInStep: 0,
    perturbBaseline: "black",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      featuresInStep: Number(init.features_in_step ?? 1),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    const perImage = pixels * c;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    const rank = context.rankOrder ?? stableRankOrder;
    const steps = Array.from(
      { length: n },
      (_, i) => orderedSteps(rank(i, prepared.map(i), "ascending"), featuresInStep),
    );
    const start = batchBaselines(
      params.perturbBaseline,
      batch.xNHWC,
      batch.shapeNHWC,
      context.draws,
    );
    const startNHWC = Float32Array.from(
      { length: n * perImage },
      (_, j) => start[Math.floor(j / perImage)],
    );
    const curves = await cumulativeCurves(context.model, batch, {
      steps,
      startNHWC,
      ...(params.quantusCompat
        ? {
          baselines: (states: Float32Array) =>
            batchBaselines(params.perturbBaseline, states, batch.shapeNHWC, context.draws),
        }
        : { insertFromNHWC: batch.xNHWC }),
      softmax: params.softmax,
    });
    const result = {
      scores: Float64Array.from(
        curves,
        (curve) => curve.every((v, k) => k === 0 || v >= curve[k - 1]) ? 1 : 0,
      ),
      reasons: Array(n).fill(undefined),
      curves: curves.map((curve) => Float64Array.from(curve)),
    };
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result) {
    return Array.from(result.scores, (s) => s === 1);
  },
});
