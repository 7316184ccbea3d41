/**
 * What a noise pass is, for every implementation of it: S noisy copies of an NHWC batch,
 * sample-major ([S·N, H, W, C], row s·N + i is sample s of image i), each value x + noise. The
 * pass's type and the check {@link noiseSamples} that every implementation runs first; the
 * implementations: `add_noise_cpu.ts` (TypeScript, the definition) and `add_noise.wgsl` on
 * webgpu; `add_noise.ts` picks one for the active backend.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { ShapeNHWC } from "../../core/shapes.ts";

/** What one noise pass reads. */
export interface NoisePerturbation {
  xNHWC: Float32Array;
  shapeNHWC: ShapeNHWC;
  /** [S, N, H, W, C] one noise value per value of every sample. */
  noiseSNHWC: Float32Array | Float64Array;
}

/**
 * S, the number of noise samples, after checking the arrays fit.
 *
 * @throws {InputError} when the noise is not a whole number of batches.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { noiseSamples } from "./add_noise_types.ts";
 * const s = noiseSamples({ xNHWC: new Float32Array(2), shapeNHWC: [1, 1, 2, 1], noiseSNHWC: new Float64Array(6) });
 * assert(s === 3);
 * ```
 */
export function noiseSamples(pass: NoisePerturbation): number {
  const { xNHWC, shapeNHWC, noiseSNHWC } = pass;
  const values = shapeNHWC.reduce((a, b) => a * b, 1);
  if (xNHWC.length !== values || values === 0) {
    throw new InputError(
      `noise: xNHWC has ${xNHWC.length} values, shape ${shapeNHWC.join("x")} needs ${values} (> 0)`,
    );
  }
  if (noiseSNHWC.length % values !== 0) {
    throw new InputError(
      `noise: noiseSNHWC has ${noiseSNHWC.length} values, not a multiple of the batch's ${values}`,
    );
  }
  return noiseSNHWC.length / values;
}
