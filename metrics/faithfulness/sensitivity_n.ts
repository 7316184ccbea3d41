/**
 * Sensitivity-N (Ancona et al., "Towards better understanding of gradient-based attribution
 * methods for Deep Neural Networks", ICLR 2018), as Quantus computes it: pixels are removed in
 * order of decreasing attribution, `featuresInStep` at a time and cumulatively (set to the
 * baseline of the current image), and after step k, with n_k = (k + 1)·featuresInStep pixels
 * removed, the output drop f(x)_y − f(x_k)_y is compared with the attribution mass removed,
 * Σ a over those n_k pixels. The correlation of the two ACROSS THE IMAGES OF THE BATCH is
 * Sensitivity-n_k; the score is its mean over the steps up to `nMaxPercentage` of the pixels.
 * Attributions that sum to the output change they explain correlate 1: higher is better.
 *
 * The result belongs to the batch, not to one image: every image of a batch gets the batch's
 * mean (the quantus stage's batches of `--chunk-size` images are the samples), and `curves`
 * holds the batch's per-step correlations, the same for every image.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, stableRankOrder } from "../metric.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import {
  correlationFromQuantus,
  type CorrelationName,
  CORRELATIONS,
} from "../functions/similarity.ts";
import { cumulativeCurves, orderedSteps, resolveFeaturesInStep } from "./perturbation_curve.ts";

/** Parameters of {@link SENSITIVITY_N}. */
export interface SensitivityNParams extends CommonParams {
  /** Pixels removed per step; 0 (the default) for one image row's worth (W). */
  featuresInStep: number;
  /** Steps are taken until this share of the pixels is removed (Quantus: 0.8). */
  nMaxPercentage: number;
  /** What removed pixels become. */
  perturbBaseline: Baseline;
  /** How the output drops and attribution sums are correlated across the batch. */
  similarity: CorrelationName;
  /** `toQuantus` gives [the mean] instead of the per-step list (Quantus's `return_aggregate`). */
  returnAggregate: boolean;
}

/**
 * The number of steps Quantus evaluates: int(nMaxPercentage · H·W // featuresInStep), Python's
 * floor division of floats.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluatedSteps } from "./sensitivity_n.ts";
 * assert(evaluatedSteps(0.8, 784, 28) === 22 && evaluatedSteps(0.8, 784, 1) === 627);
 * ```
 */
export function evaluatedSteps(nMaxPercentage: number, pixels: number, featuresInStep: number) {
  const removed = nMaxPercentage * pixels;
  return Math.round((removed - (removed % featuresInStep)) / featuresInStep);
}

/**
 * Sensitivity-N. Defaults: Quantus's (normalise on, abs off, 80 % of the pixels, `black`
 * baseline, Pearson, softmax outputs) but one image row per step instead of one pixel.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { SENSITIVITY_N } from "./sensitivity_n.ts";
 * await tf.setBackend("cpu");
 * // A linear "model" (the sum of the pixels) and Input x Gradient maps: exact attributions.
 * const input = tf.input({ shape: [1, 2, 1] });
 * const sum = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: sum }));
 * const x = Float32Array.of(1, 3, 2, 7, 5, 4);
 * const batch = {
 *   xNHWC: x, shapeNHWC: [3, 1, 2, 1] as const, targets: Int32Array.of(0, 0, 0),
 *   attributionsNHW: x.map((v, j) => v - Math.min(x[j - (j % 2)], x[j - (j % 2) + 1])),
 * };
 * const params = { ...SENSITIVITY_N.defaults, normalise: false, softmax: false, nMaxPercentage: 1 };
 * const r = await SENSITIVITY_N.evaluate({ model, draws: new SeededDraws(1) }, batch, params);
 * assert(Math.abs(r.scores[0] - 1) < 1e-9 && r.scores[2] === r.scores[0]);
 * model.dispose();
 * ```
 */
