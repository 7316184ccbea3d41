/**
 * Insertion and Deletion (Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for
 * Explanation of Black-box Models", BMVC 2018), as Xplique 2.0.0 defines them
 * (`xplique.metrics.Insertion`, `Deletion`, their base `CausalFidelity`): one concept, a path
 * between the image and a baseline walked in the map's order, in two directions.
 *
 * The pixels are ordered by decreasing attribution. Along `steps` steps, the first
 * c_k = ⌊k · m / steps⌋ of them (m = ⌊H · W · `maxPercentagePerturbed`⌋ pixels in all, every
 * channel; numpy's `linspace(0, m, steps + 1).astype(int32)`) take their value from the end
 * image, the rest from the start image, and the model's output for the target is recorded at
 * k = 0..steps:
 *
 * - **Deletion**: from the image to the baseline. A faithful map names first the pixels the
 *   output rests on, so the curve falls fast: lower is better.
 * - **Insertion**: from the baseline to the image. The output should come back fast: higher is
 *   better.
 *
 * The score is the area under the curve on a unit x axis, the mean of the trapezoids
 * (s_k + s_{k+1}) / 2 over the `steps` intervals (Xplique's `evaluate`, per image here: Xplique's
 * number is the mean of these over the images).
 *
 * Xplique's defaults: `steps` 10, `max_percentage_perturbed` 1, `baseline_mode` 0 (every input
 * value, here in the model's input space: the ImageNet mean colour for our normalised images),
 * and the model's output as it is (`activation=None`: logits here; `softmax: true` is
 * `activation="softmax"`, the paper's class probability). `baselineMode: "blurred"` is the
 * paper's insertion start, the image blurred by a Gaussian of σ = `blurSigmaPx` (5 px, the
 * paper's), made by `xai/gradient/baselines.ts`. Pixels of equal attribution keep pixel order
 * (numpy's `argsort` leaves their order to its sort); a constant map ranks nothing, so its
 * score is NaN unless `quantusCompat`.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { makeBaselineNHWC } from "../../xai/gradient/baselines.ts";
import {
  type CommonParams,
  defineMetric,
  type MetricDefinition,
  stableRankOrder,
} from "../metric.ts";
import { cumulativeCurves, markConstantMaps, trapezoid } from "./perturbation_curve.ts";

/** What the pixels come from at the baseline end of the path. */
export type CausalBaselineMode = "constant" | "blurred";

/** Parameters of {@link INSERTION} and {@link DELETION}, named as Xplique's `CausalFidelity`. */
export interface CausalFidelityParams extends CommonParams {
  /** `steps`: the curve's intervals (it has steps + 1 points); −1 for one pixel per step. */
  steps: number;
  /** `max_percentage_perturbed`, in (0, 1]: the share of the pixels the path reaches. */
  maxPercentagePerturbed: number;
  /** The baseline: every value `baselineValue`, or the image blurred. */
  baselineMode: CausalBaselineMode;
  /** `baseline_mode` as a number: the value of a `constant` baseline, in the model's input space. */
  baselineValue: number;
  /** σ in pixels of the Gaussian a `blurred` baseline is made with. */
  blurSigmaPx: number;
}

/** Which way the path runs: from the image to the baseline, or back. */
type CausalMode = "deletion" | "insertion";

/**
 * c_0..c_steps, how many of the ordered pixels have left the start image at each point, as
 * numpy's `linspace(0, m, steps + 1, dtype=int32)`: k · (m / steps) truncated, the last m.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { causalStepCounts } from "./insertion_deletion.ts";
 * assert(causalStepCounts(4, 3).join() === "0,1,2,4");
 * assert(causalStepCounts(10, 4).join() === "0,2,5,7,10");
 * ```
 */
export function causalStepCounts(maxPerturbed: number, steps: number): Int32Array {
  const stride = maxPerturbed / steps;
  return Int32Array.from(
    { length: steps + 1 },
    (_, k) => k === steps ? maxPerturbed : Math.trunc(k * stride),
  );
}

/** The checked `steps` (−1 resolved) and m, the pixels the path reaches. */
function pathLength(metric: string, params: CausalFidelityParams, pixels: number) {
  const { maxPercentagePerturbed: share, baselineMode, blurSigmaPx, baselineValue } = params;
  if (!(share > 0 && share <= 1)) {
    throw new InputError(`${metric}: maxPercentagePerturbed ${share} must be in (0, 1]`);
  }
  const maxPerturbed = Math.floor(pixels * share);
  const steps = params.steps === -1 ? maxPerturbed : params.steps;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new InputError(
      `${metric}: steps ${params.steps} must be an integer >= 1, or -1 for one pixel per step` +
        (params.steps === -1 ? ` (here 0: maxPercentagePerturbed reaches no pixel)` : ""),
    );
  }
  if (baselineMode !== "constant" && baselineMode !== "blurred") {
    throw new InputError(
      `${metric}: baselineMode "${baselineMode}" must be "constant" (every value ` +
        `baselineValue) or "blurred"`,
    );
  }
  if (baselineMode === "constant" && !Number.isFinite(baselineValue)) {
    throw new InputError(`${metric}: baselineValue ${baselineValue} must be a finite number`);
  }
  if (baselineMode === "blurred" && !(blurSigmaPx > 0)) {
    throw new InputError(`${metric}: blurSigmaPx ${blurSigmaPx} must be > 0`);
  }
  return { steps, maxPerturbed };
}

