/**
 * Rescaling attribution maps for display and comparison.
 *
 * @module
 */

/**
 * Min-max normalisation of each [H, W] map of an [N, H, W] batch to [0, 1]:
 * (m − min m) / (max m − min m). A constant map (all zeros, say, where a Grad-CAM ReLU cut
 * everything) becomes all zeros, never NaN. pytorch-grad-cam divides by 1e-7 + max instead,
 * which differs from this by a relative 1e-7 / max.
 *
 * @param mapsNHW the maps, `count` of them back to back; not modified.
 * @param count N, the number of maps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normaliseMinMax } from "./normalise.ts";
 * const out = normaliseMinMax(new Float32Array([1, 3, 5, 0, 0, 0]), 2);
 * assert(out.join() === "0,0.5,1,0,0,0");
 * ```
 */
export function normaliseMinMax(mapsNHW: Float32Array, count: number): Float32Array {
  if (!Number.isInteger(count) || count < 1 || mapsNHW.length % count !== 0) {
    throw new RangeError(`normaliseMinMax: ${mapsNHW.length} values are not ${count} equal maps`);
  }
  const mapSize = mapsNHW.length / count;
  const out = new Float32Array(mapsNHW.length);
  for (let n = 0; n < count; n++) {
    const map = mapsNHW.subarray(n * mapSize, (n + 1) * mapSize);
    let [low, high] = [Infinity, -Infinity];
    for (const v of map) [low, high] = [Math.min(low, v), Math.max(high, v)];
    const range = high - low;
    if (!(range > 0)) continue;
    for (let j = 0; j < mapSize; j++) out[n * mapSize + j] = (map[j] - low) / range;
  }
  return out;
}