export const SENSITIVITY_N = defineMetric<SensitivityNParams>({
  name: "sensitivity_n",
  quantusName: "SensitivityN",
  category: "faithfulness",
  direction: "higher",
  paper: "Ancona et al. 2018, Towards better understanding of gradient-based attribution methods",
  description: "correlation across the batch of removed attribution mass and output drop",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    featuresInStep: 0,
    nMaxPercentage: 0.8,
    perturbBaseline: "black",
    similarity: "pearson",
    returnAggregate: true,
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      featuresInStep: Number(init.features_in_step ?? 1),
      nMaxPercentage: Number(init.n_max_percentage ?? 0.8),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      similarity: correlationFromQuantus(init.similarity_func, "pearson"),
      returnAggregate: init.return_aggregate == null ? true : Boolean(init.return_aggregate),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w] = batch.shapeNHWC;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    if (params.quantusCompat && (h * w) % featuresInStep) {
      throw new InputError(
        `${this.name}: featuresInStep ${featuresInStep} does not divide the ${h * w} pixels; ` +
          "Quantus refuses it (ours takes a smaller last step without quantusCompat)",
      );
    }
    const steps = evaluatedSteps(params.nMaxPercentage, h * w, featuresInStep);
    if (!(params.nMaxPercentage <= 1) || steps < 1) {
      throw new InputError(
        `${this.name}: nMaxPercentage ${params.nMaxPercentage} must be at most 1 and leave at ` +
          `least one step of ${featuresInStep} pixels`,
      );
    }
    const correlate = CORRELATIONS[params.similarity];
    if (!correlate) {
      throw new InputError(
        `${this.name}: similarity ${params.similarity}: choose pearson or spearman`,
      );
    }
    const rank = context.rankOrder ?? stableRankOrder;
    const removed = Array.from(
      { length: n },
      (_, i) =>
        orderedSteps(rank(i, prepared.map(i), "descending"), featuresInStep).slice(0, steps),
    );
    const before = await context.model.targetScores(batch.xNHWC, batch.shapeNHWC, batch.targets, {
      softmax: params.softmax,
    });
    const curves = await cumulativeCurves(context.model, batch, {
      steps: removed,
      baselines: (states) =>
        batchBaselines(params.perturbBaseline, states, batch.shapeNHWC, context.draws),
      softmax: params.softmax,
    });
    // Quantus sums the attributions of step k alone although the pixels of every earlier step
    // are removed too; the removed mass is their running total.
    const attributionSums = removed.map((imageSteps, i) => {
      const map = prepared.map(i);
      let total = 0;
      return Float64Array.from(imageSteps, (pixels) => {
        let sum = 0;
        for (const p of pixels) sum += map[p];
        total += sum;
        return params.quantusCompat ? sum : total;
      });
    });
    const correlations = Float64Array.from({ length: steps }, (_, k) =>
      correlate(
        // float32 differences of float32 outputs, as Quantus takes them.
        Array.from({ length: n }, (_, i) => Math.fround(before[i] - curves[i][k])),
        Array.from({ length: n }, (_, i) => attributionSums[i][k]),
      ));
    const defined = correlations.filter((r) => !Number.isNaN(r));
    const averaged = params.quantusCompat ? correlations : defined;
    const score = averaged.length ? averaged.reduce((s, r) => s + r, 0) / averaged.length : NaN;
    const reason = Number.isNaN(score)
      ? n < 2
        ? "a correlation across the batch needs at least 2 images"
        : params.quantusCompat && defined.length
        ? "the correlation of some step is undefined (constant output drops or attribution sums " +
          "across the batch), and Quantus's mean keeps its NaN"
        : "every step's correlation is undefined (constant output drops or attribution sums " +
          "across the batch)"
      : undefined;
    return {
      scores: new Float64Array(n).fill(score),
      reasons: Array(n).fill(reason),
      curves: Array.from({ length: n }, () => correlations),
    };
  },
  toQuantus: (result, params) =>
    params.returnAggregate ? [result.scores[0]] : Array.from(result.curves?.[0] ?? []),
});
