/**
 * Plain-TypeScript reference of the subset-perturbation kernel: K copies of every image of an
 * NHWC batch with chosen pixels (all channels) replaced by a baseline value, copy-major
 * ([K·N, H, W, C], row k·N + i is copy k of image i, so `targets[row % N]` is its class).
 *
 * Two ways of choosing the pixels of copy k of image i:
 * - `subsets`: its own list, `pixelsKNM[(k·N + i)·M … + M]` (FaithfulnessCorrelation's random
 *   subsets), all set to `baselinesKN[k·N + i]`;
 * - `cumulative`: the first `min((firstStep + k + 1)·chunkPx, L)` entries of image i's order
 *   `ordersNL[i·L … + L]` (the steps of PixelFlipping and RegionPerturbation, which perturb
 *   the running copy chunk by chunk). Chunk j keeps the baseline of the step that replaced it,
 *   `baselinesKN[j·N + i]` counted from step 0, as Quantus's loop leaves it; the last chunk
 *   may be short when chunkPx does not divide L.
 *
 * `kernels/perturb_subsets.wgsl` computes the same values on the GPU; they agree bit for bit.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { replacePixels } from "../metrics/perturb.ts";
import type { ShapeNHWC } from "./gradcam_pool_reference.ts";

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
    /** [N, L] each image's pixel order (no pixel twice). */
    ordersNL: Int32Array;
    /** Pixels added per step. */
    chunkPx: number;
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
   * Replacement values: subsets [K, N], one per copy; cumulative [S, N], one per step from step
   * 0 (S ≥ firstStep + K, or fewer when the order runs out sooner).
   */
  baselinesKN: Float32Array;
}

/** Steps the order of length `orderLength` has with `chunkPx` pixels per step (last one short). */
function stepCount(orderLength: number, chunkPx: number): number {
  return Math.ceil(orderLength / chunkPx);
}

/**
 * Throws an {@link InputError} naming the field when the pass's arrays do not fit each other or
 * an index is outside the image; both paths check with this.
 *
 * @example
 * ```ts
 * import { checkSubsetPerturbation } from "./perturb_subsets_reference.ts";
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
 * console.assert(message.includes("pixel index 4"));
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
  const { ordersNL, chunkPx, firstStep = 0 } = selection;
  if (!Number.isInteger(chunkPx) || chunkPx < 1) fail(`chunkPx ${chunkPx} must be an integer >= 1`);
  if (!Number.isInteger(firstStep) || firstStep < 0) {
    fail(`firstStep ${firstStep} must be an integer >= 0`);
  }
  if (ordersNL.length % n !== 0) fail(`ordersNL has ${ordersNL.length} indices, not N·L`);
  const orderLength = ordersNL.length / n;
  if (orderLength > pixels) fail(`ordersNL rows have ${orderLength} indices, more than H·W`);
  checkIndices(ordersNL, "ordersNL");
  const seen = new Uint8Array(pixels);
  for (let i = 0; i < n; i++) {
    seen.fill(0);
    for (const p of ordersNL.subarray(i * orderLength, (i + 1) * orderLength)) {
      if (seen[p]++) fail(`ordersNL: pixel ${p} appears twice in the order of image ${i}`);
    }
  }
  const needed = Math.min(firstStep + copies, stepCount(orderLength, chunkPx)) * n;
  if (baselinesKN.length < needed) {
    fail(`baselinesKN has ${baselinesKN.length} values, the steps used need ${needed}`);
  }
}

/**
 * The perturbed copies, [K·N, H, W, C] (see the module comment), written for reading.
 *
 * @throws {InputError} from {@link checkSubsetPerturbation}.
 *
 * @example
 * ```ts
 * import { perturbSubsetsReference } from "./perturb_subsets_reference.ts";
 * const x = Float32Array.of(1, 2, 3, 4); // one 1x4 image, one channel
 * const subsets = perturbSubsetsReference({
 *   xNHWC: x, shapeNHWC: [1, 1, 4, 1], copies: 2,
 *   selection: { mode: "subsets", pixelsKNM: Int32Array.of(0, 3, 1, 2), subsetSize: 2 },
 *   baselinesKN: Float32Array.of(0, 9),
 * });
 * console.assert(subsets.join() === "0,2,3,0,1,9,9,4");
 * const steps = perturbSubsetsReference({
 *   xNHWC: x, shapeNHWC: [1, 1, 4, 1], copies: 2,
 *   selection: { mode: "cumulative", ordersNL: Int32Array.of(3, 2, 1, 0), chunkPx: 3 },
 *   baselinesKN: Float32Array.of(0, 9),
 * });
 * console.assert(steps.join() === "1,0,0,0,9,0,0,0");
 * ```
 */
export function perturbSubsetsReference(pass: SubsetPerturbation): Float32Array<ArrayBuffer> {
  checkSubsetPerturbation(pass);
  const { xNHWC, shapeNHWC, copies, selection, baselinesKN } = pass;
  const [n, h, w, c] = shapeNHWC;
  const perImage = h * w * c;
  const out = new Float32Array(copies * n * perImage);
  for (let k = 0; k < copies; k++) {
    for (let i = 0; i < n; i++) {
      const row = k * n + i;
      const copy = out.subarray(row * perImage, (row + 1) * perImage);
      copy.set(xNHWC.subarray(i * perImage, (i + 1) * perImage));
      if (selection.mode === "subsets") {
        const m = selection.subsetSize;
        replacePixels(
          copy,
          c,
          selection.pixelsKNM.subarray(row * m, (row + 1) * m),
          baselinesKN[row],
        );
        continue;
      }
      const { ordersNL, chunkPx, firstStep = 0 } = selection;
      const orderLength = ordersNL.length / n;
      const order = ordersNL.subarray(i * orderLength, (i + 1) * orderLength);
      const lastStep = Math.min(firstStep + k, stepCount(orderLength, chunkPx) - 1);
      for (let step = 0; step <= lastStep; step++) {
        const chunk = order.subarray(step * chunkPx, (step + 1) * chunkPx);
        replacePixels(copy, c, chunk, baselinesKN[step * n + i]);
      }
    }
  }
  return out;
}
