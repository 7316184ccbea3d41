/**
 * ROAD, RemOve And Debias (Rong et al., "A Consistent and Efficient Evaluation Strategy for
 * Attribution Methods", ICML 2022), most relevant first (MoRF).
 *
 * For each percentage p (separately, not cumulatively), the ⌊H·W·p/100⌋ pixels of highest
 * attribution are removed by noisy linear imputation (`noisy_linear_imputation.ts`), so that the
 * removal itself leaks no information, and the model is asked again: curve_p = 1 if the
 * perturbed image is still classified as the target, else 0. The per-image score is the mean of
 * the curve over the percentages (the area under the MoRF accuracy curve of one image); Quantus
 * reports the mean over images per percentage. Removing the truly relevant pixels should
 * destroy the prediction early: lower is better.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, stableRankOrder } from "../metric.ts";
import { noisyLinearImputation } from "./noisy_linear_imputation.ts";
import { requireDefaultPerturbFunc } from "../functions/perturb.ts";
import { independentCopies, markConstantMaps } from "./perturbation_curve.ts";

/** Parameters of {@link ROAD}. */
export interface RoadParams extends CommonParams {
  /** Percentages of pixels removed, each in [0, 100). */
  percentages: number[];
  /** Standard deviation of the noise added to imputed values. */
  noise: number;
}

/**
 * ROAD: accuracy after removing the top p % of pixels by noisy linear imputation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ROAD } from "./road.ts";
 * assert(ROAD.direction === "lower" && ROAD.defaults.noise === 0.01);
 * ```
 */
export const ROAD = defineMetric<RoadParams>({
  name: "road",
  quantusName: "ROAD",
  category: "faithfulness",
  direction: "lower",
  paper: "Rong et al. 2022, A Consistent and Efficient Evaluation Strategy for Attribution Methods",
  description: "share of removal levels (noisy linear imputation) at which the class survives",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    percentages: [10, 20, 30, 40, 50, 60, 70, 80, 90],
    noise: 0.01,
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    const percentages = init.percentages ?? Array.from({ length: 50 }, (_, j) => 1 + 2 * j);
    if (!Array.isArray(percentages)) {
      throw new InputError(`road: percentages ${JSON.stringify(percentages)} must be a list`);
    }
    return {
      ...commonFromQuantus(init, call),
      percentages: percentages.map(Number),
      noise: Number(init.noise ?? 0.01),
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    const bad = params.percentages.find((p) => !(p >= 0 && p < 100));
    if (bad !== undefined || params.percentages.length === 0) {
      throw new InputError(
        `${this.name}: percentages [${params.percentages}] must be a non-empty list of numbers ` +
          "in [0, 100) (removing every pixel leaves nothing to impute from)",
      );
    }
    if (!(params.noise >= 0)) {
      throw new InputError(`${this.name}: noise ${params.noise} must be >= 0`);
    }
    const rank = context.rankOrder ?? stableRankOrder;
    const orders = Array.from(
      { length: n },
      (_, i) => rank(i, prepared.map(i), "descending"),
    );
    const levels = params.percentages.length;
    const k = context.model.numClasses;
    const outputs = await independentCopies(
      context.model,
      batch,
      levels * n,
      (e) => e % n,
      (e, image) => {
        const i = e % n;
        const count = Math.trunc((pixels * params.percentages[Math.floor(e / n)]) / 100);
        image.set(
          noisyLinearImputation(
            image,
            h,
            w,
            c,
            orders[i].subarray(0, count),
            params.noise,
            context.draws,
          ),
        );
      },
      { softmax: params.softmax, allClasses: true },
    );
    const curves = Array.from(
      { length: n },
      (_, i) =>
        Float64Array.from({ length: levels }, (_, level) => {
          const row = outputs.subarray((level * n + i) * k, (level * n + i + 1) * k);
          let best = 0;
          for (let j = 1; j < k; j++) if (row[j] > row[best]) best = j;
          return best === batch.targets[i] ? 1 : 0;
        }),
    );
    const result = {
      scores: Float64Array.from(curves, (curve) => curve.reduce((s, v) => s + v, 0) / levels),
      reasons: Array(n).fill(undefined),
      curves,
    };
    markConstantMaps(result, prepared, params.quantusCompat);
    return result;
  },
  toQuantus(result, params) {
    const curves = result.curves!;
    return Object.fromEntries(
      params.percentages.map((p, level) => [
        String(p),
        curves.reduce((sum, curve) => sum + curve[level], 0) / curves.length,
      ]),
    );
  },
});
