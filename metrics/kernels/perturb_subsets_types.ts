/**
 * What a subset perturbation is, for every implementation of it: K copies of every image of an
 * NHWC batch with chosen pixels (all channels) replaced by a baseline value, copy-major
 * ([K·N, H, W, C], row k·N + i is copy k of image i, so `targets[row % N]` is its class).
 *
 * Two ways of choosing the pixels of copy k of image i:
 * - `subsets`: its own list, `pixelsKNM[(k·N + i)·M … + M]` (FaithfulnessCorrelation's random
 *   subsets), all set to `baselinesKN[k·N + i]`;
 * - `cumulative`: steps 0 … min(firstStep + k, S − 1) of image i (the steps of PixelFlipping,
 *   RegionPerturbation and the other removal curves, which perturb the running copy step by
 *   step). Every image has S steps, each a run of `stepPixels`: image after image, step after
 *   step, step s of image i ending (exclusive) at `stepEndsNS[i·S + s]` and starting where the
 *   previous step (or the previous image's last step) ended, so steps may differ in length (a
 *   short last chunk, patches cut by the image border) and an image with fewer steps than S
 *   repeats its last end (empty steps). Step j keeps the baseline of the step that replaced
 *   it, `baselinesKN[j·N + i]` counted from step 0, as Quantus's loop leaves it.
 *   {@link cumulativeSteps} lays out per-image step lists this way.
 *
 * The types of a pass, the layout helper {@link cumulativeSteps} and the check
 * {@link checkSubsetPerturbation} that every implementation runs first. The implementations:
 * `perturb_subsets_cpu.ts` (TypeScript loops, the definition) and `perturb_subsets.wgsl` on
 * webgpu (equal bit for bit); `perturb_subsets.ts` picks one for the active backend.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { ShapeNHWC } from "../../core/shapes.ts";

/** Which pixels each copy replaces (see the module comment). */
export type PixelSelection =
  | {
    mode: "subsets";
    /** [K, N, M] pixel indices (0 ≤ p < H·W), one subset per copy of each image. */
    pixelsKNM: Int32Array;
    /** M: pixels per subset. */
    subsetSize: number;
  }
  | {
    mode: "cumulative";
    /** The pixel indices of every step, image-major (no pixel twice within an image). */
    stepPixels: Int32Array;
    /** [N, S] where each step ends in `stepPixels` (exclusive), non-decreasing. */
    stepEndsNS: Int32Array;
    /** The step of copy 0 (to build a long run of steps in several calls); default 0. */
    firstStep?: number;
  };

/** What one subset-perturbation pass reads. */
export interface SubsetPerturbation {
  xNHWC: Float32Array;
  shapeNHWC: ShapeNHWC;
  /** K: copies per image. */
  copies: number;
  selection: PixelSelection;
  /**
   * Replacement values: subsets [K, N], one per copy; cumulative [S', N], one per step from
   * step 0 (S' ≥ min(firstStep + K, S)).
   */
  baselinesKN: Float32Array;
}

/**
 * The `cumulative` selection of per-image step lists (`steps[i][s]`: the pixels step s of image
 * i replaces); images with fewer steps than the longest get empty steps at the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cumulativeSteps } from "./perturb_subsets_types.ts";
 * const selection = cumulativeSteps([[[3, 2], [1]], [[0]]]);
 * assert(selection.stepPixels.join() === "3,2,1,0");
 * assert(selection.stepEndsNS.join() === "2,3,4,4");
 * ```
 */
export function cumulativeSteps(
  steps: readonly (readonly ArrayLike<number>[])[],
): { mode: "cumulative"; stepPixels: Int32Array; stepEndsNS: Int32Array } {
  const s = Math.max(0, ...steps.map((image) => image.length));
  let total = 0;
  for (const image of steps) for (const step of image) total += step.length;
  const stepPixels = new Int32Array(total);
  const stepEndsNS = new Int32Array(steps.length * s);
  let end = 0;
  steps.forEach((image, i) => {
    for (let j = 0; j < s; j++) {
      if (j < image.length) {
        stepPixels.set(image[j], end);
        end += image[j].length;
      }
      stepEndsNS[i * s + j] = end;
    }
  });
  return { mode: "cumulative", stepPixels, stepEndsNS };
}

