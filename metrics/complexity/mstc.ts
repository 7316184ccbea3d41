/**
 * MSTC, minimum-spanning-tree compactness (Mesgari et al., "Structural Compactness as a
 * Complementary Criterion for Explanation Quality", 2026; Quantus main, not in a release): how
 * tightly the salient pixels of a map cluster. The salient points are the pixels whose |a| reaches
 * the `threshold` percentile of the map's finite values; with A their convex hull's area and L
 * the length of the minimum spanning tree of their symmetric k-nearest-neighbour graph,
 *
 *     MSTC = (1 / √A) · (#points / L),   × √(H² + W²) · 100 with `scaleScore`.
 *
 * Higher is better (compact, cohesive evidence). Points on one line, or fewer than three, use the
 * image diagonal for √A. A graph that is not connected gives a spanning forest (`autoIncreaseK`
 * grows k until it is connected). Signs never matter (|a| always). An all-zero map scores 0; a
 * map without finite values, with fewer than two salient points or a zero tree length gives NaN
 * with the reason.
 *
 * Equal distances on the pixel grid make the k-th nearest neighbour a tie; ties keep the
 * neighbour with the smaller pixel index (scikit-learn's choice is unspecified), which can change
 * the graph where a tie straddles the k-th place.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { percentile } from "../../statistics/percentile.ts";
import { commonFromQuantus, type CommonParams, defineMetric, scoreEachMap } from "../metric.ts";

/** Parameters of {@link MSTC}. */
export interface MstcParams extends CommonParams {
  /** Percentile of the finite |a| a salient point reaches, in [0, 100). */
  threshold: number;
  /** Nearest neighbours per point in the graph (at most #points − 1). */
  k: number;
  /** Grow k until the graph is connected. */
  autoIncreaseK: boolean;
  /** Multiply by the image diagonal and 100. */
  scaleScore: boolean;
}

/**
 * Twice the area of the convex hull of integer grid points (Andrew's monotone chain; exact for
 * pixel coordinates), 0 for collinear points.
 */
function hullArea(rows: Int32Array, cols: Int32Array): number {
  const order = Array.from(rows.keys()).sort((i, j) => rows[i] - rows[j] || cols[i] - cols[j]);
  const cross = (o: number, a: number, b: number) =>
    (rows[a] - rows[o]) * (cols[b] - cols[o]) - (cols[a] - cols[o]) * (rows[b] - rows[o]);
  const chain = (points: number[]) => {
    const hull: number[] = [];
    for (const p of points) {
      while (hull.length >= 2 && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) {
        hull.pop();
      }
      hull.push(p);
    }
    return hull.slice(0, -1);
  };
  const hull = [...chain(order), ...chain(order.slice().reverse())];
  let twice = 0;
  for (let i = 0; i < hull.length; i++) {
    const [a, b] = [hull[i], hull[(i + 1) % hull.length]];
    twice += rows[a] * cols[b] - rows[b] * cols[a];
  }
  return Math.abs(twice) / 2;
}

/**
 * The edges of the symmetric k-nearest-neighbour graph (an edge where either end chose the
 * other), each [i, j, length] with i < j; ties at the k-th distance keep the smaller index.
 */
function neighbourEdges(rows: Int32Array, cols: Int32Array, k: number): [number, number, number][] {
  const n = rows.length;
  const edges = new Map<number, number>();
  const bestIndex = new Int32Array(k);
  const bestDistance = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let kept = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = Math.hypot(rows[i] - rows[j], cols[i] - cols[j]);
      if (kept === k && d >= bestDistance[k - 1]) continue;
      // Insertion into the sorted short list; an equal distance goes after (smaller index first).
      let at = kept < k ? kept++ : k - 1;
      while (at > 0 && bestDistance[at - 1] > d) {
        bestDistance[at] = bestDistance[at - 1];
        bestIndex[at] = bestIndex[at - 1];
        at--;
      }
      bestDistance[at] = d;
      bestIndex[at] = j;
    }
    for (let m = 0; m < kept; m++) {
      const j = bestIndex[m];
      edges.set(Math.min(i, j) * n + Math.max(i, j), bestDistance[m]);
    }
  }
  return Array.from(edges, ([key, d]) => [Math.floor(key / n), key % n, d]);
}

/** Kruskal's minimum spanning forest: its total length and how many components it has. */
function spanningForest(n: number, edges: [number, number, number][]) {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  let length = 0, components = n;
  for (const [i, j, d] of edges.slice().sort((a, b) => a[2] - b[2])) {
    const [ri, rj] = [root(i), root(j)];
    if (ri === rj) continue;
    parent[ri] = rj;
    length += d;
    components--;
  }
  return { length, components };
}

