/**
 * The random control: uniform noise in [0, 1) per pixel, as Quantus's "Control Var. Random
 * Uniform". Its draws are seeded by the image's own input values (and the `seed` option), so the
 * map is a function of the input alone: the same image gives the same map in every run, chunk,
 * shard and worker, another image (or a perturbed copy of one) another map, and neither the
 * model nor the target class changes it — which is what the randomisation metrics must catch.
 *
 * @module
 */
import { SeededRandom } from "../../core/random.ts";
import type { Explainer, ExplainOptions } from "../explainer.ts";
import { controlExplainer } from "./control.ts";

/** Options of {@link RANDOM}. */
export interface RandomOptions extends ExplainOptions {
  /** Seed the per-image streams are forked from (default 0). */
  seed?: number;
}

/**
 * 32-bit FNV-1a hash of an image's input values (their float32 bits): the label its noise
 * stream is forked by.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pixelsHash } from "./random.ts";
 * assert(pixelsHash(Float32Array.of(1, 2)) === pixelsHash(Float32Array.of(1, 2)));
 * assert(pixelsHash(Float32Array.of(1, 2)) !== pixelsHash(Float32Array.of(2, 1)));
 * ```
 */
export function pixelsHash(pixels: Float32Array): number {
  const bits = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length);
  let h = 0x811c9dc5;
  for (const word of bits) {
    for (let shift = 0; shift < 32; shift += 8) {
      h ^= (word >>> shift) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h;
}

/**
 * Uniform noise in [0, 1), drawn from `new SeededRandom(seed).fork(pixelsHash(image))`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { RANDOM } from "./random.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
 * const a = await RANDOM.explain(model, x, Int32Array.of(0, 1));
 * const b = await RANDOM.explain(model, x, Int32Array.of(3, 2));
 * assert(a.mapsNHW.every((v, j) => v >= 0 && v < 1 && v === b.mapsNHW[j]));
 * model.dispose();
 * ```
 */
export const RANDOM: Explainer<RandomOptions> = controlExplainer<RandomOptions>({
  name: "random",
  description: "Control: uniform noise in [0, 1), seeded by the image (Quantus's Random Uniform)",
  fillMap(image, map, options) {
    const noise = new SeededRandom(options.seed ?? 0).fork(pixelsHash(image.pixelsHWC));
    for (let j = 0; j < map.length; j++) map[j] = noise.uniform();
  },
});
