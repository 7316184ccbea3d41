/**
 * Noise samples on the GPU: the S noisy copies MaxSensitivity, AvgSensitivity and
 * LocalLipschitzEstimate re-explain, built in one WGSL dispatch (`add_noise.wgsl`) as one
 * `[S·N, H, W, C]` tensor. Semantics, and the rounding caveat for float64
 * noise:
 * `add_noise_reference.ts`, which {@link addNoise} runs instead on the other backends.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { addNoiseReference, type NoisePerturbation, noiseSamples } from "./add_noise_reference.ts";
import { runCompute, tensorFromBuffer, tfjsWebGpuDevice } from "./webgpu_compute.ts";
import shader from "./add_noise.wgsl" with { type: "text" };

/** Values one workgroup of `add_noise.wgsl` adds (its VALUES_PER_GROUP). */
const VALUES_PER_GROUP = 4096;

/**
 * The noisy copies of `pass` built on `device` in float32: a `[S·N·H·W·C]` buffer
 * (`STORAGE | COPY_SRC`, the caller's to destroy). Float64 noise is rounded to float32 first.
 *
 * @throws {InputError} for inconsistent inputs, or an output larger than the device can bind.
 *
 * @example
 * ```ts ignore
 * const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
 * const buffer = await addNoiseWebGpu(device, pass);
 * ```
 */
export function addNoiseWebGpu(
  device: GPUDevice,
  pass: NoisePerturbation,
): Promise<GPUBuffer> {
  const samples = noiseSamples(pass);
  const batchValues = pass.xNHWC.length;
  const total = samples * batchValues;
  const noise = pass.noiseSNHWC instanceof Float32Array
    ? pass.noiseSNHWC
    : new Float32Array(pass.noiseSNHWC);
  return runCompute(device, {
    shader,
    params: Uint32Array.of(total),
    inputs: [noise],
    tile: pass.xNHWC,
    outputValues: total,
    workgroups: Math.ceil(total / VALUES_PER_GROUP),
    what: `${samples} noise samples of ${batchValues} values`,
  });
}

/**
 * The noisy copies of `pass` as a `[S·N, H, W, C]` tensor on the active backend: built by the
 * WGSL kernel on tfjs's GPU device under webgpu (float32 addition, see the module comment), by
 * the TypeScript reference (Quantus's float64 addition) otherwise. Dispose it when done.
 *
 * @throws {InputError} for inconsistent inputs.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { addNoise } from "./add_noise.ts";
 * await tf.setBackend("cpu");
 * const noisy = await addNoise({
 *   xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1], noiseSNHWC: Float64Array.of(0.5, 0, -1, 1),
 * });
 * console.assert(noisy.shape.join() === "2,1,2,1");
 * console.assert((await noisy.data()).join() === "1.5,2,0,3");
 * noisy.dispose();
 * ```
 */
export async function addNoise(pass: NoisePerturbation): Promise<tf.Tensor4D> {
  const samples = noiseSamples(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  const shape = [samples * n, h, w, c] as const;
  const device = tfjsWebGpuDevice();
  if (device) return tensorFromBuffer(await addNoiseWebGpu(device, pass), shape);
  return tf.tensor4d(addNoiseReference(pass), [...shape]);
}
