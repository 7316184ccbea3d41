/**
 * Noise samples on the GPU: the S noisy copies MaxSensitivity, AvgSensitivity and
 * LocalLipschitzEstimate re-explain, built in one submission on tfjs's webgpu device (S buffer
 * copies of the batch, then one WGSL dispatch, `add_noise.wgsl`, adding the noise) as one
 * `[S·N, H, W, C]` tensor, registered for webgpu as {@link ADD_NOISE}. Semantics, and the
 * rounding caveat for float64 noise: `add_noise_cpu.ts`, which {@link addNoise} runs instead on
 * backends without an accelerated noise pass.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { AcceleratedOp } from "../../backends/accelerated.ts";
import { runWgsl, WORKGROUP_SIZE } from "../../backends/webgpu/webgpu_kernel.ts";
import { type NoisePerturbation, noiseSamples } from "./add_noise_types.ts";
import { addNoiseReference } from "./add_noise_cpu.ts";
import source from "./add_noise.wgsl" with { type: "text" };

/**
 * The noise pass as an accelerated operation: the noisy copies of a pass as a `[S·N, H, W, C]`
 * tensor the caller disposes; webgpu runs {@link addNoiseWebGpu}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ADD_NOISE, addNoiseWebGpu } from "./add_noise.ts";
 * assert(ADD_NOISE.implementation("webgpu") === addNoiseWebGpu);
 * assert(ADD_NOISE.implementation("cpu") === undefined);
 * ```
 */
export const ADD_NOISE = new AcceleratedOp<(pass: NoisePerturbation) => tf.Tensor4D>("addNoise");

/** Values one workgroup of `add_noise.wgsl` adds (its VALUES_PER_GROUP). */
const VALUES_PER_GROUP = 4096;

/**
 * The noisy copies of `pass` as a `[S·N, H, W, C]` tensor built by the WGSL kernel on the
 * webgpu backend, in float32 (float64 noise is rounded to float32 first). The caller disposes
 * it.
 *
 * @throws {InputError} for inconsistent inputs.
 * @throws {Error} off the webgpu backend, or for an output larger than the device binds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../../backends/backend.ts";
 * import { addNoiseWebGpu } from "./add_noise.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const noisy = addNoiseWebGpu({
 *     xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1], noiseSNHWC: Float32Array.of(0.5, 0, -1, 1),
 *   });
 *   assert((await noisy.data()).join() === "1.5,2,0,3");
 *   noisy.dispose();
 * }
 * ```
 */
export function addNoiseWebGpu(pass: NoisePerturbation): tf.Tensor4D {
  const samples = noiseSamples(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  const total = samples * pass.xNHWC.length;
  const noise = pass.noiseSNHWC instanceof Float32Array
    ? pass.noiseSNHWC
    : new Float32Array(pass.noiseSNHWC);
  const [out] = runWgsl({
    label: "add_noise",
    source,
    bindings: [
      { kind: "uniform", data: Uint32Array.of(total) },
      { kind: "read", data: noise },
      { kind: "write", outputShape: [samples * n, h, w, c], tile: pass.xNHWC },
    ],
    dispatches: [{
      entryPoint: "add_noise",
      invocations: Math.ceil(total / VALUES_PER_GROUP) * WORKGROUP_SIZE,
    }],
  });
  return out as tf.Tensor4D;
}

/**
 * The noisy copies of `pass` as a `[S·N, H, W, C]` tensor on the active backend: built by its
 * {@link ADD_NOISE} where it has one (webgpu: the WGSL kernel on tfjs's GPU device, float32
 * addition, see the module comment), by the TypeScript loop (Quantus's float64 addition)
 * otherwise. The caller disposes it.
 *
 * @throws {InputError} for inconsistent inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { addNoise } from "./add_noise.ts";
 * await tf.setBackend("cpu");
 * const noisy = addNoise({
 *   xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1], noiseSNHWC: Float64Array.of(0.5, 0, -1, 1),
 * });
 * assert(noisy.shape.join() === "2,1,2,1");
 * assert((await noisy.data()).join() === "1.5,2,0,3");
 * noisy.dispose();
 * ```
 */
export function addNoise(pass: NoisePerturbation): tf.Tensor4D {
  const accelerated = ADD_NOISE.implementation();
  if (accelerated) return accelerated(pass);
  const samples = noiseSamples(pass);
  const [n, h, w, c] = pass.shapeNHWC;
  return tf.tensor4d(addNoiseReference(pass), [samples * n, h, w, c]);
}

ADD_NOISE.register("webgpu", addNoiseWebGpu);