function causalFidelity(
  mode: CausalMode,
  names: { name: string; quantusName: string; description: string },
): MetricDefinition<CausalFidelityParams> {
  return defineMetric<CausalFidelityParams>({
    ...names,
    category: "faithfulness",
    direction: mode === "insertion" ? "higher" : "lower",
    paper: "Petsiuk et al. 2018, RISE: Randomized Input Sampling for Explanation of Black-box " +
      "Models",
    needs: ["model"],
    defaults: {
      abs: false,
      normalise: false,
      softmax: false,
      quantusCompat: false,
      steps: 10,
      maxPercentagePerturbed: 1,
      baselineMode: "constant",
      baselineValue: 0,
      blurSigmaPx: 5,
    },
    /** Xplique's arguments: `steps`, `max_percentage_perturbed`, `baseline_mode`, `activation`. */
    fromQuantus(init, call) {
      const activation = init.activation ?? call.activation ?? null;
      if (activation !== null && activation !== "softmax") {
        throw new InputError(
          `${this.name}: activation ${JSON.stringify(activation)} is not supported; use null ` +
            `(the model's logits) or "softmax"`,
        );
      }
      const baseline = init.baseline_mode ?? 0;
      if (typeof baseline !== "number") {
        throw new InputError(
          `${this.name}: baseline_mode ${JSON.stringify(baseline)} must be a number; a ` +
            `callable baseline is baselineMode "blurred" or none`,
        );
      }
      return {
        abs: false,
        normalise: false,
        softmax: activation === "softmax",
        quantusCompat: true,
        steps: Number(init.steps ?? 10),
        maxPercentagePerturbed: Number(init.max_percentage_perturbed ?? 1),
        baselineMode: "constant",
        baselineValue: baseline,
        blurSigmaPx: 5,
      };
    },
    async score(context, prepared, params) {
      const { batch, pixels } = prepared;
      const n = batch.shapeNHWC[0];
      const { steps, maxPerturbed } = pathLength(this.name, params, pixels);
      const counts = causalStepCounts(maxPerturbed, steps);
      const rank = context.rankOrder ?? stableRankOrder;
      const reasons: (string | undefined)[] = Array(n).fill(undefined);
      // Point 0 is the start image itself: an empty first step, scored with the others.
      const pathSteps = Array.from({ length: n }, (_, i) => {
        const map = prepared.map(i);
        if (!map.every(Number.isFinite)) {
          reasons[i] = "the attribution map holds NaN or infinite values: it orders no pixels";
          return [];
        }
        const order = rank(i, map, "descending");
        return Array.from(counts, (end, k) => order.subarray(k === 0 ? 0 : counts[k - 1], end));
      });
      const baselineNHWC = params.baselineMode === "blurred"
        ? makeBaselineNHWC("blurred", batch.xNHWC, batch.shapeNHWC, {
          blurSigmaPx: params.blurSigmaPx,
        })
        : new Float32Array(batch.xNHWC.length).fill(params.baselineValue);
      const [startNHWC, endNHWC] = mode === "deletion"
        ? [batch.xNHWC, baselineNHWC]
        : [baselineNHWC, batch.xNHWC];
      const curves = await cumulativeCurves(context.model, batch, {
        steps: pathSteps,
        startNHWC,
        insertFromNHWC: endNHWC,
        softmax: params.softmax,
      });
      const result = {
        scores: Float64Array.from(curves, (curve, i) => {
          if (reasons[i] !== undefined) return NaN;
          const area = trapezoid(curve) / steps;
          if (!Number.isFinite(area)) {
            reasons[i] = "the model's output along the path is not finite";
          }
          return Number.isFinite(area) ? area : NaN;
        }),
        reasons,
        curves: curves.map((curve) => Float64Array.from(curve)),
      };
      markConstantMaps(result, prepared, params.quantusCompat);
      return result;
    },
    toQuantus(result) {
      return Array.from(result.scores);
    },
  });
}

/**
 * Deletion: the area under the target output as the most relevant pixels go to the baseline.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DELETION } from "./insertion_deletion.ts";
 * assert(DELETION.direction === "lower" && DELETION.defaults.steps === 10);
 * ```
 */
export const DELETION: MetricDefinition<CausalFidelityParams> = causalFidelity("deletion", {
  name: "deletion",
  quantusName: "Deletion",
  description: "area under the target output as the most relevant pixels are set to a " +
    "baseline (Xplique)",
});

/**
 * Insertion: the area under the target output as the most relevant pixels return to a baseline
 * image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { INSERTION } from "./insertion_deletion.ts";
 * assert(INSERTION.direction === "higher" && INSERTION.defaults.baselineMode === "constant");
 * ```
 */
export const INSERTION: MetricDefinition<CausalFidelityParams> = causalFidelity("insertion", {
  name: "insertion",
  quantusName: "Insertion",
  description: "area under the target output as the most relevant pixels are put back into " +
    "a baseline image (Xplique)",
});
