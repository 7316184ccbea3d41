/**
 * Subset perturbation on the GPU: every perturbed copy a metric scores for a batch — the random
 * subsets of FaithfulnessCorrelation, the cumulative steps of PixelFlipping and
 * RegionPerturbation — built in one submission on tfjs's webgpu device (K buffer copies of the N
 * images, then one WGSL dispatch, `perturb_subsets.wgsl`, writing the baselines), ready for one
 * batched model call. Only the N images, the pixel indices and the baselines travel to the GPU,
 * not the K·N copies. Semantics and layouts: `perturb_subsets_reference.ts`, which
 * {@link perturbSubsets} runs instead on the other backends.
 *
 * @module
 */
import { tf } from "../deps.ts";
import {
  checkSubsetPerturbation,
  perturbSubsetsReference,
  type SubsetPerturbation,
} from "./perturb_subsets_reference.ts";
import { onWebGpuBackend, runWgsl, WORKGROUP_SIZE } from "./webgpu_kernel.ts";
import source from "./perturb_subsets.wgsl" with { type: "text" };

/**
 * The copies of `pass` as a `[K·N, H, W, C]` tensor built by the WGSL kernel on the webgpu
 * backend, equal bit for bit to {@link perturbSubsetsReference}. The caller disposes it.
 *
 * @throws {InputError} for inconsistent inputs.
 * @throws {Error} off the webgpu backend, or for an output larger than the device binds.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { probeWebGpu } from "../models/backend.ts";
 * import { perturbSubsetsWebGpu } from "./perturb_subsets.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const copies = perturbSubsetsWebGpu({
 *     xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 1, 4, 1], copies: 1,
 *     selection: { mode: "subsets", pixelsKNM: Int32Array.of(2), subsetSize: 1 },
 *     baselinesKN: Float32Array.of(0),
 *   });
 *   console.assert((await copies.data()).join() === "1,2,0,4");
 *   copies.dispose();
 * }
 * ```
 */
export function perturbSubsetsWebGpu(pass: SubsetPerturbation): tf.Tensor4D {
  checkSubsetPerturbation(pass);
  const { xNHWC, shapeNHWC, copies, selection, baselinesKN } = pass;
  const [n, h, w, c] = shapeNHWC;
  const rows = copies * n;
  const cumulative = selection.mode === "cumulative";
  const indices = cumulative ? selection.ordersNL : selection.pixelsKNM;
  const params = Uint32Array.of(
    n,
    h * w * c,
    c,
    rows,
    cumulative ? 1 : 0,
    cumulative ? selection.chunkPx : selection.subsetSize,
    cumulative ? selection.ordersNL.length / n : 0,
    cumulative ? selection.firstStep ?? 0 : 0,
  );
  const [out] = runWgsl({
    label: "perturb_subsets",
    source,
    bindings: [
      { kind: "uniform", data: params },
      // Checked to lie in 0 .. H·W − 1, so their bits read the same as u32.
      { kind: "read", data: new Uint32Array(indices.buffer, indices.byteOffset, indices.length) },
      { kind: "read", data: baselinesKN },
      { kind: "write", outputShape: [rows, h, w, c], tile: xNHWC },
    ],
    // One workgroup per copy.
    dispatches: [{ entryPoint: "perturb", invocations: rows * WORKGROUP_SIZE }],
  });
  return out as tf.Tensor4D;
}

/**
 * The copies of `pass` as a `[K·N, H, W, C]` tensor on the active backend: built by the WGSL
 * kernel on tfjs's GPU device under webgpu (no CPU round trip), by the TypeScript reference
 * otherwise. The caller disposes it.
 *
 * @throws {InputError} for inconsistent inputs.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { perturbSubsets } from "./perturb_subsets.ts";
 * await tf.setBackend("cpu");
 * const copies = perturbSubsets({
 *   xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 2, 2, 1], copies: 2,
 *   selection: { mode: "cumulative", ordersNL: Int32Array.of(3, 2, 1, 0), chunkPx: 2 },
 *   baselinesKN: Float32Array.of(0, 0),
 * });
 * console.assert(copies.shape.join() === "2,2,2,1");
 * console.assert((await copies.data()).join() === "1,2,0,0,0,0,0,0");
 * copies.dispose();
 * ```
 */
export function perturbSubsets(pass: SubsetPerturbation): tf.Tensor4D {
  if (onWebGpuBackend()) return perturbSubsetsWebGpu(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  return tf.tensor4d(perturbSubsetsReference(pass), [pass.copies * n, h, w, c]);
}
