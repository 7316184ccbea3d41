/**
 * MetaQuantus's consistency criteria (Hedström et al. 2023, "The Meta-Evaluation Problem in
 * Explainable AI: Identifying Reliable Estimators with MetaQuantus", TMLR), computed from a
 * metric's scores of several explanation methods before (Q*) and after (Q̂) perturbations:
 *
 * - **IAC, intra-consistency**, per method and perturbation: the two-sided Wilcoxon signed-rank
 *   p-value of Q* against Q̂ over the images (scipy's `zero_method="zsplit"`). Under a minor
 *   perturbation (noise resilience, NR) the score distribution should not move: IAC_NR = p.
 *   Under a disruptive one (adversarial reactivity, AR) it should: IAC_AR = 1 − p.
 * - **IEC, inter-consistency**, per perturbation, over methods and images: NR, the share of rank
 *   positions where the same method holds the same place in the methods' order by score before
 *   and after (MetaQuantus compares the two `argsort`s position by position); AR, the share of
 *   (method, image) pairs whose score got worse (lower for a higher-is-better metric, higher
 *   for a lower-is-better one).
 * - Each criterion is averaged per iteration (IAC over methods and perturbations, IEC over
 *   perturbations) and then over iterations; the **MC score** is the mean of the four, each in
 *   [0, 1], higher better.
 *
 * Which images count: resilience criteria read the images whose prediction the perturbation
 * kept, adversary criteria those whose prediction it changed (MetaQuantus's `indices`). Beyond
 * MetaQuantus, an image whose score is NaN before or after is left out of that comparison
 * (scipy would make the whole p-value NaN), and a comparison with no image left is NaN and left
 * out of the means (MetaQuantus's `nanmean`).
 *
 * @module
 */
import { wilcoxonSignedRank } from "../../statistics/wilcoxon.ts";
import type { ScoreDirection } from "../metric.ts";

/** Minor perturbations (noise resilience) or disruptive ones (adversarial reactivity). */
export type PerturbationKind = "resilience" | "adversary";

/**
 * IAC of one method under one perturbation: the Wilcoxon signed-rank p-value (zsplit) of the
 * scores before and after over the images in `subset`, as is for `resilience`, 1 − p for
 * `adversary`; NaN when no image with both scores is in the subset.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { intraConsistency } from "./consistency.ts";
 * const q = [0.1, 0.5, 0.3, 0.9, 0.7];
 * const all = [true, true, true, true, true];
 * assert(intraConsistency(q, q, all, "resilience") === 1); // nothing moved
 * assert(intraConsistency(q, q, all, "adversary") === 0);
 * const lower = q.map((v, i) => v - 10 - i); // every score fell: p = 2/2^5
 * assert(intraConsistency(q, lower, all, "adversary") === 1 - 0.0625);
 * assert(Number.isNaN(intraConsistency(q, q, all.map(() => false), "resilience")));
 * ```
 */
export function intraConsistency(
  qStar: ArrayLike<number>,
  qHat: ArrayLike<number>,
  subset: ArrayLike<boolean>,
  kind: PerturbationKind,
): number {
  const differences: number[] = [];
  for (let i = 0; i < qStar.length; i++) {
    const d = qStar[i] - qHat[i];
    if (subset[i] && Number.isFinite(d)) differences.push(d);
  }
  if (differences.length === 0) return NaN;
  const { p } = wilcoxonSignedRank(differences, { zeroMethod: "zsplit" });
  return kind === "resilience" ? p : 1 - p;
}

/**
 * IEC_NR under one perturbation: over the images in `subset` with every method scored before
 * and after, the share of positions where the methods' order by score (ascending, ties in
 * method order) holds the same method before and after; NaN when no image is left.
 *
 * @param qStarMN `[method][image]` scores before.
 * @param qHatMN `[method][image]` scores after.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { interConsistencyResilience } from "./consistency.ts";
 * const before = [[1, 1], [2, 2], [3, 3]];
 * const shifted = [[11, 1], [12, 3], [13, 2]]; // image 0 keeps the order, image 1 swaps two
 * assert(interConsistencyResilience(before, before, [true, true]) === 1);
 * assert(interConsistencyResilience(before, shifted, [true, true]) === 4 / 6);
 * assert(interConsistencyResilience(before, shifted, [false, true]) === 1 / 3);
 * ```
 */
