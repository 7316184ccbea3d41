/**
 * Captum's convergence delta of an attribution that claims completeness (Integrated Gradients,
 * DeepLIFT): per image, Σ attributions − (F(x) − F(x')), F the target logit, x' the baseline.
 *
 * @module
 */
import { tf } from "../../deps.ts";

/**
 * Per image, Σ attributions − (F(x) − F(x')).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { convergenceDelta } from "./convergence_delta.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [1, 1, 2] });
 * const y = tf.layers.dense({ units: 1, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * // F is linear: the exact attribution x − x' has delta 0.
 * const xNHWC = tf.tensor4d([[[[1, 2]]]]);
 * const delta = await convergenceDelta(model, xNHWC, tf.zeros([1, 1, 1, 2]), Int32Array.of(0), xNHWC);
 * assert(Math.abs(delta[0]) < 1e-6);
 * ```
 */
export async function convergenceDelta(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  baselineNHWC: tf.Tensor4D,
  targets: Int32Array,
  attributionsNHWC: tf.Tensor4D,
): Promise<Float64Array> {
  const [logits, totals] = tf.tidy(() => [
    model.predictOnBatch(tf.concat([xNHWC, baselineNHWC])) as tf.Tensor2D,
    tf.sum(attributionsNHWC, [1, 2, 3]),
  ]);
  const [logitValues, totalValues] = [await logits.data(), await totals.data()];
  tf.dispose([logits, totals]);
  const [batch, classes] = [targets.length, logits.shape[1]];
  return Float64Array.from(targets, (target, i) => {
    const gain = logitValues[i * classes + target] - logitValues[(batch + i) * classes + target];
    return totalValues[i] - gain;
  });
}
