/**
 * Faithfulness Correlation (Bhatt et al., "Evaluating and Aggregating Feature-based Model
 * Explanations", IJCAI 2020).
 *
 * For `nrRuns` random subsets S of `subsetSize` pixels: replace S by the baseline and record
 * how much the target output falls, Δ = f(x)_y − f(x_S)_y, beside the attribution mass on S,
 * Σ_{p∈S} a_p. The score is the Pearson correlation of the two over the runs: attributions are
 * faithful when removing what they call important hurts the model most. Higher is better.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, scorePerImage } from "../metric.ts";
import { copiesPerPass } from "../metric_model.ts";
import { type Baseline, batchBaselines, parseBaseline } from "../functions/perturb.ts";
import { pearson } from "../functions/similarity.ts";

/** Parameters of {@link FAITHFULNESS_CORRELATION}. */
export interface FaithfulnessCorrelationParams extends CommonParams {
  /** Random subsets drawn per image. */
  nrRuns: number;
  /** Pixels per subset. */
  subsetSize: number;
  /** What the subset's pixels are replaced with. */
  perturbBaseline: Baseline;
}

/**
 * Faithfulness Correlation, with the reference pipeline's settings as defaults (50 runs of 50
 * pixels, black baseline, logits).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { FAITHFULNESS_CORRELATION } from "./faithfulness_correlation.ts";
 * assert(FAITHFULNESS_CORRELATION.direction === "higher");
 * assert(FAITHFULNESS_CORRELATION.defaults.nrRuns === 50);
 * ```
 */
export const FAITHFULNESS_CORRELATION = defineMetric<FaithfulnessCorrelationParams>({
  name: "faithfulness_correlation",
  quantusName: "FaithfulnessCorrelation",
  category: "faithfulness",
  direction: "higher",
  paper: "Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations",
  description: "Pearson correlation of attribution mass and output drop over random pixel subsets",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    nrRuns: 50,
    subsetSize: 50,
    perturbBaseline: "black",
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      nrRuns: Number(init.nr_runs ?? 100),
      subsetSize: Number(init.subset_size ?? 224),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    const n = batch.shapeNHWC[0];
    if (!Number.isInteger(params.nrRuns) || params.nrRuns < 2) {
      throw new InputError(`${this.name}: nrRuns ${params.nrRuns} must be an integer >= 2`);
    }
    if (
      !Number.isInteger(params.subsetSize) || params.subsetSize < 1 || params.subsetSize > pixels
    ) {
      throw new InputError(
        `${this.name}: subsetSize ${params.subsetSize} must be an integer from 1 to ${pixels} (H x W)`,
      );
    }
    const options = { softmax: params.softmax };
    const original = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );

    // Draw every run's subsets first, in Quantus's order (per run: a subset per image, then the
    // baseline lookup), then score the perturbed copies of many runs in batched model calls
    // (built `copiesPerPass` runs per pass, or at the stem's output: `targetScoresOfSubsetCopies`).
    const m = params.subsetSize;
    const subsetsKNM = new Int32Array(params.nrRuns * n * m); // row run * n + i
    const baselinesKN = new Float32Array(params.nrRuns * n);
    for (let run = 0; run < params.nrRuns; run++) {
      for (let i = 0; i < n; i++) {
        subsetsKNM.set(context.draws.choiceWithoutReplacement(pixels, m), (run * n + i) * m);
      }
      baselinesKN.set(
        batchBaselines(params.perturbBaseline, batch.xNHWC, batch.shapeNHWC, context.draws),
        run * n,
      );
    }
    const drops = new Float64Array(params.nrRuns * n); // [run * n + i]
    const runsPerCall = copiesPerPass(batch.shapeNHWC);
    for (let first = 0; first < params.nrRuns; first += runsPerCall) {
      const runs = Math.min(runsPerCall, params.nrRuns - first);
      const scores = await context.model.targetScoresOfSubsetCopies(
        {
          xNHWC: batch.xNHWC,
          shapeNHWC: batch.shapeNHWC,
          copies: runs,
          selection: {
            mode: "subsets",
            pixelsKNM: subsetsKNM.subarray(first * n * m, (first + runs) * n * m),
            subsetSize: m,
          },
          baselinesKN: baselinesKN.subarray(first * n, (first + runs) * n),
        },
        batch.targets,
        options,
      );
      for (let slot = 0; slot < runs * n; slot++) {
        drops[first * n + slot] = Math.fround(original[slot % n] - scores[slot]);
      }
    }

    return scorePerImage(n, (i) => {
      const ai = prepared.map(i);
      const mass = new Float64Array(params.nrRuns);
      const drop = new Float64Array(params.nrRuns);
      for (let run = 0; run < params.nrRuns; run++) {
        let sum = 0;
        for (const p of subsetsKNM.subarray((run * n + i) * m, (run * n + i + 1) * m)) sum += ai[p];
        mass[run] = Math.fround(sum);
        drop[run] = drops[run * n + i];
      }
      const score = pearson(mass, drop);
      if (!Number.isNaN(score)) return score;
      const constant = mass.every((v) => v === mass[0]) ? "attribution mass" : "output drop";
      return {
        score,
        reason: `the ${constant} is the same in every run, so no correlation exists`,
      };
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