export function interConsistencyResilience(
  qStarMN: readonly ArrayLike<number>[],
  qHatMN: readonly ArrayLike<number>[],
  subset: ArrayLike<boolean>,
): number {
  let same = 0, positions = 0;
  for (let i = 0; i < subset.length; i++) {
    if (!subset[i]) continue;
    const before = qStarMN.map((q) => q[i]), after = qHatMN.map((q) => q[i]);
    if (![...before, ...after].every(Number.isFinite)) continue;
    const [orderBefore, orderAfter] = [ascendingOrder(before), ascendingOrder(after)];
    for (let m = 0; m < orderBefore.length; m++) same += orderBefore[m] === orderAfter[m] ? 1 : 0;
    positions += orderBefore.length;
  }
  return positions === 0 ? NaN : same / positions;
}

/**
 * IEC_AR under one perturbation: over the methods and the images in `subset` scored before and
 * after, the share whose score got worse by the metric's `direction` (strictly: lower for
 * `higher`, higher for `lower`); NaN when none is left. This is MetaQuantus's rule with its
 * `score_direction` read as meant (MetaQuantus's own test of the string is always true, so it
 * applies the lower-is-better rule to every metric; its pull request #10 fixes that).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { interConsistencyAdversary } from "./consistency.ts";
 * const before = [[0.5, 0.5], [0.5, 0.5]];
 * const after = [[0.1, 0.9], [0.2, 0.5]];
 * assert(interConsistencyAdversary(before, after, [true, true], "higher") === 2 / 4);
 * assert(interConsistencyAdversary(before, after, [true, true], "lower") === 1 / 4);
 * ```
 */
export function interConsistencyAdversary(
  qStarMN: readonly ArrayLike<number>[],
  qHatMN: readonly ArrayLike<number>[],
  subset: ArrayLike<boolean>,
  direction: ScoreDirection,
): number {
  let worse = 0, pairs = 0;
  for (const [m, qStar] of qStarMN.entries()) {
    for (let i = 0; i < subset.length; i++) {
      const [before, after] = [qStar[i], qHatMN[m][i]];
      if (!subset[i] || !Number.isFinite(before) || !Number.isFinite(after)) continue;
      worse += (direction === "higher" ? after < before : after > before) ? 1 : 0;
      pairs++;
    }
  }
  return pairs === 0 ? NaN : worse / pairs;
}

/** One perturbation of a test: the scores after it and which predictions it kept. */
export interface PerturbedScores {
  /** `[method][image]` the metric's scores under the perturbation. */
  qHatMN: Float64Array[];
  /** `[image]` whether the perturbation kept the model's prediction. */
  predictionKept: readonly boolean[];
}

/**
 * One perturbation test's scores (model or input space): the unperturbed scores and, per
 * iteration, its perturbations' scores under the resilience (minor) and adversary (disruptive)
 * noise.
 */
export interface PerturbationTestScores {
  /** `[method][image]` the metric's scores without perturbation (Q*). */
  qStarMN: Float64Array[];
  /** `[iteration][perturbation]` under the minor noise. */
  resilience: PerturbedScores[][];
  /** `[iteration][perturbation]` under the disruptive noise. */
  adversary: PerturbedScores[][];
}

/** The four criteria and the MC score of one metric under one perturbation test. */
export interface MetaConsistency {
  iacNr: number;
  iacAr: number;
  iecNr: number;
  iecAr: number;
  /** Mean of the four over iterations (MetaQuantus's `MC_mean`). */
  mc: number;
  /** Population standard deviation over iterations of each iteration's MC (`MC_std`). */
  mcStd: number;
  /** Each iteration's MC (`MC_means`). */
  mcPerIteration: number[];
}

