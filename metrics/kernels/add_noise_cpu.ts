/**
 * The noise pass in plain TypeScript, written for reading: S noisy copies of an NHWC batch
 * (`add_noise_types.ts`), each value `fround(x + noise)`. What `addNoise` (`add_noise.ts`) runs on
 * backends that do not accelerate it, and the definition the WGSL kernel is tested against.
 * Production code runs it, so it is no `_reference.ts` file (only tests may import those).
 *
 * Quantus adds float64 noise to the float32 input in float64 and stores the sum as float32;
 * with float64 noise this function does exactly that. `metrics/kernels/add_noise.wgsl` adds in float32
 * on the GPU (noise rounded to float32 first): equal bit for bit when the noise is float32 (the
 * float64 sum of two float32 values rounded to float32 is their correctly rounded float32 sum,
 * since 53 ≥ 2·24 + 2). With float64 noise the GPU sum is off by at most half an ulp of the
 * noise plus one ulp of the sum (the noise's own rounding; about 1 value in 9 differs for U(−0.2, 0.2) noise on N(0, 1)
 * inputs).
 *
 * @module
 */
import { type NoisePerturbation, noiseSamples } from "./add_noise_types.ts";

/**
 * The noisy copies, [S·N·H·W·C], each `fround(x + noise)`.
 *
 * @throws {InputError} from {@link noiseSamples}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { addNoiseReference } from "./add_noise_cpu.ts";
 * const out = addNoiseReference({
 *   xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1], noiseSNHWC: Float64Array.of(0.5, 0, -1, 1),
 * });
 * assert(out.join() === "1.5,2,0,3");
 * ```
 */
export function addNoiseReference(pass: NoisePerturbation): Float32Array<ArrayBuffer> {
  noiseSamples(pass);
  const { xNHWC, noiseSNHWC } = pass;
  const values = xNHWC.length;
  const out = new Float32Array(noiseSNHWC.length);
  for (let start = 0; start < out.length; start += values) {
    // Storing into a Float32Array rounds the float64 sum once, as numpy's cast does.
    for (let j = 0; j < values; j++) out[start + j] = xNHWC[j] + noiseSNHWC[start + j];
  }
  return out;
}
