/**
 * Plain-TypeScript reference of the Integrated Gradients path kernel: the scaled inputs
 * b + alpha_k (x − b) along the straight path for a whole batch and every step, and the
 * accumulation attribution = (x − b) · Σ_k stepSize_k · g_k. Loops over NHWC arrays, written
 * for reading rather than speed; `xai/gradient/integrated_gradients.ts` and later GPU kernels are tested
 * against it.
 *
 * @module
 */

import type { ShapeNHWC } from "../../core/shapes.ts";

/**
 * The model inputs along the path, step-major as Captum orders them: row k · N + i is
 * b_i + alpha_k (x_i − b_i), [steps · N, H, W, C]. Rounded to float32 after each operation,
 * with alpha_k rounded to float32 first, as PyTorch evaluates it.
 *
 * @param baselineNHWC one baseline per image, same shape as `xNHWC`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { igScaledInputsReference } from "./ig_path_reference.ts";
 * const rows = igScaledInputsReference(new Float32Array([2]), new Float32Array([0]), [1, 1, 1, 1], [0.25, 1]);
 * assert(rows.join() === "0.5,2");
 * ```
 */
export function igScaledInputsReference(
  xNHWC: Float32Array,
  baselineNHWC: Float32Array,
  shapeNHWC: ShapeNHWC,
  alphas: ArrayLike<number>,
): Float32Array {
  const batchValues = shapeNHWC.reduce((a, b) => a * b, 1);
  const rowsSNHWC = new Float32Array(alphas.length * batchValues);
  for (let k = 0; k < alphas.length; k++) {
    const alpha = Math.fround(alphas[k]);
    for (let j = 0; j < batchValues; j++) {
      const b = baselineNHWC[j];
      rowsSNHWC[k * batchValues + j] = b + Math.fround(alpha * Math.fround(xNHWC[j] - b));
    }
  }
  return rowsSNHWC;
}

/**
 * Attributions (x − b) · Σ_k stepSizes[k] · g_k, [N, H, W, C], summed in float64.
 *
 * @param gradientsSNHWC d logits[i, target_i] / d input at each row of
 * {@link igScaledInputsReference}, in the same step-major order.
 * @param stepSizes the quadrature weights, one per step (Captum rounds them to float32).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { igAccumulateReference } from "./ig_path_reference.ts";
 * const attr = igAccumulateReference(
 *   new Float32Array([1, 3]), new Float32Array([2]), new Float32Array([0]), [1, 1, 1, 1], [0.5, 0.5],
 * );
 * assert(attr[0] === 4);
 * ```
 */
export function igAccumulateReference(
  gradientsSNHWC: Float32Array,
  xNHWC: Float32Array,
  baselineNHWC: Float32Array,
  shapeNHWC: ShapeNHWC,
  stepSizes: ArrayLike<number>,
): Float32Array {
  const batchValues = shapeNHWC.reduce((a, b) => a * b, 1);
  const attributionsNHWC = new Float32Array(batchValues);
  for (let j = 0; j < batchValues; j++) {
    let integral = 0;
    for (let k = 0; k < stepSizes.length; k++) {
      integral += stepSizes[k] * gradientsSNHWC[k * batchValues + j];
    }
    attributionsNHWC[j] = (xNHWC[j] - baselineNHWC[j]) * integral;
  }
  return attributionsNHWC;
}
