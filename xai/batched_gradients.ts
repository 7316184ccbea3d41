/**
 * Weighted sums of input gradients over many perturbed copies of a batch (Integrated
 * Gradients' path points, SmoothGrad's noisy samples), pushed through the model a chunk of
 * rows at a time.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { inputGradients } from "../models/input_gradients.ts";

/** How {@link sumGradientsOverRows} makes and weighs its rows. */
export interface GradientRows {
  /** Copies of the batch: row r is image r mod N of copy floor(r / N) (Captum's order). */
  copies: number;
  /** Rows per model call (Captum's `internal_batch_size`). */
  internalBatchSize: number;
  /** The model inputs for rows start..end − 1, [end − start, H, W, C]. */
  makeRows(start: number, end: number): tf.Tensor4D;
  /** The weight of copy k's gradients. */
  weight(copy: number): number;
  /** Applied to each row's gradient before weighting (SmoothGrad's abs); default identity. */
  transform?: (gradientNHWC: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * Σ_k weight(k) · transform(∂ logits[i, targets[i]] / ∂ row) over the copies k of each image i:
 * [N, H, W, C]; the caller disposes it. Each chunk's rows are summed into their images with one
 * matrix product, so any chunk size works and no scatter kernel is needed.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { sumGradientsOverRows } from "./batched_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [2, 2, 1] });
 * const y = tf.layers.dense({ units: 2, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const sum = sumGradientsOverRows(model, Int32Array.from([0]), [1, 2, 2, 1], {
 *   copies: 3,
 *   internalBatchSize: 2,
 *   makeRows: (start, end) => tf.zeros([end - start, 2, 2, 1]),
 *   weight: () => 0.5,
 * });
 * console.assert(sum.dataSync().every((v) => v === 1.5));
 * sum.dispose();
 * ```
 */
export function sumGradientsOverRows(
  model: tf.LayersModel,
  targets: Int32Array,
  shapeNHWC: readonly [number, number, number, number],
  rows: GradientRows,
): tf.Tensor4D {
  const batch = shapeNHWC[0];
  const imageSize = shapeNHWC[1] * shapeNHWC[2] * shapeNHWC[3];
  const rowCount = rows.copies * batch;
  let sum: tf.Tensor2D = tf.zeros([batch, imageSize]);
  for (let start = 0; start < rowCount; start += rows.internalBatchSize) {
    const end = Math.min(rowCount, start + rows.internalBatchSize);
    const chunk = end - start;
    const next = tf.tidy(() => {
      const rowTargets = Int32Array.from({ length: chunk }, (_, r) => targets[(start + r) % batch]);
      const { gradient } = inputGradients(model, rows.makeRows(start, end), rowTargets);
      const transformed = rows.transform ? rows.transform(gradient as tf.Tensor4D) : gradient;
      // [N, chunk] with weight(k) where row start + r belongs to image i: the scatter-add.
      const scatter = new Float32Array(batch * chunk);
      for (let r = 0; r < chunk; r++) {
        const row = start + r;
        scatter[(row % batch) * chunk + r] = rows.weight(Math.floor(row / batch));
      }
      const weighted = tf.matMul(
        tf.tensor2d(scatter, [batch, chunk]),
        tf.reshape(transformed, [chunk, imageSize]),
      );
      return tf.add(sum, weighted) as tf.Tensor2D;
    });
    sum.dispose();
    sum = next;
  }
  const result = tf.reshape(sum, [...shapeNHWC]) as tf.Tensor4D;
  sum.dispose();
  return result;
}
