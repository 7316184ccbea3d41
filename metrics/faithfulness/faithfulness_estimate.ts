/**
 * Faithfulness Estimate (Alvarez-Melis & Jaakkola, "Towards Robust Interpretability with
 * Self-Explaining Neural Networks", NeurIPS 2018).
 *
 * The pixels are taken in order of decreasing attribution, `featuresInStep` at a time. Each
 * group k alone (not cumulatively) is replaced by the baseline in the ORIGINAL image and the
 * drop of the target output is recorded, Δ_k = f(x)_y − f(x_{−k})_y, beside the group's
 * attribution mass m_k = Σ_{p∈k} a_p. The score is the Pearson correlation of m and Δ over the
 * groups: a faithful map puts its mass where removal hurts. Higher is better.
 *
 * @module
 */
import {
  commonFromQuantus,
  type CommonParams,
  defineMetric,
  scorePerImage,
  stableRankOrder,
} from "../metric.ts";
import { patchSums } from "../functions/patches.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  replacePixels,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import {
  independentCopies,
  markConstantMaps,
  orderedSteps,
  resolveFeaturesInStep,
} from "./perturbation_curve.ts";
import {
  correlationFromQuantus,
  type CorrelationName,
  CORRELATIONS,
} from "../functions/similarity.ts";

/** Parameters of {@link FAITHFULNESS_ESTIMATE}. */
export interface FaithfulnessEstimateParams extends CommonParams {
  /** Pixels per group; 0 (the default) for one image row's worth (W). */
  featuresInStep: number;
  /** What a group's pixels are replaced with. */
  perturbBaseline: Baseline;
  /** How mass and drop are compared. */
  similarity: CorrelationName;
}

/**
 * Faithfulness Estimate: correlation of attribution mass and output drop over pixel groups.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { FAITHFULNESS_ESTIMATE } from "./faithfulness_estimate.ts";
 * assert(FAITHFULNESS_ESTIMATE.direction === "higher");
 * assert(FAITHFULNESS_ESTIMATE.defaults.similarity === "pearson");
 * ```
 */
export const FAITHFULNESS_ESTIMATE = defineMetric<FaithfulnessEstimateParams>({
  name: "faithfulness_estimate",
  quantusName: "FaithfulnessEstimate",
  category: "faithfulness",
  direction: "higher",
  paper: "Alvarez-Melis & Jaakkola 2018, Towards Robust Interpretability with Self-Explaining NNs",
  description: "Pearson correlation of attribution mass and output drop over groups of pixels",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    featuresInStep: 0,
    perturbBaseline: "black",
    similarity: "pearson",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      featuresInStep: Number(init.features_in_step ?? 1),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      similarity: correlationFromQuantus(init.similarity_func, "pearson"),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    const rank = context.rankOrder ?? stableRankOrder;
    const steps = Array.from(
      { length: n },
      (_, i) => orderedSteps(rank(i, prepared.map(i), "descending"), featuresInStep),
    );
    const groups = steps[0].length;
    const options = { softmax: params.softmax };
    const original = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );
    // Quantus takes one baseline lookup (one draw for "uniform") per group, from the original x.
    const baselines = Array.from(
      { length: groups },
      () => batchBaselines(params.perturbBaseline, batch.xNHWC, batch.shapeNHWC, context.draws),
    );
    const perturbed = await independentCopies(
      context.model,
      batch,
      groups * n,
      (e) => e % n,
      (e, image) => {
        const k = Math.floor(e / n), i = e % n;
        replacePixels(image, c, steps[i][k], baselines[k][i]);
      },
      options,
    );
    const similarity = CORRELATIONS[params.similarity];
    const result = await scorePerImage(n, (i) => {
      const mass = Float64Array.from(patchSums(prepared.map(i), steps[i]));
      const drop = Float64Array.from(
        { length: groups },
        (_, k) => Math.fround(original[i] - perturbed[k * n + i]),
      );
      const score = similarity(mass, drop);
      if (!Number.isNaN(score)) return score;
      const constant = mass.every((v) => v === mass[0]) ? "attribution mass" : "output drop";
      return { score, reason: `the ${constant} is the same for every pixel group: no correlation` };
    });
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
