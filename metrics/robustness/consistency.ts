/**
 * Consistency (Dasgupta et al., "Framework for Evaluating Faithfulness of Local Explanations",
 * ICML 2022): images whose explanations are the same should get the same prediction. Each map is
 * discretised to a label — the positions and signs of its `topN` largest |attributions| — and
 * image i scores the share of the other images with i's label that also share i's predicted
 * class:
 *
 *   consistency_i = #{j ≠ i : label_j = label_i, ŷ_j = ŷ_i} / #{j ≠ i : label_j = label_i}.
 *
 * Like Sufficiency it compares the images of one `evaluate` call with each other, so pass them
 * together. Higher is better.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { argmaxRows } from "../../models/inference.ts";
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";

/** Parameters of {@link CONSISTENCY}. */
export interface ConsistencyParams extends CommonParams {
  /** How many of the largest |attributions| the label keeps (Quantus's `top_n_sign`: 5). */
  topN: number;
}

/** Quantus's guard against an image no other image shares a label with. */
const QUANTUS_EPSILON = 1e-9;

/**
 * One map's label: the positions of its `topN` largest |values| (ties in pixel order) with their
 * signs. With `quantusCompat`, Quantus's `top_n_sign`: the signs of its first `topN` entries in
 * row-major order, wherever the largest values are.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { signLabel } from "./consistency.ts";
 * const map = Float32Array.of(0, -3, 0.5, 2);
 * assert(signLabel(map, 2, false) === "1-,3+");
 * assert(signLabel(map, 2, true) === "0,-");
 * ```
 */
export function signLabel(mapHW: Float32Array, topN: number, quantusCompat: boolean): string {
  const sign = (v: number) => (v > 0 ? "+" : v < 0 ? "-" : "0");
  if (quantusCompat) return Array.from(mapHW.subarray(0, topN), sign).join(",");
  const order = Int32Array.from(mapHW.keys())
    .sort((a, b) => Math.abs(mapHW[b]) - Math.abs(mapHW[a]) || a - b);
  return Array.from(order.subarray(0, topN), (p) => `${p}${sign(mapHW[p])}`).join(",");
}

/**
 * Consistency, with Quantus's defaults (abs and normalise on, softmax outputs, the top 5).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CONSISTENCY } from "./consistency.ts";
 * assert(CONSISTENCY.direction === "higher" && CONSISTENCY.defaults.topN === 5);
 * ```
 */
export const CONSISTENCY = defineMetric<ConsistencyParams>({
  name: "consistency",
  quantusName: "Consistency",
  category: "robustness",
  direction: "higher",
  paper: "Dasgupta et al. 2022, Framework for Evaluating Faithfulness of Local Explanations",
  description: "share of images with the same discretised explanation that share the prediction",
  needs: ["model"],
  defaults: { abs: true, normalise: true, softmax: true, quantusCompat: false, topN: 5 },
  fromQuantus(init, call) {
    const discretise = init.discretise_func;
    if (discretise != null && !String(discretise).endsWith("top_n_sign")) {
      throw new InputError(
        `${this.name}: discretise_func ${String(discretise)} is not supported; leave it unset ` +
          "(top_n_sign)",
      );
    }
    return { ...commonFromQuantus(init, call), topN: 5 };
  },
  async score(context, prepared, params) {
    if (!Number.isInteger(params.topN) || params.topN < 1) {
      throw new InputError(`${this.name}: topN ${params.topN} must be an integer >= 1`);
    }
    const { batch } = prepared;
    const n = batch.shapeNHWC[0];
    const predicted = argmaxRows(
      await context.model.scores(batch.xNHWC, batch.shapeNHWC, { softmax: params.softmax }),
      context.model.numClasses,
    );
    const labels = Array.from(
      { length: n },
      (_, i) => signLabel(prepared.map(i), params.topN, params.quantusCompat),
    );
    const scores = new Float64Array(n);
    const reasons: (string | undefined)[] = Array(n).fill(undefined);
    for (let i = 0; i < n; i++) {
      let peers = 0, agreeing = 0;
      for (let j = 0; j < n; j++) {
        if (j === i || labels[j] !== labels[i]) continue;
        peers++;
        if (predicted[j] === predicted[i]) agreeing++;
      }
      if (params.quantusCompat) scores[i] = agreeing / (peers + QUANTUS_EPSILON);
      else if (peers) scores[i] = agreeing / peers;
      else {
        scores[i] = NaN;
        reasons[i] = "no other image of the batch has the same discretised explanation";
      }
    }
    return { scores, reasons };
  },
  toQuantus: (result) => Array.from(result.scores),
});