/**
 * Where image `image`'s first step starts in `stepPixels`, for `steps` steps per image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cumulativeSteps, imageStepsStart } from "./perturb_subsets_types.ts";
 * const { stepEndsNS } = cumulativeSteps([[[3, 2], [1]], [[0]]]);
 * assert(imageStepsStart(stepEndsNS, 2, 0) === 0 && imageStepsStart(stepEndsNS, 2, 1) === 3);
 * ```
 */
export function imageStepsStart(stepEndsNS: Int32Array, steps: number, image: number): number {
  return image === 0 ? 0 : stepEndsNS[image * steps - 1];
}

/**
 * Throws an {@link InputError} naming the field when the pass's arrays do not fit each other or
 * an index is outside the image; both paths check with this.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkSubsetPerturbation } from "./perturb_subsets_types.ts";
 * let message = "";
 * try {
 *   checkSubsetPerturbation({
 *     xNHWC: new Float32Array(4), shapeNHWC: [1, 2, 2, 1], copies: 1,
 *     selection: { mode: "subsets", pixelsKNM: Int32Array.of(4), subsetSize: 1 },
 *     baselinesKN: new Float32Array(1),
 *   });
 * } catch (e) {
 *   message = String(e);
 * }
 * assert(message.includes("pixel index 4"));
 * ```
 */
export function checkSubsetPerturbation(pass: SubsetPerturbation): void {
  const { xNHWC, shapeNHWC, copies, selection, baselinesKN } = pass;
  const [n, h, w, c] = shapeNHWC;
  const pixels = h * w;
  const fail = (message: string): never => {
    throw new InputError(`subset perturbation: ${message}`);
  };
  if (![n, h, w, c].every((d) => Number.isInteger(d) && d >= 1)) {
    fail(`shapeNHWC ${shapeNHWC.join("x")} must be positive integers`);
  }
  if (xNHWC.length !== n * pixels * c) {
    fail(`xNHWC has ${xNHWC.length} values, shape ${shapeNHWC.join("x")} needs ${n * pixels * c}`);
  }
  if (!Number.isInteger(copies) || copies < 1) fail(`copies ${copies} must be an integer >= 1`);
  const checkIndices = (indices: Int32Array, field: string) => {
    for (const p of indices) {
      if (p < 0 || p >= pixels) {
        fail(`${field}: pixel index ${p} is outside 0..${pixels - 1} (H·W)`);
      }
    }
  };
  if (selection.mode === "subsets") {
    const m = selection.subsetSize;
    if (!Number.isInteger(m) || m < 0) fail(`subsetSize ${m} must be an integer >= 0`);
    if (selection.pixelsKNM.length !== copies * n * m) {
      fail(`pixelsKNM has ${selection.pixelsKNM.length} indices, K·N·M = ${copies * n * m}`);
    }
    checkIndices(selection.pixelsKNM, "pixelsKNM");
    if (baselinesKN.length !== copies * n) {
      fail(`baselinesKN has ${baselinesKN.length} values, K·N = ${copies * n}`);
    }
    return;
  }
  const { stepPixels, stepEndsNS, firstStep = 0 } = selection;
  if (!Number.isInteger(firstStep) || firstStep < 0) {
    fail(`firstStep ${firstStep} must be an integer >= 0`);
  }
  if (stepEndsNS.length === 0 || stepEndsNS.length % n !== 0) {
    fail(`stepEndsNS has ${stepEndsNS.length} ends, not N·S with S >= 1 steps`);
  }
  const s = stepEndsNS.length / n;
  let previous = 0;
  for (const end of stepEndsNS) {
    if (end < previous || end > stepPixels.length) {
      fail(
        `stepEndsNS: end ${end} after ${previous} must be non-decreasing and at most ` +
          `${stepPixels.length} (stepPixels)`,
      );
    }
    previous = end;
  }
  if (previous !== stepPixels.length) {
    fail(`stepEndsNS ends at ${previous}, not at the ${stepPixels.length} stepPixels`);
  }
  checkIndices(stepPixels, "stepPixels");
  const seen = new Uint8Array(pixels);
  for (let i = 0; i < n; i++) {
    seen.fill(0);
    for (
      const p of stepPixels.subarray(imageStepsStart(stepEndsNS, s, i), stepEndsNS[i * s + s - 1])
    ) {
      if (seen[p]++) fail(`stepPixels: pixel ${p} appears twice in the steps of image ${i}`);
    }
  }
  const needed = Math.min(firstStep + copies, s) * n;
  if (baselinesKN.length < needed) {
    fail(`baselinesKN has ${baselinesKN.length} values, the steps used need ${needed}`);
  }
}
