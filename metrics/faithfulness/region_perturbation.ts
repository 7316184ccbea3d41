/**
 * Region Perturbation (Samek et al., "Evaluating the Visualization of What a Deep Neural Network
 * Has Learned", IEEE TNNLS 2017).
 *
 * The image is cut into `patchSize` x `patchSize` regions, ranked by their attribution sum
 * (most relevant first, MoRF, by default). The first `regionsEvaluation` regions are replaced by
 * the baseline one after another, cumulatively, and after each step k the drop of the target
 * output is recorded: curve_k = f(x)_y − f(x_{(k)})_y. The per-image score is the mean of the
 * curve, the paper's AOPC (area over the MoRF perturbation curve) for one image:
 * AOPC = 1/K Σ_k curve_k. With MoRF, higher is better (removing what the map calls relevant
 * hurts most); with `order: "lerf"` lower is.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { parsePatchOrder, type PatchOrder, patchRemovalCurves } from "../functions/patches.ts";
import { type Baseline, parseBaseline, requireDefaultPerturbFunc } from "../functions/perturb.ts";
import { markConstantMaps } from "./perturbation_curve.ts";

/** Parameters of {@link REGION_PERTURBATION}. */
export interface RegionPerturbationParams extends CommonParams {
  /** Side of a square region in pixels. */
  patchSize: number;
  /** How many regions are removed (curve length; fewer when the image has fewer). */
  regionsEvaluation: number;
  /** Removal order. */
  order: PatchOrder;
  /** What removed regions become. */
  perturbBaseline: Baseline;
}

/**
 * Region Perturbation: AOPC of the target output as the most relevant regions are removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { REGION_PERTURBATION } from "./region_perturbation.ts";
 * assert(REGION_PERTURBATION.direction === "higher");
 * assert(REGION_PERTURBATION.defaults.order === "morf");
 * ```
 */
export const REGION_PERTURBATION = defineMetric<RegionPerturbationParams>({
  name: "region_perturbation",
  quantusName: "RegionPerturbation",
  category: "faithfulness",
  direction: "higher",
  paper:
    "Samek et al. 2017, Evaluating the Visualization of What a Deep Neural Network Has Learned",
  description:
    "mean drop of the target probability as the most relevant regions are removed (AOPC)",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    patchSize: 8,
    regionsEvaluation: 100,
    order: "morf",
    perturbBaseline: "black",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      patchSize: Number(init.patch_size ?? 8),
      regionsEvaluation: Number(init.regions_evaluation ?? 100),
      order: parsePatchOrder(init.order ?? "morf"),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const n = batch.shapeNHWC[0];
    if (!Number.isInteger(params.regionsEvaluation) || params.regionsEvaluation < 1) {
      throw new InputError(
        `${this.name}: regionsEvaluation ${params.regionsEvaluation} must be an integer >= 1`,
      );
    }
    const options = { softmax: params.softmax };
    const original = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );
    const perturbed = await patchRemovalCurves(
      context,
      prepared,
      params,
      params.order,
      params.regionsEvaluation,
    );
    const curves = perturbed.map((curve, i) =>
      Float64Array.from(curve, (score) => Math.fround(original[i] - score))
    );
    const result = {
      scores: Float64Array.from(curves, (curve) => curve.reduce((s, v) => s + v, 0) / curve.length),
      reasons: Array(n).fill(undefined),
      curves,
    };
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result) {
    return result.curves!.map((curve) => Array.from(curve));
  },
});
