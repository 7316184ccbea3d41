/**
 * Effective Complexity (Nguyen and Martínez, "On Quantitative Aspects of Model
 * Interpretability", 2020).
 *
 * The number of pixels whose attribution exceeds a threshold ε:
 *
 *     EC = |{ i : a_i > ε }|.
 *
 * With abs on (the default) that is the number of pixels of non-negligible magnitude; with abs
 * off, as in Quantus, only positive evidence above ε counts. Fewer pixels to look at is a
 * simpler explanation: lower is better (Quantus: `ScoreDirection.LOWER`). Always defined (an
 * all-zero map scores 0).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, scoreEachMap } from "../metric.ts";

/** Parameters of {@link EFFECTIVE_COMPLEXITY}. */
export interface EffectiveComplexityParams extends CommonParams {
  /** A pixel counts when its (prepared) attribution is greater than this. */
  eps: number;
}

/**
 * Effective Complexity, with Quantus's defaults (ε = 1e-5, abs and normalise on).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { EFFECTIVE_COMPLEXITY } from "./effective_complexity.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(0, -2, 1e-9, 1),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await EFFECTIVE_COMPLEXITY.evaluate(context, batch, EFFECTIVE_COMPLEXITY.defaults);
 * assert(r.scores[0] === 2);
 * ```
 */
export const EFFECTIVE_COMPLEXITY = defineMetric<EffectiveComplexityParams>({
  name: "effective_complexity",
  quantusName: "EffectiveComplexity",
  category: "complexity",
  direction: "lower",
  paper: "Nguyen and Martínez 2020, On Quantitative Aspects of Model Interpretability",
  description: "Number of pixels whose attribution exceeds eps",
  needs: [],
  defaults: { abs: true, normalise: true, softmax: false, quantusCompat: false, eps: 1e-5 },
  fromQuantus(init, call) {
    return { ...commonFromQuantus(init, call), eps: Number(init.eps ?? 1e-5) };
  },
  score(_context, prepared, params) {
    if (!Number.isFinite(params.eps)) {
      throw new InputError(`${this.name}: eps ${params.eps} must be a finite number, e.g. 1e-5`);
    }
    return scoreEachMap(prepared, (map) => {
      let count = 0;
      for (const v of map) if (v > params.eps) count++;
      return count;
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
