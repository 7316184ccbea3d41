/**
 * The test split's evidence masks for a grid stage: the localisation metrics score against
 * them (`quantus`) and the ground-truth control is them (`xai`, `quantus`). A job carries its
 * chunk's masks, so a worker needs no file access for them.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { Sample } from "../data/dataset.ts";
import { loadMask } from "../data/masks.ts";
import { readsMasks } from "../xai/registry.ts";

/**
 * Every sample's mask at `sizePx` x `sizePx` (the model's input), or undefined unless every
 * sample has one.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { testMasks } from "./test_masks.ts";
 * const samples = [{ id: "a", file: "a.png", label: 0, className: "A", split: "test" as const }];
 * assert(await testMasks(samples, 8) === undefined);
 * ```
 */
export async function testMasks(
  samples: readonly Sample[],
  sizePx: number,
): Promise<Uint8Array[] | undefined> {
  if (samples.length === 0 || !samples.every((s) => s.maskFile)) return undefined;
  return await Promise.all(samples.map((s) => loadMask(s.maskFile!, sizePx)));
}

/**
 * The masks of one chunk's samples, back to back ([N, H, W]).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chunkMasks } from "./test_masks.ts";
 * const masks = [Uint8Array.of(1, 0), Uint8Array.of(0, 1), Uint8Array.of(1, 1)];
 * assert(chunkMasks(masks, [2, 0]).join() === "1,1,1,0");
 * ```
 */
export function chunkMasks(masks: readonly Uint8Array[], indices: readonly number[]): Uint8Array {
  const size = masks[0]?.length ?? 0;
  const out = new Uint8Array(indices.length * size);
  indices.forEach((i, k) => out.set(masks[i], k * size));
  return out;
}

/**
 * Checks, before any work, that a run whose methods read masks (the ground-truth control) has
 * them for `samples`.
 *
 * @throws {InputError} naming the method and where the masks would be.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requireMasksFor } from "./test_masks.ts";
 * const samples = [{ id: "a", file: "d/test/A/a.png", label: 0, className: "A", split: "test" as const }];
 * requireMasksFor(["gradcam"], samples);
 * assert.throws(() => requireMasksFor(["ground_truth"], samples), /masks/);
 * ```
 */
export function requireMasksFor(methods: readonly string[], samples: readonly Sample[]): void {
  const method = methods.find(readsMasks);
  const without = samples.find((s) => !s.maskFile);
  if (method !== undefined && without !== undefined) {
    throw new InputError(
      `--methods ${method}: ${without.file} has no evidence mask ` +
        `(<data root>/masks/<split>/<Class>/<stem>.png, as deno task data:synth writes); use a ` +
        `data set with masks or leave ${method} out`,
    );
  }
}

/**
 * The masks a run of `methods` needs: every sample's when one of the methods reads them (the
 * ground-truth control), else undefined (nothing loaded).
 *
 * @throws {InputError} when a method reads masks that a sample lacks ({@link requireMasksFor}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodMasks } from "./test_masks.ts";
 * assert(await methodMasks(["gradcam", "random"], [], 8) === undefined);
 * ```
 */
export async function methodMasks(
  methods: readonly string[],
  samples: readonly Sample[],
  sizePx: number,
): Promise<Uint8Array[] | undefined> {
  requireMasksFor(methods, samples);
  return methods.some(readsMasks) ? await testMasks(samples, sizePx) : undefined;
}
