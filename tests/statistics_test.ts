/** The statistics behind the method comparisons, on constructed data with known answers. */
import { SeededRandom } from "../core/random.ts";
import { summariseScores } from "../metrics/summary.ts";
import { erfc, normalSurvival } from "../statistics/normal.ts";
import { holmAdjust } from "../statistics/holm.ts";
import { kendallTauB } from "../statistics/kendall_tau.ts";
import { pairedBootstrap, pairedDifferences } from "../statistics/paired.ts";
import { groupLetters, rankGroups } from "../statistics/rank_groups.ts";
import { type WilcoxonMethod, wilcoxonSignedRank } from "../statistics/wilcoxon.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

/** |actual / expected − 1| ≤ tolerance (both NaN passes). */
function assertRelative(actual: number, expected: number, tolerance: number, what: string) {
  if (Number.isNaN(expected)) return assert(Number.isNaN(actual), `${what}: ${actual}, not NaN`);
  const error = expected === 0 ? Math.abs(actual) : Math.abs(actual / expected - 1);
  assert(error <= tolerance, `${what}: ${actual} vs ${expected} (relative error ${error})`);
}

const sign = (negative: boolean) => negative ? -1 : 1;
const range = (n: number) => Array.from({ length: n }, (_, k) => k + 1);

/**
 * Differences whose two-sided p-values scipy computed, with the null distribution scipy 1.17's
 * `method="auto"` picks for them. The references were made once, with scipy 1.17.1, by:
 *
 * ```python
 * import numpy as np
 * from scipy.stats import wilcoxon
 * sign = lambda neg: -1 if neg else 1
 * cases = {  # the same arrays as below, e.g.
 *     "exact, n=20": [sign((i * 7) % 5 < 2) * (i + 0.5) for i in range(1, 21)],
 * }
 * for name, d in cases.items():
 *     r = wilcoxon(np.array(d, dtype=float))  # the defaults: zero_method="wilcox",
 *     # correction=False, alternative="two-sided", method="auto"
 *     print(f'"{name}": {{ statistic: {float(r.statistic)!r}, p: {float(r.pvalue)!r} }},')
 * ```
 */
const WILCOXON_CASES: {
  name: string;
  d: number[];
  method: WilcoxonMethod;
  statistic: number;
  p: number;
}[] = [
  {
    name: "exact, n=8",
    d: [1.5, -0.3, 2.7, 4.1, -1.2, 3.3, 0.8, 2.2],
    method: "exact",
    statistic: 4.0,
    p: 0.0546875,
  },
  {
    name: "exact, n=20",
    d: range(20).map((i) => sign((i * 7) % 5 < 2) * (i + 0.5)),
    method: "exact",
    statistic: 92.0,
    p: 0.6476554870605469,
  },
  {
    name: "exact, n=30, upper tail",
    d: range(30).map((i) => sign(i % 6 === 0) * i / 4),
    method: "exact",
    statistic: 90.0,
    p: 0.002560090273618698,
  },
  {
    name: "exact, n=50",
    d: range(50).map((i) => sign((i * 11) % 7 < 3) * (i * 1.5 - 0.25)),
    method: "exact",
    statistic: 532.0,
    p: 0.31366564109611517,
  },
  {
    name: "exact, n=50, lower tail",
    d: range(50).map((i) => sign(i % 5 !== 0) * (i + 0.125)),
    method: "exact",
    statistic: 275.0,
    p: 0.0003107899432901462,
  },
  {
    name: "permutation, ties, n=10",
    d: [1, 1, -2, 3, 3, 3, 4, -5, 6, 7],
    method: "permutation",
    statistic: 11.0,
    p: 0.095703125,
  },
  {
    name: "permutation, zeros, n=9",
    d: [0, 0, 1, 2, -3, 4, 5, 6, 7],
    method: "permutation",
    statistic: 3.0,
    p: 0.078125,
  },
  {
    name: "permutation, zeros and ties, n=13",
    d: [0, 1, -1, 2, 2, -2, 3, 4, 5, 0, 6, -7, 8],
    method: "permutation",
    statistic: 15.5,
    p: 0.1298828125,
  },
  {
    name: "permutation, all zeros, n=5",
    d: [0, 0, 0, 0, 0],
    method: "permutation",
    statistic: 0.0,
    p: 1.0,
  },
  {
    name: "asymptotic, ties, n=20",
    d: range(20).map((i) => ((i * 37) % 41 - 15) / 4),
    method: "asymptotic",
    statistic: 62.0,
    p: 0.10830370105951512,
  },
  {
    name: "asymptotic, ties and zeros, n=30",
    d: range(30).map((i) => (i * 7) % 11 - 3),
    method: "asymptotic",
    statistic: 62.5,
    p: 0.0022971402942515966,
  },
  {
    name: "asymptotic, zeros, n=20",
    d: range(20).map((i) => i % 5 ? ((i * 37) % 41 - 15) / 4 : 0),
    method: "asymptotic",
    statistic: 30.0,
    p: 0.049345957748639174,
  },
  {
    name: "asymptotic, n=60",
    d: range(60).map((i) => ((i * 7919) % 1009 - 400) / 16),
    method: "asymptotic",
    statistic: 557.0,
    p: 0.008402484490246203,
  },
  {
    name: "asymptotic, ties and zeros, n=80",
    d: range(80).map((i) => (i * 13) % 23 - 9),
    method: "asymptotic",
    statistic: 976.5,
    p: 0.011700203714604914,
  },
  {
    name: "asymptotic, far tail, n=200",
    d: range(200).map((i) => ((i * 29) % 97 + 3) / 4 * sign(i % 17 === 0)),
    method: "asymptotic",
    statistic: 1102.0,
    p: 9.43474223775536e-28,
  },
];

