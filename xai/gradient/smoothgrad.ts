/**
 * SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017):
 * M̂_c(x) = (1 / n) Σ_{k=1..n} M_c(x + N(0, σ²)), with M_c the class score's gradient, n the
 * sample size and σ set by the noise level σ / (x_max − x_min) of each image. Like Captum's
 * `NoiseTunnel(Saliency)`, `abs` averages |M_c| (the default) or the signed gradient. The map is
 * the channel sum. The noise is drawn from `core/random.ts`, so a seed reproduces it exactly.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { SeededRandom } from "../../core/random.ts";
import { InputError } from "../../core/errors.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import { sumGradientsOverRows } from "./batched_gradients.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  inputAttribution,
  requireInteger,
} from "../explainer.ts";
import type { SaliencyOptions } from "./saliency.ts";

/** Options of {@link SMOOTHGRAD}. */
export interface SmoothGradOptions extends SaliencyOptions {
  /** n, the sample size; default 50 (the paper's). */
  nSamples?: number;
  /** σ / (x_max − x_min) per image; default 0.15 (the paper recommends 10–20 %). */
  noiseLevel?: number;
  /** Seeds the noise; default 0. */
  seed?: number;
  /**
   * Noisy inputs per forward/backward pass; default 16, or fewer where the model's gradient pass
   * would not fit the heap budget (`graph/footprint.ts`). Used as given when set.
   */
  internalBatchSize?: number;
}

/** σ of each image: `noiseLevel` × its value range. */
function noiseSigmas(xNHWC: Float32Array, batch: number, noiseLevel: number): Float64Array {
  const imageSize = xNHWC.length / batch;
  return Float64Array.from({ length: batch }, (_, n) => {
    let [low, high] = [Infinity, -Infinity];
    for (const v of xNHWC.subarray(n * imageSize, (n + 1) * imageSize)) {
      [low, high] = [Math.min(low, v), Math.max(high, v)];
    }
    return noiseLevel * (high - low);
  });
}

/**
 * SmoothGrad.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { SMOOTHGRAD } from "./smoothgrad.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const a = await SMOOTHGRAD.explain(model, x, Int32Array.from([1]), { nSamples: 4, seed: 3 });
 * const b = await SMOOTHGRAD.explain(model, x, Int32Array.from([1]), { nSamples: 4, seed: 3 });
 * assert(a.mapsNHW.every((v, i) => v === b.mapsNHW[i]));
 * model.dispose();
 * ```
 */
export const SMOOTHGRAD: Explainer<SmoothGradOptions> = {
  name: "smoothgrad",
  description: "SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: SmoothGradOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const nSamples = requireInteger(this.name, "nSamples", options.nSamples ?? 50, 1);
    const internalBatchSize = requireInteger(
      this.name,
      "internalBatchSize",
      options.internalBatchSize ?? rowsWithinBudget(model, "gradient", 16),
      1,
    );
    const noiseLevel = options.noiseLevel ?? 0.15;
    if (!(noiseLevel >= 0)) {
      throw new InputError(`${this.name}: noiseLevel must be >= 0, got ${noiseLevel}`);
    }
    const batch = xNHWC.shape[0];
    const imageSize = xNHWC.size / batch;
    const xValues = await xNHWC.data() as Float32Array;
    const sigmas = noiseSigmas(xValues, batch, noiseLevel);
    // One stream in row order: the same seed gives the same noise for any internalBatchSize.
    const random = new SeededRandom(options.seed ?? 0).fork("smoothgrad");
    const abs = options.abs ?? true;
    const mean = sumGradientsOverRows(model, targets, xNHWC.shape, {
      copies: nSamples,
      internalBatchSize,
      makeRows: (start, end) => {
        const noisy = new Float32Array((end - start) * imageSize);
        for (let r = 0; r < end - start; r++) {
          const image = (start + r) % batch;
          for (let j = 0; j < imageSize; j++) {
            noisy[r * imageSize + j] = xValues[image * imageSize + j] +
              sigmas[image] * random.normal();
          }
        }
        const [, heightPx, widthPx, channels] = xNHWC.shape;
        return tf.tensor4d(noisy, [end - start, heightPx, widthPx, channels]);
      },
      weight: () => 1 / nSamples,
      transform: abs ? (gradient) => tf.abs(gradient) : undefined,
    });
    return inputAttribution(this.name, mean, options);
  },
};
