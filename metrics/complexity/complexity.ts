/**
 * Complexity (Bhatt et al., "Evaluating and Aggregating Feature-based Model Explanations",
 * IJCAI 2020).
 *
 * The entropy of the fractional contribution distribution: with P(i) = |a_i| / Σ_j |a_j|,
 *
 *     H = − Σ_i P(i) · ln P(i)      (0 · ln 0 = 0).
 *
 * 0 when one pixel carries all the attribution, ln(H·W) when every pixel carries the same: a map
 * spread over many pixels is harder to read. Lower is better (Quantus: `ScoreDirection.LOWER`).
 * An all-zero map has no distribution: NaN with a reason.
 *
 * With `quantusCompat`, Quantus 0.6.0's formula P(i) = a_i / Σ|a_j| without the magnitude in the
 * numerator and ln(P + 1e-12) in float32: a map with negative values (abs off) is NaN.
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric, scoreEachMap } from "../metric.ts";

/**
 * The entropy (natural log) of |values| / Σ|values|, in float64; NaN for an all-zero vector.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { contributionEntropy } from "./complexity.ts";
 * assert(Math.abs(contributionEntropy(Float32Array.of(1, -1, 1, 1)) - Math.log(4)) < 1e-12);
 * assert(contributionEntropy(Float32Array.of(0, 3, 0)) === 0);
 * ```
 */
export function contributionEntropy(values: Float32Array): number {
  let total = 0;
  for (const v of values) total += Math.abs(v);
  if (total === 0) return NaN;
  let entropy = 0;
  for (const v of values) {
    const p = Math.abs(v) / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return entropy;
}

/** Quantus 0.6.0: p = a / Σ|a| in float32 (signed), −Σ p · ln(p + 1e-12). */
function quantusEntropy(values: Float32Array): number {
  let total = 0;
  for (const v of values) total += Math.abs(v);
  const totalF32 = Math.fround(total);
  let entropy = 0;
  for (const v of values) {
    const p = Math.fround(v / totalF32);
    entropy -= p * Math.log(Math.fround(p + 1e-12));
  }
  return Math.fround(entropy);
}

/**
 * Complexity, with Quantus's defaults (abs and normalise on).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { COMPLEXITY } from "./complexity.ts";
 * const batch = {
 *   xNHWC: new Float32Array(8), shapeNHWC: [2, 2, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(1, 1, 1, 1, 0, 0, 0, 5),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await COMPLEXITY.evaluate(context, batch, COMPLEXITY.defaults);
 * assert(Math.abs(r.scores[0] - Math.log(4)) < 1e-12 && r.scores[1] === 0);
 * ```
 */
export const COMPLEXITY = defineMetric<CommonParams>({
  name: "complexity",
  quantusName: "Complexity",
  category: "complexity",
  direction: "lower",
  paper: "Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations",
  description: "Entropy of the attribution map's fractional contributions |a_i| / sum |a|",
  needs: [],
  defaults: { abs: true, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus(init, call) {
    return commonFromQuantus(init, call);
  },
  score(_context, prepared, params) {
    return scoreEachMap(prepared, (v) => {
      if (v.every((value) => value === 0)) {
        return { score: NaN, reason: "the attribution map is all zero, so it has no entropy" };
      }
      if (!params.quantusCompat) return contributionEntropy(v);
      const score = quantusEntropy(v);
      return Number.isNaN(score)
        ? {
          score,
          reason: "Quantus 0.6.0 takes the log of signed fractions a/sum|a|: NaN for a map " +
            "with negative values (turn abs on, or quantusCompat off)",
        }
        : score;
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
