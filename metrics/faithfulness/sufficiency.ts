/**
 * Sufficiency (Dasgupta, Frost & Moshkovitz, "Framework for Evaluating Faithfulness of Local
 * Explanations", ICML 2022).
 *
 * An explanation is sufficient when the images it "applies to" get the same prediction. Two
 * images' explanations apply to each other when their distance, divided by the largest distance
 * in the batch, is at most `threshold`. Image i's local sufficiency is the share of the other
 * images within the threshold whose predicted class equals i's:
 *
 *   S_i = Σ_{j≠i} [d_ij ≤ t] [ŷ_i = ŷ_j] / Σ_{j≠i} [d_ij ≤ t].
 *
 * The distance is the standardised Euclidean one (each pixel's squared difference divided by its
 * variance over the batch) or the plain Euclidean one. Higher is better. The score depends on
 * the whole batch: evaluate all images together.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, scorePerImage } from "../metric.ts";

/** Distances between two explanations. */
export type SufficiencyDistance = "seuclidean" | "euclidean";

/** Parameters of {@link SUFFICIENCY}. */
export interface SufficiencyParams extends CommonParams {
  /** Largest normalised distance (in [0, 1]) at which an explanation applies to another image. */
  threshold: number;
  /** How explanations are compared. */
  distance: SufficiencyDistance;
}

/**
 * [N, N] distances of the flattened maps, divided by the largest. With `seuclidean`, pixel p's
 * squared differences are divided by its variance over the batch as scipy's `cdist` computes it
 * (over the maps stacked twice; the constant factor cancels in the division). Pixels of zero
 * variance carry no information and are skipped — unless `quantusCompat`, where (as scipy)
 * they make every distance NaN.
 */
function normalisedDistances(
  a: Float32Array,
  n: number,
  pixels: number,
  distance: SufficiencyDistance,
  quantusCompat: boolean,
): Float64Array {
  const inverseVariance = new Float64Array(pixels).fill(1);
  if (distance === "seuclidean") {
    for (let p = 0; p < pixels; p++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += a[i * pixels + p];
      mean /= n;
      let squares = 0;
      for (let i = 0; i < n; i++) squares += (a[i * pixels + p] - mean) ** 2;
      const variance = (2 * squares) / (2 * n - 1);
      inverseVariance[p] = variance > 0 ? 1 / variance : quantusCompat ? NaN : 0;
    }
  }
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < pixels; p++) {
        const diff = a[i * pixels + p] - a[j * pixels + p];
        // Quantus/scipy divide 0 by a zero variance (NaN); skipped pixels add nothing.
        sum += inverseVariance[p] === 0 ? 0 : diff * diff * inverseVariance[p];
      }
      d[i * n + j] = d[j * n + i] = Math.sqrt(sum);
    }
  }
  let max = 0;
  for (const v of d) max = Math.max(max, Math.abs(v));
  if (max > 0) { for (let j = 0; j < d.length; j++) d[j] /= max; }
  return d;
}

/**
 * Sufficiency: how often images whose explanations are close share the prediction.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SUFFICIENCY } from "./sufficiency.ts";
 * assert(SUFFICIENCY.direction === "higher" && SUFFICIENCY.defaults.distance === "seuclidean");
 * ```
 */
export const SUFFICIENCY = defineMetric<SufficiencyParams>({
  name: "sufficiency",
  quantusName: "Sufficiency",
  category: "faithfulness",
  direction: "higher",
  paper: "Dasgupta et al. 2022, Framework for Evaluating Faithfulness of Local Explanations",
  description: "share of images with a close explanation that get the same predicted class",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    threshold: 0.6,
    distance: "seuclidean",
  },
  fromQuantus(init, call) {
    const distance = init.distance_func ?? "seuclidean";
    if (distance !== "seuclidean") {
      // Quantus 0.6.0 always passes V=None to scipy's cdist, which only "seuclidean" accepts.
      throw new InputError(
        `sufficiency: distance_func ${String(distance)} fails in Quantus 0.6.0 (it passes ` +
          "V=None to scipy's cdist, which only seuclidean accepts); use seuclidean, or " +
          'distance: "euclidean" without quantusCompat',
      );
    }
    return {
      ...commonFromQuantus(init, call),
      threshold: Number(init.threshold ?? 0.6),
      distance,
    };
  },
  async score(context, prepared, params) {
    const { batch, attributionsNHW: a, pixels } = prepared;
    const n = batch.shapeNHWC[0];
    if (params.distance !== "seuclidean" && params.distance !== "euclidean") {
      throw new InputError(
        `${this.name}: distance ${params.distance}: choose seuclidean or euclidean`,
      );
    }
    if (!(params.threshold >= 0)) {
      throw new InputError(`${this.name}: threshold ${params.threshold} must be >= 0`);
    }
    const d = normalisedDistances(a, n, pixels, params.distance, params.quantusCompat);
    const k = context.model.numClasses;
    const outputs = await context.model.scores(batch.xNHWC, batch.shapeNHWC, {
      softmax: params.softmax,
    });
    const predicted = Int32Array.from({ length: n }, (_, i) => {
      let best = 0;
      for (let j = 1; j < k; j++) if (outputs[i * k + j] > outputs[i * k + best]) best = j;
      return best;
    });
    return scorePerImage(n, (i) => {
      let close = 0, same = 0;
      for (let j = 0; j < n; j++) {
        if (j === i || !(d[i * n + j] <= params.threshold)) continue;
        close++;
        if (predicted[j] === predicted[i]) same++;
      }
      if (close > 0) return same / close;
      // Quantus divides by infinity here and reports 0.
      if (params.quantusCompat) return 0;
      return {
        score: NaN,
        reason: n < 2
          ? "sufficiency compares images of a batch; this batch has one image"
          : `no other image's explanation is within distance ${params.threshold}, so no ` +
            "image shares it",
      };
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
