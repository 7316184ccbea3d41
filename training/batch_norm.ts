/**
 * BatchNorm running statistics updated as PyTorch updates them.
 *
 * tfjs and PyTorch both keep `running = decay·running + (1 − decay)·batch`, but name the
 * parameter oppositely: tfjs `momentum` is the weight of the old value (default 0.99), PyTorch
 * `momentum` the weight of the batch value (default 0.1). So PyTorch's 0.1 is tfjs's 0.9.
 * They also differ in the variance fed in: tfjs uses the biased batch variance (÷ n), PyTorch
 * the unbiased one (÷ (n − 1)), where n = batch × spatial positions per channel. tfjs gives no
 * hook for the latter, so after each step we add the difference back:
 *
 * ```text
 * tfjs wrote   v' = 0.9·v + 0.1·s²_biased
 * PyTorch has  v' + 0.1·s²_biased/(n − 1) = v' + (v' − 0.9·v)/(n − 1)
 * ```
 *
 * which needs only the running variance from before the step. Normalising the batch itself in
 * training mode uses the biased variance in both frameworks, so the forward pass agrees.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { layersOfClass } from "./layers_of_class.ts";

/** PyTorch's default BatchNorm momentum (weight of the batch statistics). */
export const TORCH_BN_MOMENTUM = 0.1;

/** The private fields of a tfjs BatchNormalization layer this module reads and sets. */
interface BatchNormInternals {
  momentum: number;
  axis: number;
  movingVariance?: { read(): tf.Tensor; write(value: tf.Tensor): void };
  name: string;
}

/**
 * Makes a model's BatchNorm layers keep PyTorch's running statistics during training steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { TorchBatchNormStats } from "./batch_norm.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2, 2, 1] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.batchNormalization().apply(input) as tf.SymbolicTensor });
 * const stats = new TorchBatchNormStats(model);
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]); // mean 1.5, unbiased variance 5/3
 * stats.beforeStep();
 * model.apply(x, { training: true });
 * stats.afterStep(1);
 * const movingVariance = model.weights.find((w) => w.name.includes("moving_variance"))!;
 * assert(Math.abs(movingVariance.read().dataSync()[0] - (0.9 + 0.1 * 5 / 3)) < 1e-6);
 * ```
 */
export class TorchBatchNormStats {
  readonly #layers: BatchNormInternals[];
  readonly #spatialPositions: number[];
  #before: tf.Tensor[] = [];

  /** Sets every BatchNorm layer's momentum to PyTorch's 0.1 (tfjs 0.9). */
  constructor(model: tf.LayersModel) {
    this.#layers = layersOfClass(model, "BatchNormalization") as unknown as BatchNormInternals[];
    this.#spatialPositions = this.#layers.map((layer) => {
      layer.momentum = 1 - TORCH_BN_MOMENTUM;
      const shape = ((layer as unknown as tf.layers.Layer).input as tf.SymbolicTensor).shape;
      const axis = layer.axis < 0 ? layer.axis + shape.length : layer.axis;
      const others = shape.filter((_, i) => i !== 0 && i !== axis);
      if (others.some((d) => d === null)) {
        throw new Error(
          `BatchNorm layer ${layer.name}: input shape ${JSON.stringify(shape)} has a free ` +
            "spatial size; the unbiased running variance needs fixed input sizes",
        );
      }
      return (others as number[]).reduce((a, b) => a * b, 1);
    });
  }

  /** Number of BatchNorm layers found. */
  get layerCount(): number {
    return this.#layers.length;
  }

  /** Remembers the running variances; call right before a training-mode forward pass. */
  beforeStep(): void {
    this.#disposeBefore();
    this.#before = this.#layers.map((layer) => tf.clone(layer.movingVariance!.read()));
  }

  /** Turns the biased update tfjs just made into PyTorch's unbiased one. */
  afterStep(batchSize: number): void {
    const decay = 1 - TORCH_BN_MOMENTUM;
    this.#layers.forEach((layer, i) => {
      const n = batchSize * this.#spatialPositions[i];
      if (n < 2) return; // PyTorch refuses to train BatchNorm on one value per channel
      const corrected = tf.tidy(() => {
        const written = layer.movingVariance!.read();
        const batchShare = tf.sub(written, tf.mul(this.#before[i], decay));
        return tf.add(written, tf.div(batchShare, n - 1));
      });
      layer.movingVariance!.write(corrected);
      corrected.dispose();
    });
    this.#disposeBefore();
  }

  #disposeBefore(): void {
    for (const t of this.#before) t.dispose();
    this.#before = [];
  }
}
