/**
 * Subset perturbation on the GPU: every perturbed copy a metric scores for a batch — the random
 * subsets of FaithfulnessCorrelation, the cumulative steps of PixelFlipping and
 * RegionPerturbation — built in one submission on tfjs's webgpu device (K buffer copies of the N
 * images, then one WGSL dispatch, `perturb_subsets.wgsl`, writing the baselines), ready for one
 * batched model call. Only the N images, the pixel indices and the baselines travel to the GPU,
 * not the K·N copies. Registered for webgpu as {@link PERTURB_SUBSETS}. Semantics and layouts:
 * `perturb_subsets_types.ts`; the TypeScript loops `perturb_subsets_cpu.ts`, which
 * {@link perturbSubsets} runs instead on backends without an accelerated one. How many copies
 * one pass should build: `copiesPerPass` (`metrics/metric_model.ts`).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { AcceleratedOp } from "../../backends/accelerated.ts";
import { runWgsl, WORKGROUP_SIZE } from "../../backends/webgpu/webgpu_kernel.ts";
import { checkSubsetPerturbation, type SubsetPerturbation } from "./perturb_subsets_types.ts";
import { perturbSubsetsReference } from "./perturb_subsets_cpu.ts";
import source from "./perturb_subsets.wgsl" with { type: "text" };

/**
 * The subset perturbation as an accelerated operation: the copies of a pass as a
 * `[K·N, H, W, C]` tensor the caller disposes, equal bit for bit to
 * {@link perturbSubsetsReference}; webgpu runs {@link perturbSubsetsWebGpu}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PERTURB_SUBSETS, perturbSubsetsWebGpu } from "./perturb_subsets.ts";
 * assert(PERTURB_SUBSETS.implementation("webgpu") === perturbSubsetsWebGpu);
 * assert(PERTURB_SUBSETS.implementation("wasm") === undefined);
 * ```
 */
export const PERTURB_SUBSETS = new AcceleratedOp<(pass: SubsetPerturbation) => tf.Tensor4D>(
  "perturbSubsets",
);

/**
 * The copies of `pass` as a `[K·N, H, W, C]` tensor built by the WGSL kernel on the webgpu
 * backend, equal bit for bit to {@link perturbSubsetsReference}. The caller disposes it.
 *
 * @throws {InputError} for inconsistent inputs.
 * @throws {Error} off the webgpu backend, or for an output larger than the device binds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../../backends/backend.ts";
 * import { perturbSubsetsWebGpu } from "./perturb_subsets.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const copies = perturbSubsetsWebGpu({
 *     xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 1, 4, 1], copies: 1,
 *     selection: { mode: "subsets", pixelsKNM: Int32Array.of(2), subsetSize: 1 },
 *     baselinesKN: Float32Array.of(0),
 *   });
 *   assert((await copies.data()).join() === "1,2,0,4");
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
  const indices = cumulative ? selection.stepPixels : selection.pixelsKNM;
  const params = Uint32Array.of(
    n,
    h * w * c,
    c,
    rows,
    cumulative ? 1 : 0,
    cumulative ? 0 : selection.subsetSize,
    cumulative ? selection.stepEndsNS.length / n : 0,
    cumulative ? selection.firstStep ?? 0 : 0,
  );
  // Checked to lie in 0 .. H·W − 1 (pixels) and to be non-decreasing from 0 (ends), so their
  // bits read the same as u32.
  const asU32 = (values: Int32Array) =>
    new Uint32Array(values.buffer, values.byteOffset, values.length);
  const [out] = runWgsl({
    label: "perturb_subsets",
    source,
    bindings: [
      { kind: "uniform", data: params },
      { kind: "read", data: asU32(indices) },
      { kind: "read", data: asU32(cumulative ? selection.stepEndsNS : new Int32Array(0)) },
      { kind: "read", data: baselinesKN },
      { kind: "write", outputShape: [rows, h, w, c], tile: xNHWC },
    ],
    // One workgroup per copy.
    dispatches: [{ entryPoint: "perturb", invocations: rows * WORKGROUP_SIZE }],
  });
  return out as tf.Tensor4D;
}

/**
 * The copies of `pass` as a `[K·N, H, W, C]` tensor on the active backend: built by its
 * {@link PERTURB_SUBSETS} where it has one (webgpu: the WGSL kernel on tfjs's GPU device, no CPU
 * round trip), by the TypeScript loops otherwise. The caller disposes it.
 *
 * @throws {InputError} for inconsistent inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { perturbSubsets } from "./perturb_subsets.ts";
 * import { cumulativeSteps } from "./perturb_subsets_types.ts";
 * await tf.setBackend("cpu");
 * const copies = perturbSubsets({
 *   xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 2, 2, 1], copies: 2,
 *   selection: cumulativeSteps([[[3, 2], [1, 0]]]),
 *   baselinesKN: Float32Array.of(0, 0),
 * });
 * assert(copies.shape.join() === "2,2,2,1");
 * assert((await copies.data()).join() === "1,2,0,0,0,0,0,0");
 * copies.dispose();
 * ```
 */
export function perturbSubsets(pass: SubsetPerturbation): tf.Tensor4D {
  const accelerated = PERTURB_SUBSETS.implementation();
  if (accelerated) return accelerated(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  return tf.tensor4d(perturbSubsetsReference(pass), [pass.copies * n, h, w, c]);
}

PERTURB_SUBSETS.register("webgpu", perturbSubsetsWebGpu);
