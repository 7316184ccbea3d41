/**
 * The labels of the data randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency
 * Maps", §3.2): the same images with their labels shuffled, so a model trained on them can only
 * memorise. Each split is shuffled on its own, which keeps every split's class counts (the
 * permuted model then meets the same class balance as the real one).
 *
 * @module
 */
import { type Random, shuffle } from "../core/random.ts";
import type { LoadedImages } from "../data/loader.ts";

/**
 * A copy of `loaded` whose samples in `splits` carry the labels (and class names) of a seeded
 * random permutation of that split's samples; images, ids and files stay where they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { permuteLabels } from "./label_permutation.ts";
 * const image = { widthPx: 1, heightPx: 1, data: new Uint8Array(1) };
 * const samples = [0, 1, 2, 3, 0, 1].map((label, i) => ({
 *   id: `train/${i}`, file: `${i}.png`, label, className: "ABCD"[label], split: "train" as const,
 * }));
 * const loaded = { samples, images: samples.map(() => image), skipped: [] };
 * const permuted = permuteLabels(loaded, new SeededRandom(3), ["train"]);
 * const labels = permuted.samples.map((s) => s.label);
 * assert([...labels].sort().join() === "0,0,1,1,2,3" && labels.join() !== "0,1,2,3,0,1");
 * assert(permuted.samples.every((s) => s.className === "ABCD"[s.label]));
 * assert(samples[1].label === 1); // the input is not changed
 * ```
 */
export function permuteLabels(
  loaded: LoadedImages,
  random: Random,
  splits: readonly string[],
): LoadedImages {
  const samples = loaded.samples.map((s) => ({ ...s }));
  for (const split of splits) {
    const positions = samples.flatMap((s, i) => (s.split === split ? [i] : []));
    const labelled = shuffle(
      random,
      positions.map((i) => ({
        label: loaded.samples[i].label,
        className: loaded.samples[i].className,
      })),
    );
    positions.forEach((i, k) => Object.assign(samples[i], labelled[k]));
  }
  return { ...loaded, samples };
}