Deno.test("wilcoxonSignedRank matches scipy.stats.wilcoxon's defaults: exact, permutation, normal", () => {
  for (const c of WILCOXON_CASES) {
    const r = wilcoxonSignedRank(c.d);
    assertEquals(r.method, c.method, c.name);
    assertEquals(r.statistic, c.statistic, c.name);
    assertEquals(r.n + r.zeros, c.d.length, c.name);
    // Exact and permutation p-values are ratios of integer counts to 2^n: exact in scipy too.
    assertRelative(r.p, c.p, c.method === "asymptotic" ? 1e-9 : 1e-12, c.name);
  }
});

Deno.test("wilcoxonSignedRank: known answers, NaN where scipy has none, a NaN input refused", () => {
  // Three positive differences: R+ = 6 is the largest of 2^3 equally likely sums.
  assertEquals(wilcoxonSignedRank([0.5, 2, 1]).p, 2 / 8);
  // Mirror images: R+ = R− = 10.5 sits in the middle of the null distribution.
  const mirrored = wilcoxonSignedRank([1, -1, 2, -2, 3, -3]);
  assertEquals([mirrored.rPlus, mirrored.rMinus, mirrored.p], [10.5, 10.5, 1]);
  // Swapping the samples flips every sign and leaves p as it is.
  const d = WILCOXON_CASES[3].d;
  assertEquals(wilcoxonSignedRank(d.map((x) => -x)).p, wilcoxonSignedRank(d).p);
  assert(Number.isNaN(wilcoxonSignedRank([]).p));
  const allZero = wilcoxonSignedRank(new Array(20).fill(0));
  assert(allZero.method === "asymptotic" && Number.isNaN(allZero.p) && allZero.zeros === 20);
  assertThrows(() => wilcoxonSignedRank([1, NaN]), RangeError, "difference 1 is NaN");
});

Deno.test("normalSurvival matches scipy.stats.norm.sf into the far tail", () => {
  // python3 -c "from scipy.stats import norm; print(float(norm.sf(z)))" with scipy 1.17.1
  const reference = [
    [0.0, 0.5],
    [0.1, 0.460172162722971],
    [0.5, 0.3085375387259869],
    [1.0, 0.15865525393145707],
    [1.4142135623730951, 0.07864960352514251],
    [2.0, 0.022750131948179195],
    [3.0, 0.0013498980316300933],
    [5.0, 2.866515718791933e-07],
    [8.0, 6.22096057427174e-16],
    [12.0, 1.776482112077653e-33],
    [20.0, 2.7536241186061556e-89],
    [37.0, 5.7255712225239266e-300],
    [-1.5, 0.9331927987311419],
  ];
  // Far out, e^(-z²/2) turns the last-bit rounding of z²/2 into a relative error of z²·ε, in
  // scipy as here; nearer in, 1e-13.
  for (const [z, p] of reference) {
    assertRelative(normalSurvival(z), p, Math.max(1e-13, z * z * Number.EPSILON), `sf(${z})`);
  }
  assertEquals(erfc(-Infinity), 2);
  assert(Number.isNaN(erfc(NaN)));
});

