/**
 * Cross-entropy on logits, as `torch.nn.CrossEntropyLoss()` (mean over the batch).
 *
 * @module
 */
import { tf } from "../deps.ts";

/**
 * Mean cross-entropy of `logitsNC` against integer class `labels`. The true-class term is a
 * one-hot product rather than a `gather`, because wasm has no gradient for `gather`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { crossEntropyFromLogits } from "./cross_entropy.ts";
 * await tf.setBackend("cpu");
 * const loss = crossEntropyFromLogits(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32"));
 * assert(Math.abs(loss.dataSync()[0] - Math.LN2) < 1e-6);
 * ```
 */
export function crossEntropyFromLogits(logitsNC: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logitsNC);
    const oneHot = tf.oneHot(labels, logitsNC.shape[1]).toFloat();
    return tf.neg(tf.mean(tf.sum(tf.mul(logProbabilities, oneHot), 1)));
  });
}

/**
 * Softmax probabilities and per-sample cross-entropy computed in float64 from float32 logits
 * (for evaluation, where no gradient is needed).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { softmaxCrossEntropyRows } from "./cross_entropy.ts";
 * const { probabilities, losses } = softmaxCrossEntropyRows(new Float32Array([0, 0]), [1], 2);
 * assert(probabilities[0] === 0.5 && Math.abs(losses[0] - Math.LN2) < 1e-12);
 * ```
 */
export function softmaxCrossEntropyRows(
  logitsNC: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
): { probabilities: Float64Array; losses: Float64Array } {
  const n = logitsNC.length / numClasses;
  const probabilities = new Float64Array(logitsNC.length);
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = logitsNC.subarray(i * numClasses, (i + 1) * numClasses);
    const max = Math.max(...row);
    let total = 0;
    for (let c = 0; c < numClasses; c++) total += Math.exp(row[c] - max);
    for (let c = 0; c < numClasses; c++) {
      probabilities[i * numClasses + c] = Math.exp(row[c] - max) / total;
    }
    losses[i] = Math.log(total) + max - row[labels[i]];
  }
  return { probabilities, losses };
}
