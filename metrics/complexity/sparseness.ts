/**
 * Sparseness (Chalasani et al., "Concise Explanations of Neural Networks using Adversarial
 * Training", ICML 2020).
 *
 * The Gini index of the map: with the n attribution values sorted ascending, v_(1) ≤ … ≤ v_(n),
 *
 *     G = Σ_k (2k − n − 1) · v_(k) / (n · Σ_k v_(k)).
 *
 * 0 when every pixel carries the same attribution, approaching 1 when one pixel carries all of
 * it: a sparse map is easier to read. Higher is better (Quantus: `ScoreDirection.HIGHER`).
 *
 * The Gini index is defined for non-negative values; a map with negative values (abs off) or an
 * all-zero map gives NaN with a reason. With `quantusCompat`, Quantus 0.6.0's arithmetic: every
 * value is shifted by 1e-7 (float32), so an all-zero map scores 0 and signed maps give values
 * outside [0, 1].
 *
 * @module
 */
import { commonFromQuantus, type CommonParams, defineMetric, scoreEachMap } from "../metric.ts";

/** Quantus adds this (as a float32) to every value before sorting. */
const QUANTUS_SHIFT = Math.fround(1e-7);

/** The Gini numerator Σ (2k − n − 1) v_(k) and the plain sum Σ v, in float64. */
function giniParts(values: Float32Array): { weighted: number; sum: number } {
  const sorted = values.slice().sort();
  const n = sorted.length;
  let weighted = 0, sum = 0;
  for (let k = 1; k <= n; k++) {
    weighted += (2 * k - n - 1) * sorted[k - 1];
    sum += sorted[k - 1];
  }
  return { weighted, sum };
}

/**
 * The Gini index of `values` as defined above (float64); no checks.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { giniIndex } from "./sparseness.ts";
 * assert(giniIndex(Float32Array.of(1, 1, 1, 1)) === 0);
 * assert(giniIndex(Float32Array.of(0, 0, 0, 1)) === 0.75);
 * ```
 */
export function giniIndex(values: Float32Array): number {
  const { weighted, sum } = giniParts(values);
  return weighted / (values.length * sum);
}

/** Quantus 0.6.0: float32 values shifted by 1e-7, a float32 denominator n · Σ v. */
function quantusGini(values: Float32Array): number {
  const { weighted, sum } = giniParts(Float32Array.from(values, (v) => v + QUANTUS_SHIFT));
  return weighted / Math.fround(values.length * Math.fround(sum));
}

/**
 * Sparseness, with Quantus's defaults (abs and normalise on).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { SPARSENESS } from "./sparseness.ts";
 * const batch = {
 *   xNHWC: new Float32Array(8), shapeNHWC: [2, 2, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(1, 1, 1, 1, 0, 0, 0, 5),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await SPARSENESS.evaluate(context, batch, SPARSENESS.defaults);
 * assert(r.scores[0] === 0 && r.scores[1] === 0.75);
 * ```
 */
export const SPARSENESS = defineMetric<CommonParams>({
  name: "sparseness",
  quantusName: "Sparseness",
  category: "complexity",
  direction: "higher",
  paper:
    "Chalasani et al. 2020, Concise Explanations of Neural Networks using Adversarial Training",
  description: "Gini index of the attribution map: how few pixels carry the attribution",
  needs: [],
  defaults: { abs: true, normalise: true, softmax: false, quantusCompat: false },
  fromQuantus(init, call) {
    return commonFromQuantus(init, call);
  },
  score(_context, prepared, params) {
    return scoreEachMap(prepared, (v) => {
      if (params.quantusCompat) return quantusGini(v);
      if (v.some((value) => value < 0)) {
        return {
          score: NaN,
          reason: "the Gini index needs non-negative attributions and this map has negative " +
            "values; turn abs on",
        };
      }
      if (v.every((value) => value === 0)) {
        return { score: NaN, reason: "the attribution map is all zero, so it has no sparseness" };
      }
      return giniIndex(v);
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