Deno.test("holmAdjust: step-down multipliers, running maximum, capped at 1, NaN kept out", () => {
  // Sorted 0.005, 0.01, 0.03, 0.04 get x4, x3, x2, x1, then the running maximum.
  const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((p, i) => assertAlmostEquals(adjusted[i], p, 1e-15));
  assertEquals(holmAdjust([0.5, 0.6]), [1, 1]);
  // The NaN is no test: m = 2, not 3.
  const withNaN = holmAdjust([0.02, NaN, 0.03]);
  assertAlmostEquals(withNaN[0], 0.04, 1e-15);
  assert(Number.isNaN(withNaN[1]) && withNaN[2] === 0.04);
  assertEquals(holmAdjust([]), []);
});

Deno.test("kendallTauB matches scipy.stats.kendalltau (tau-b) with and without ties", () => {
  // python3 -c "from scipy.stats import kendalltau; print(float(kendalltau(x, y).statistic))"
  // with scipy 1.17.1
  const reference: [number[], number[], number][] = [
    [[1, 2, 3, 4, 5], [2, 1, 4, 3, 5], 0.6],
    [[1, 1, 2, 3, 3, 4], [1, 2, 2, 3, 5, 4], 0.7412493166611013],
    [[0.5, -1, 2, 2, 7, 3, 3], [3, 1, 1, 2, 9, 9, 0], 0.2631578947368421],
  ];
  for (const [x, y, tau] of reference) assertRelative(kendallTauB(x, y), tau, 1e-14, `${x}`);
  // One swapped neighbour among 4: C = 5, D = 1 of 6 pairs.
  assertEquals(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6);
  assert(Number.isNaN(kendallTauB([1], [2])) && Number.isNaN(kendallTauB([1, NaN], [1, 2])));
  assertThrows(() => kendallTauB([1, 2], [1]), RangeError, "2 and 1 items");
});

Deno.test("rankGroups: letters shared exactly by the pairs that do not differ", () => {
  const letters = (count: number, pairs: [number, number][]) =>
    rankGroups(count, pairs).map(groupLetters);
  assertEquals(letters(4, [[0, 2], [0, 3], [1, 3]]), ["a", "ab", "bc", "c"]);
  assertEquals(letters(3, [[0, 1], [0, 2], [1, 2]]), ["a", "b", "c"]);
  assertEquals(letters(1, []), ["a"]);
  assertThrows(() => rankGroups(2, [[0, 2]]), RangeError, "pair (0, 2)");
  // Any pattern of significance: two items share a letter if and only if they do not differ.
  const random = new SeededRandom(3);
  for (let trial = 0; trial < 200; trial++) {
    const count = 2 + Math.floor(random.uniform() * 7);
    const pairs: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) if (random.uniform() < 0.5) pairs.push([i, j]);
    }
    const groups = rankGroups(count, pairs);
    for (let i = 0; i < count; i++) {
      assert(groups[i].length > 0, `item ${i} has no letter`);
      for (let j = i + 1; j < count; j++) {
        const differ = pairs.some(([a, b]) => a === i && b === j);
        const share = groups[i].some((l) => groups[j].includes(l));
        assertEquals(
          share,
          !differ,
          `trial ${trial}: items ${i}, ${j} of ${JSON.stringify(pairs)}`,
        );
      }
    }
    assert(groups[0].includes(0), "the best item is in group a");
  }
});

Deno.test("pairedBootstrap: the mean difference over complete pairs, reproducible", () => {
  const a = [0.3, 0.9, NaN, 0.4, 0.8, 0.1], b = [0.1, 0.5, 0.2, NaN, 0.7, 0.2];
  assertEquals(pairedDifferences(a, b).leftOut, 2);
  const r = pairedBootstrap(a, b, new SeededRandom(5), 1000);
  assertEquals(r.n, 4);
  assertAlmostEquals(r.meanDiff, (0.2 + 0.4 + 0.1 - 0.1) / 4, 1e-15);
  assert(r.ciLow <= r.meanDiff && r.meanDiff <= r.ciHigh && r.ciLow >= -0.1 && r.ciHigh <= 0.4);
  assertEquals(pairedBootstrap(a, b, new SeededRandom(5), 1000), r);
  // The same resampling as the summary's interval of the differences themselves.
  const s = summariseScores(pairedDifferences(a, b).differences, new SeededRandom(5));
  assertEquals([r.ciLow, r.ciHigh], [s.ci95Low, s.ci95High]);
  const none = pairedBootstrap([NaN], [1], new SeededRandom(5), 1000);
  assert(none.n === 0 && Number.isNaN(none.meanDiff) && Number.isNaN(none.ciLow));
  assertThrows(() => pairedDifferences([1], [1, 2]), RangeError, "1 and 2 items");
});