/**
 * The criteria of one perturbation test, aggregated as MetaQuantus's
 * `run_meta_consistency_analysis` does: per iteration IAC is the mean over methods and
 * perturbations, IEC over perturbations, and that iteration's MC the mean of the four; each
 * criterion and MC are then means over iterations, NaNs left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaConsistency } from "./consistency.ts";
 * // An ideal metric: minor noise moves nothing, disruptive noise makes every score worse.
 * const qStar = [Float64Array.of(5, 6, 7, 8, 9, 10), Float64Array.of(1, 2, 3, 4, 5, 6)];
 * const kept = Array(6).fill(true), flipped = Array(6).fill(false);
 * const same = { qHatMN: qStar, predictionKept: kept };
 * const worse = { qHatMN: qStar.map((q) => q.map((v, i) => v - 100 - i)), predictionKept: flipped };
 * const r = metaConsistency({ qStarMN: qStar, resilience: [[same]], adversary: [[worse]] }, "higher");
 * assert(r.iacNr === 1 && r.iecNr === 1 && r.iecAr === 1 && r.iacAr === 1 - 2 / 64);
 * assert(r.mc === (3 + 1 - 2 / 64) / 4 && r.mcStd === 0);
 * ```
 */
export function metaConsistency(
  scores: PerturbationTestScores,
  direction: ScoreDirection,
): MetaConsistency {
  const { qStarMN } = scores;
  const perIteration = (
    byIteration: PerturbedScores[][],
    kind: PerturbationKind,
  ): { iac: number; iec: number }[] =>
    byIteration.map((perturbations) => {
      const subsetOf = (p: PerturbedScores) =>
        p.predictionKept.map((kept) => kind === "resilience" ? kept : !kept);
      const iac = perturbations.flatMap((p) =>
        qStarMN.map((qStar, m) => intraConsistency(qStar, p.qHatMN[m], subsetOf(p), kind))
      );
      const iec = perturbations.map((p) =>
        kind === "resilience"
          ? interConsistencyResilience(qStarMN, p.qHatMN, subsetOf(p))
          : interConsistencyAdversary(qStarMN, p.qHatMN, subsetOf(p), direction)
      );
      return { iac: nanMean(iac), iec: nanMean(iec) };
    });
  const nr = perIteration(scores.resilience, "resilience");
  const ar = perIteration(scores.adversary, "adversary");
  const iterations = Math.max(nr.length, ar.length);
  const fourPerIteration = Array.from({ length: iterations }, (_, i) => [
    nr[i]?.iac ?? NaN,
    ar[i]?.iac ?? NaN,
    nr[i]?.iec ?? NaN,
    ar[i]?.iec ?? NaN,
  ]);
  const mcPerIteration = fourPerIteration.map(nanMean);
  return {
    iacNr: nanMean(nr.map((r) => r.iac)),
    iacAr: nanMean(ar.map((r) => r.iac)),
    iecNr: nanMean(nr.map((r) => r.iec)),
    iecAr: nanMean(ar.map((r) => r.iec)),
    mc: nanMean(fourPerIteration.flat()),
    mcStd: nanStd(mcPerIteration),
    mcPerIteration,
  };
}

/**
 * The mean of the numbers that are not NaN; NaN when there are none (numpy's `nanmean`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { nanMean } from "./consistency.ts";
 * assert(nanMean([1, NaN, 3]) === 2 && Number.isNaN(nanMean([NaN])));
 * ```
 */
export function nanMean(values: readonly number[]): number {
  const kept = values.filter((v) => !Number.isNaN(v));
  return kept.length === 0 ? NaN : kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** Population standard deviation of the numbers that are not NaN (numpy's `nanstd`). */
function nanStd(values: readonly number[]): number {
  const mean = nanMean(values);
  return Math.sqrt(nanMean(values.map((v) => (v - mean) ** 2)));
}

/** Indices of `values` sorted ascending, ties in index order. */
function ascendingOrder(values: readonly number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
}
