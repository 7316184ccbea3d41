/**
 * The classifier as metrics see it: batched NHWC inputs in, logits or softmax probabilities out,
 * with the number of model calls counted (perturbation metrics are judged by how few they make).
 *
 * @module
 */
import { tf } from "../deps.ts";
import { logitsOfNHWC } from "../evaluation/inference.ts";
import { foldBatchNorm } from "../models/fold_batchnorm.ts";

/** Images per model call when a metric scores many perturbed copies at once. */
export const METRIC_BATCH_SIZE = 64;

/**
 * A tfjs classifier with logits as outputs, wrapped for metrics.
 *
 * Forward passes run through a copy with BatchNorm folded into the convolutions (made on first
 * use); gradients and re-explanations use {@link MetricModel.layers}, the model itself.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { MetricModel } from "./metric_model.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 1, 2] });
 * const out = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const p = await model.scores(Float32Array.of(0, 0), [1, 1, 1, 2], { softmax: true });
 * console.assert(Math.abs(p[0] - 0.5) < 1e-6 && model.numClasses === 2 && model.calls === 1);
 * model.dispose();
 * ```
 */
export class MetricModel {
  /** The model itself (for gradients and explainers). */
  readonly layers: tf.LayersModel;
  /** Size of the output layer. */
  readonly numClasses: number;
  /** Images per forward call. */
  readonly batchSize: number;
  /** Forward calls made so far (each of at most `batchSize` images). */
  calls = 0;
  #inference: tf.LayersModel | undefined;

  /**
   * @param layers a model whose output is `[N, classes]` logits.
   * @param batchSize images per forward call.
   */
  constructor(layers: tf.LayersModel, batchSize = METRIC_BATCH_SIZE) {
    this.layers = layers;
    const outputShape = layers.outputs[0].shape;
    this.numClasses = outputShape[outputShape.length - 1] ?? 0;
    this.batchSize = batchSize;
  }

  /**
   * `[N, classes]` outputs for an NHWC batch of any size: logits, or softmax probabilities with
   * `softmax`.
   */
  async scores(
    xNHWC: Float32Array,
    shapeNHWC: readonly [number, number, number, number],
    { softmax }: { softmax: boolean },
  ): Promise<Float32Array> {
    this.#inference ??= foldBatchNorm(this.layers);
    const [n, h, w, c] = shapeNHWC;
    const perImage = h * w * c;
    const out = new Float32Array(n * this.numClasses);
    for (let start = 0; start < n; start += this.batchSize) {
      const count = Math.min(this.batchSize, n - start);
      const x = xNHWC.subarray(start * perImage, (start + count) * perImage);
      const logits = await logitsOfNHWC(this.#inference, x, [count, h, w, c]);
      this.calls++;
      out.set(softmax ? softmaxRows(logits, this.numClasses) : logits, start * this.numClasses);
    }
    return out;
  }

  /**
   * Each image's output for its own target class: `[N]`, with `targets[i % targets.length]`
   * for image i, so a batch of several perturbed copies per image can share one target list.
   */
  async targetScores(
    xNHWC: Float32Array,
    shapeNHWC: readonly [number, number, number, number],
    targets: Int32Array,
    options: { softmax: boolean },
  ): Promise<Float32Array> {
    const all = await this.scores(xNHWC, shapeNHWC, options);
    const k = this.numClasses;
    return Float32Array.from(
      { length: shapeNHWC[0] },
      (_, i) => all[i * k + targets[i % targets.length]],
    );
  }

  /** Frees the folded copy (the wrapped model stays the caller's). */
  dispose(): void {
    this.#inference?.dispose();
    this.#inference = undefined;
  }
}

/**
 * Row-wise softmax of `[N, K]` values in float32, computed as PyTorch does (subtract the row
 * maximum, exponentiate, divide by the sum).
 *
 * @example
 * ```ts
 * import { softmaxRows } from "./metric_model.ts";
 * const p = softmaxRows(Float32Array.of(1, 1, 0, Math.log(3)), 2);
 * console.assert(p[0] === 0.5 && Math.abs(p[3] - 0.75) < 1e-6);
 * ```
 */
export function softmaxRows(valuesNK: Float32Array, k: number): Float32Array {
  const out = new Float32Array(valuesNK.length);
  for (let row = 0; row < valuesNK.length; row += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, valuesNK[row + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      out[row + j] = Math.exp(valuesNK[row + j] - max);
      sum += out[row + j];
    }
    for (let j = 0; j < k; j++) out[row + j] = out[row + j] / sum;
  }
  return out;
}
