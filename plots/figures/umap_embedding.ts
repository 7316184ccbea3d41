/**
 * A seeded 2-D UMAP embedding (umap-js) of feature rows.
 *
 * @module
 */
import { UMAP } from "../../deps.ts";
import type { Random } from "../../core/random.ts";

/** UMAP's usual neighbourhood size; fewer when there are fewer points. */
export const UMAP_NEIGHBOURS = 15;
/** UMAP's usual minimum distance between embedded points. */
export const UMAP_MIN_DIST = 0.1;
/** The fewest points an embedding is made of (UMAP needs two neighbours per point). */
export const UMAP_MIN_POINTS = 3;

/**
 * Embeds `n` rows of `featuresNF` in 2-D. Every random draw (neighbour search, initial layout,
 * negative sampling) comes from `random`, so equal seeds give equal coordinates.
 * `onEpoch(done, total)` is called as the layout is optimised.
 *
 * @throws {RangeError} for fewer than {@link UMAP_MIN_POINTS} points.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { umapEmbedding } from "./umap_embedding.ts";
 * const features = new Float32Array(6 * 4).map((_, i) => Math.sin(i) + (i >= 12 ? 3 : 0));
 * const a = umapEmbedding(features, 6, new SeededRandom(1));
 * const b = umapEmbedding(features, 6, new SeededRandom(1));
 * assert(a.length === 12 && a.every((v, i) => v === b[i]));
 * ```
 */
export function umapEmbedding(
  featuresNF: Float32Array,
  n: number,
  random: Random,
  onEpoch?: (done: number, total: number) => void,
): Float32Array {
  if (n < UMAP_MIN_POINTS) {
    throw new RangeError(`UMAP needs at least ${UMAP_MIN_POINTS} points, got ${n}`);
  }
  const width = featuresNF.length / n;
  const rows = Array.from(
    { length: n },
    (_, i) => Array.from(featuresNF.subarray(i * width, (i + 1) * width)),
  );
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(UMAP_NEIGHBOURS, n - 1),
    minDist: UMAP_MIN_DIST,
    random: () => random.uniform(),
  });
  const epochs = umap.initializeFit(rows);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    umap.step();
    if (epoch % 20 === 0 || epoch === epochs) onEpoch?.(epoch, epochs);
  }
  return Float32Array.from(umap.getEmbedding().flat());
}
