/**
 * Monotonicity Correlation (Nguyen & Rodríguez Martínez, "On Quantitative Aspects of Model
 * Interpretability", 2020) — Quantus's `MonotonicityCorrelation`.
 *
 * With p = f(x)_y: pixels are taken in order of increasing attribution, `featuresInStep` at a
 * time. Each group k alone is replaced in the ORIGINAL image by a baseline, `nrSamples` times
 * (a fresh uniform value each time by default), and the output's variance around p is recorded,
 * v_k = (1/p²) · 1/R Σ_r (f(x_{−k,r})_y − p)², beside the group's attribution mass
 * m_k = Σ_{p∈k} a_p. The score is Spearman's correlation of m and v: features that matter more
 * should move the output more. Higher is better.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import {
  allNaN,
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

/** Parameters of {@link MONOTONICITY_NGUYEN}. */
export interface MonotonicityNguyenParams extends CommonParams {
  /** Pixels per group; 0 (the default) for one image row's worth (W). */
  featuresInStep: number;
  /** Perturbations per group (Quantus's default is 100). */
  nrSamples: number;
  /** Below this |p| the 1/p² scaling is replaced by 1. */
  eps: number;
  /** What a group's pixels are replaced with (a fresh draw per sample for "uniform"). */
  perturbBaseline: Baseline;
  /** How mass and variance are compared. */
  similarity: CorrelationName;
}

/**
 * Monotonicity (Nguyen): Spearman correlation of attribution mass and output variance.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MONOTONICITY_NGUYEN } from "./monotonicity_nguyen.ts";
 * assert(MONOTONICITY_NGUYEN.direction === "higher");
 * assert(MONOTONICITY_NGUYEN.defaults.perturbBaseline === "uniform");
 * ```
 */
export const MONOTONICITY_NGUYEN = defineMetric<MonotonicityNguyenParams>({
  name: "monotonicity_nguyen",
  quantusName: "MonotonicityNguyen",
  category: "faithfulness",
  direction: "higher",
  paper: "Nguyen & Rodríguez Martínez 2020, On Quantitative Aspects of Model Interpretability",
  description: "Spearman correlation of attribution mass and output variance under perturbation",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    featuresInStep: 0,
    nrSamples: 10,
    eps: 1e-5,
    perturbBaseline: "uniform",
    similarity: "spearman",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      featuresInStep: Number(init.features_in_step ?? 1),
      nrSamples: Number(init.nr_samples ?? 100),
      eps: Number(init.eps ?? 1e-5),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "uniform"),
      similarity: correlationFromQuantus(init.similarity_func, "spearman"),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    if (!Number.isInteger(params.nrSamples) || params.nrSamples < 1) {
      throw new InputError(`${this.name}: nrSamples ${params.nrSamples} must be an integer >= 1`);
    }
    const options = { softmax: params.softmax };
    const original = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );
    if (params.quantusCompat && original.some((p) => Math.abs(p) < params.eps)) {
      return allNaN(
        n,
        `a prediction is below eps ${params.eps}: Quantus 0.6.0 raises for the whole batch ` +
          "(mismatched masked assignment); without quantusCompat such images use a scale of 1",
      );
    }
    const rank = context.rankOrder ?? stableRankOrder;
    const steps = Array.from(
      { length: n },
      (_, i) => orderedSteps(rank(i, prepared.map(i), "ascending"), featuresInStep),
    );
    const groups = steps[0].length;
    const samples = params.nrSamples;
    // Quantus's order: for each group, for each sample, one baseline lookup for the whole batch.
    const baselines = Array.from(
      { length: groups * samples },
      () => batchBaselines(params.perturbBaseline, batch.xNHWC, batch.shapeNHWC, context.draws),
    );
    const perturbed = await independentCopies(
      context.model,
      batch,
      groups * samples * n,
      (e) => e % n,
      (e, image) => {
        const run = Math.floor(e / n), i = e % n;
        replacePixels(image, c, steps[i][Math.floor(run / samples)], baselines[run][i]);
      },
      options,
    );
    const similarity = CORRELATIONS[params.similarity];
    const result = await scorePerImage(n, (i) => {
      const p = original[i];
      // float32 arithmetic as Quantus's float32 predictions; the 1/p² scale in float64.
      const scale = Math.abs(p) >= params.eps ? Math.fround(1 / Math.abs(p)) ** 2 : 1;
      const variance = Float64Array.from({ length: groups }, (_, k) => {
        let sum = 0;
        for (let r = 0; r < samples; r++) {
          const d = Math.fround(perturbed[(k * samples + r) * n + i] - p);
          sum = Math.fround(sum + Math.fround(d * d));
        }
        return Math.fround(sum / samples) * scale;
      });
      const mass = Float64Array.from(patchSums(prepared.map(i), steps[i]));
      const score = similarity(mass, variance);
      if (!Number.isNaN(score)) return score;
      const constant = mass.every((v) => v === mass[0]) ? "attribution mass" : "output variance";
      return { score, reason: `the ${constant} is the same for every pixel group: no correlation` };
    });
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
