/**
 * Selectivity (Montavon et al., "Methods for Interpreting and Understanding Deep Neural
 * Networks", Digital Signal Processing 2018).
 *
 * The image is cut into `patchSize` x `patchSize` patches, ranked by attribution sum, and ALL
 * patches are removed one after another, most relevant first, cumulatively; after each removal
 * the target output is recorded: curve_k = f(x_{(k)})_y. A selective explanation makes the output
 * collapse after the first few patches. The per-image score is the area under the curve
 * (trapezoidal, unit spacing). Lower is better.
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import { patchRemovalCurves } from "../functions/patches.ts";
import { type Baseline, parseBaseline, requireDefaultPerturbFunc } from "../functions/perturb.ts";
import { markConstantMaps, trapezoid } from "./perturbation_curve.ts";

/** Parameters of {@link SELECTIVITY}. */
export interface SelectivityParams extends CommonParams {
  /** Side of a square patch in pixels. */
  patchSize: number;
  /** What removed patches become. */
  perturbBaseline: Baseline;
}

/**
 * Selectivity: the AUC of the target output as patches are removed, most relevant first.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SELECTIVITY } from "./selectivity.ts";
 * assert(SELECTIVITY.direction === "lower" && SELECTIVITY.defaults.patchSize === 8);
 * ```
 */
export const SELECTIVITY = defineMetric<SelectivityParams>({
  name: "selectivity",
  quantusName: "Selectivity",
  category: "faithfulness",
  direction: "lower",
  paper: "Montavon et al. 2018, Methods for Interpreting and Understanding Deep Neural Networks",
  description: "area under the target probability as all patches are removed, most relevant first",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    patchSize: 8,
    perturbBaseline: "black",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      patchSize: Number(init.patch_size ?? 8),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
    };
  },
  async score(context, prepared, params) {
    const n = prepared.batch.shapeNHWC[0];
    const perturbed = await patchRemovalCurves(context, prepared, params, "morf");
    const curves = perturbed.map((curve) => Float64Array.from(curve));
    const result = {
      scores: Float64Array.from(curves, (curve) => trapezoid(curve)),
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
