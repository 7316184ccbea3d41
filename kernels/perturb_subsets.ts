/**
 * Subset perturbation on the GPU: every perturbed copy a metric scores for a batch — the random
 * subsets of FaithfulnessCorrelation, the cumulative steps of PixelFlipping and
 * RegionPerturbation — built in one submission (K buffer copies of the N images, then one WGSL
 * dispatch, `perturb_subsets.wgsl`, writing the baselines), ready for one batched model call.
 * Only the N images, the pixel indices and the baselines travel to the GPU, not the K·N copies. Semantics and layouts: `perturb_subsets_reference.ts`, which
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
import { runCompute, tensorFromBuffer, tfjsWebGpuDevice } from "./webgpu_compute.ts";
import shader from "./perturb_subsets.wgsl" with { type: "text" };

/**
 * The copies of `pass` built on `device`: a `[K·N·H·W·C]` float32 buffer (`STORAGE | COPY_SRC`,
 * the caller's to destroy), equal bit for bit to {@link perturbSubsetsReference}.
 *
 * @throws {InputError} for inconsistent inputs, or an output larger than the device can bind.
 *
 * @example
 * ```ts ignore
 * const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
 * const buffer = await perturbSubsetsWebGpu(device, pass);
 * ```
 */
export function perturbSubsetsWebGpu(
  device: GPUDevice,
  pass: SubsetPerturbation,
): Promise<GPUBuffer> {
  checkSubsetPerturbation(pass);
  const { xNHWC, shapeNHWC, copies, selection, baselinesKN } = pass;
  const [n, h, w, c] = shapeNHWC;
  const rows = copies * n;
  const cumulative = selection.mode === "cumulative";
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
  return runCompute(device, {
    shader,
    params,
    inputs: [cumulative ? selection.ordersNL : selection.pixelsKNM, baselinesKN],
    outputValues: rows * h * w * c,
    tile: xNHWC,
    workgroups: rows,
    what: `${rows} perturbed copies of ${h}x${w}x${c}`,
  });
}

/**
 * The copies of `pass` as a `[K·N, H, W, C]` tensor on the active backend: built by the WGSL
 * kernel on tfjs's GPU device under webgpu (no CPU round trip), by the TypeScript reference
 * otherwise. Dispose it when done.
 *
 * @throws {InputError} for inconsistent inputs.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { perturbSubsets } from "./perturb_subsets.ts";
 * await tf.setBackend("cpu");
 * const copies = await perturbSubsets({
 *   xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 2, 2, 1], copies: 2,
 *   selection: { mode: "cumulative", ordersNL: Int32Array.of(3, 2, 1, 0), chunkPx: 2 },
 *   baselinesKN: Float32Array.of(0, 0),
 * });
 * console.assert(copies.shape.join() === "2,2,2,1");
 * console.assert((await copies.data()).join() === "1,2,0,0,0,0,0,0");
 * copies.dispose();
 * ```
 */
export async function perturbSubsets(pass: SubsetPerturbation): Promise<tf.Tensor4D> {
  const [n, h, w, c] = pass.shapeNHWC;
  const shape = [pass.copies * n, h, w, c] as const;
  const device = tfjsWebGpuDevice();
  if (device) return tensorFromBuffer(await perturbSubsetsWebGpu(device, pass), shape);
  return tf.tensor4d(perturbSubsetsReference(pass), [...shape]);
}