/**
 * One map's MSTC ({@link MSTC}'s definition), NaN with a reason where undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { mstcOfMap } from "./mstc.ts";
 * // A 2x2 block in a 4x4 map: hull area 1, tree length 3 over 4 points.
 * const map = new Float32Array(16);
 * for (const p of [5, 6, 9, 10]) map[p] = 1;
 * const params = { threshold: 75, k: 3, autoIncreaseK: false, scaleScore: false };
 * assert(Math.abs((mstcOfMap(map, 4, 4, params) as number) - 4 / 3) < 1e-12);
 * ```
 */
export function mstcOfMap(
  mapHW: Float32Array,
  h: number,
  w: number,
  params: Pick<MstcParams, "threshold" | "k" | "autoIncreaseK" | "scaleScore">,
): number | { score: number; reason: string } {
  const magnitude = Float64Array.from(mapHW, Math.abs);
  const finite = magnitude.filter(Number.isFinite).sort();
  if (!finite.length) return { score: NaN, reason: "the map has no finite value" };
  if (finite[finite.length - 1] === 0) return 0;
  const cutoff = percentile(finite, params.threshold);
  const salient = Int32Array.from(magnitude.keys())
    .filter((p) => Number.isFinite(magnitude[p]) && magnitude[p] >= cutoff);
  const n = salient.length;
  if (n < 2) return { score: NaN, reason: `only ${n} salient point above the cutoff ${cutoff}` };
  const rows = salient.map((p) => Math.floor(p / w));
  const cols = salient.map((p) => p % w);
  const diagonal = Math.hypot(h, w);
  const area = n >= 3 ? hullArea(rows, cols) : 0;
  const sqrtArea = area > 1e-12 ? Math.sqrt(area) : diagonal;
  let k = Math.min(params.k, n - 1);
  let forest = spanningForest(n, neighbourEdges(rows, cols, k));
  while (params.autoIncreaseK && forest.components !== 1 && k < n - 1) {
    forest = spanningForest(n, neighbourEdges(rows, cols, ++k));
  }
  if (!(forest.length > 0 && Number.isFinite(forest.length))) {
    return { score: NaN, reason: `the spanning tree's length is ${forest.length}` };
  }
  const score = (1 / sqrtArea) * (n / forest.length);
  return params.scaleScore ? score * (diagonal * 100) : score;
}

/**
 * MSTC with Quantus's defaults (threshold 80, k 20, scaled; normalise on, |a|).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MSTC } from "./mstc.ts";
 * const map = new Float32Array(16);
 * map[5] = map[6] = map[9] = -1; // an L of three salient pixels
 * const batch = {
 *   xNHWC: new Float32Array(16), shapeNHWC: [1, 4, 4, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: map,
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * // The 85th percentile of 13 zeros and 3 ones is 0.75: the three pixels are the salient points.
 * const params = { ...MSTC.defaults, threshold: 85, scaleScore: false };
 * const r = await MSTC.evaluate(context, batch, params);
 * // Hull area 1/2, tree length 2 over 3 points.
 * assert(Math.abs(r.scores[0] - Math.sqrt(2) * 1.5) < 1e-12);
 * ```
 */
export const MSTC = defineMetric<MstcParams>({
  name: "mstc",
  quantusName: "MSTC",
  category: "complexity",
  direction: "higher",
  paper: "Mesgari et al. 2026, Structural Compactness as a Complementary Criterion for " +
    "Explanation Quality",
  description: "compactness of the salient pixels: 1/sqrt(hull area) x points / MST length",
  needs: [],
  defaults: {
    abs: true,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    threshold: 80,
    k: 20,
    autoIncreaseK: false,
    scaleScore: true,
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      abs: true, // Quantus forces it
      threshold: Number(init.threshold ?? 80),
      k: Number(init.k ?? 20),
      autoIncreaseK: Boolean(init.auto_increase_k ?? false),
      scaleScore: Boolean(init.scale_score ?? true),
    };
  },
  score(_context, prepared, params) {
    if (!(params.threshold >= 0 && params.threshold < 100)) {
      throw new InputError(`${this.name}: threshold ${params.threshold} must be in [0, 100)`);
    }
    if (!Number.isInteger(params.k) || params.k < 1) {
      throw new InputError(`${this.name}: k ${params.k} must be an integer >= 1`);
    }
    const [, h, w] = prepared.batch.shapeNHWC;
    return scoreEachMap(prepared, (map) => mstcOfMap(map, h, w, params));
  },
  toQuantus: (result) => Array.from(result.scores),
});
