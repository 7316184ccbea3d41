/**
 * Weighted sums of input gradients over many perturbed copies of a batch (Integrated
 * Gradients' path points, SmoothGrad's noisy samples), pushed through the model a chunk of
 * rows at a time.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type ForwardCache, inputGradients } from "../../graph/input_gradients.ts";

/** How {@link sumGradientsOverRows} makes and weighs its rows. */
export interface GradientRows {
  /** Copies of the batch: row r is image r mod N of copy floor(r / N) (Captum's order). */
  copies: number;
  /** Rows per model call (Captum's `internal_batch_size`). */
  internalBatchSize: number;
  /** The model inputs for rows start..end − 1, [end − start, H, W, C]. */
  makeRows(start: number, end: number): tf.Tensor4D;
  /**
   * The tensor the rows are values of, when not the model's input (an `AffinePrefix`'s output):
   * the gradients are then w.r.t. it.
   */
  from?: tf.SymbolicTensor;
  /**
   * A cache of the unchanged model on rows start..end − 1 made by `makeRows` (MPRT's Integrated
   * Gradients: `ForwardCache.rows`), or undefined: the gradients are then taken on its rows
   * (bit-equal to the ones made), past the kept values of the nodes no changed layer feeds.
   */
  reuse?: (rowsNHWC: tf.Tensor4D, start: number, end: number) => ForwardCache | undefined;
  /** The weight of copy k's gradients. */
  weight(copy: number): number;
  /** Applied to each row's gradient before weighting (SmoothGrad's abs); default identity. */
  transform?: (gradientNHWC: tf.Tensor4D) => tf.Tensor4D;
  /**
   * Adds the (transformed) gradients of rows start..end − 1 into the running sum [N, H, W, C]
   * and returns the new sum. Default: Σ weight(k) · gradient, as one scatter matrix product.
   * Integrated Gradients' WGSL kernel adds (x − b) · weight(k) · gradient instead, so its sum
   * is the attribution itself.
   */
  accumulate?: (
    sumNHWC: tf.Tensor4D,
    gradientRowsNHWC: tf.Tensor4D,
    start: number,
    end: number,
  ) => tf.Tensor4D;
}

/** sumNHWC + Σ weight(k) · gradient over rows start..end − 1, summed into their images. */
function scatterAddRows(
  rows: GradientRows,
  sumNHWC: tf.Tensor4D,
  gradientRowsNHWC: tf.Tensor4D,
  start: number,
  end: number,
): tf.Tensor4D {
  const [batch, ...imageShape] = sumNHWC.shape;
  const chunk = end - start;
  // [N, chunk] with weight(k) where row start + r belongs to image i: the scatter-add.
  const scatter = new Float32Array(batch * chunk);
  for (let r = 0; r < chunk; r++) {
    const row = start + r;
    scatter[(row % batch) * chunk + r] = rows.weight(Math.floor(row / batch));
  }
  const weighted = tf.matMul(
    tf.tensor2d(scatter, [batch, chunk]),
    tf.reshape(gradientRowsNHWC, [chunk, imageShape.reduce((a, b) => a * b, 1)]),
  );
  return tf.add(sumNHWC, tf.reshape(weighted, sumNHWC.shape)) as tf.Tensor4D;
}

/**
 * Σ_k weight(k) · transform(∂ logits[i, targets[i]] / ∂ row) over the copies k of each image i:
 * `shapeNHWC`, the shape of one copy of the rows; the caller disposes it. By default each chunk's
 * rows are summed into their images with one matrix product, so any chunk size works and no
 * scatter kernel is needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
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
 * assert(sum.dataSync().every((v) => v === 1.5));
 * sum.dispose();
 * ```
 */
export function sumGradientsOverRows(
  model: tf.LayersModel,
  targets: Int32Array,
  shapeNHWC: readonly [number, number, number, number],
  rows: GradientRows,
): tf.Tensor4D {
  const rowCount = rows.copies * shapeNHWC[0];
  const accumulate = rows.accumulate ??
    ((sum, gradients, start, end) => scatterAddRows(rows, sum, gradients, start, end));
  let sum: tf.Tensor4D = tf.zeros([...shapeNHWC]);
  for (let start = 0; start < rowCount; start += rows.internalBatchSize) {
    const end = Math.min(rowCount, start + rows.internalBatchSize);
    const next = tf.tidy(() => {
      const rowTargets = Int32Array.from(
        { length: end - start },
        (_, r) => targets[(start + r) % shapeNHWC[0]],
      );
      const made = rows.makeRows(start, end);
      const reuse = rows.reuse?.(made, start, end);
      const { gradient } = inputGradients(model, reuse?.xNHWC ?? made, rowTargets, {
        from: rows.from,
        reuse,
      });
      const transformed = rows.transform ? rows.transform(gradient as tf.Tensor4D) : gradient;
      return accumulate(sum, transformed as tf.Tensor4D, start, end);
    });
    sum.dispose();
    sum = next;
  }
  return sum;
}
