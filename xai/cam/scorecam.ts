/**
 * Score-CAM (Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional
 * Neural Networks", CVPR Workshops 2020): no gradient; each activation map A^k of the layer,
 * upsampled to the input size (bilinear, half-pixel centres) and min-max normalised to a mask
 * H^k in [0, 1], masks the input, and the model's score of the target class c for X ∘ H^k
 * is the channel weight α_k^c; the map is ReLU(Σ_k α_k^c A^k), upsampled like the other CAMs.
 *
 * The score, `softmaxOver`: `classes` (the default; the paper's Algorithm 1 and its authors'
 * code) takes α_k^c = softmax over classes of f(X ∘ H^k), at c; `channels` (pytorch-grad-cam's
 * `ScoreCAM`) takes the target logits of all masked inputs of an image and a softmax over the
 * channels. Channels whose map is constant give no mask and are skipped (weight 0; with
 * `channels` they are left out of the softmax), as the authors' code does; this also saves
 * their model calls, which for ReLU layers with dead channels is many. Each image's masked
 * inputs go through the model `batchSize` at a time. The input is masked as the model
 * sees it (after normalisation), as pytorch-grad-cam does. pytorch-grad-cam upsamples the masks
 * with `align_corners=True`; here they use half-pixel centres like every map of this package.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import {
  camActivation,
  camAttribution,
  type CamOptions,
  finishCam,
  weightedChannelSum,
} from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups, requireInteger } from "../explainer.ts";

/** Which softmax turns the masked inputs' outputs into channel weights. */
export type ScoreCamSoftmax = "classes" | "channels";

/** The smallest max − min a mask is divided by (float32's smallest normal number). */
const MIN_MASK_SPAN = 2 ** -126;

/** Masked inputs per model call when `batchSize` is not given. */
export const SCORECAM_BATCH_SIZE = 32;

/** Options of {@link SCORECAM}. */
export interface ScoreCamOptions extends CamOptions {
  /**
   * Masked inputs per model call; default {@link SCORECAM_BATCH_SIZE}, or fewer where the model's
   * forward pass would not fit the heap budget (`graph/footprint.ts`). Results do not depend on it.
   */
  batchSize?: number;
  /**
   * `classes` (default, the paper's): α_k^c = softmax_classes(f(X ∘ H^k))_c; `channels`
   * (pytorch-grad-cam's): α^c = softmax over k of f(X ∘ H^k)_c.
   */
  softmaxOver?: ScoreCamSoftmax;
}

/** Per image, a softmax of `scores` over the listed channels; other channels get 0. */
function channelSoftmax(
  scores: Float32Array,
  pairs: Int32Array,
  batch: number,
  channels: number,
): Float32Array {
  const weightsNC = new Float32Array(batch * channels);
  const maxima = new Float64Array(batch).fill(-Infinity);
  pairs.forEach((pair, r) => {
    const n = Math.floor(pair / channels);
    maxima[n] = Math.max(maxima[n], scores[r]);
  });
  const totals = new Float64Array(batch);
  const exps = Float64Array.from(pairs, (pair, r) => {
    const e = Math.exp(scores[r] - maxima[Math.floor(pair / channels)]);
    totals[Math.floor(pair / channels)] += e;
    return e;
  });
  pairs.forEach((pair, r) => weightsNC[pair] = exps[r] / totals[Math.floor(pair / channels)]);
  return weightsNC;
}

/**
 * Score-CAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { SCORECAM } from "./scorecam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await SCORECAM.explain(model, x, Int32Array.from([1]), { layer: "features.1", batchSize: 8 });
 * const weights = attr.layer!.weightsNC!;
 * assert(weights.every((w) => w >= 0 && w <= 1) && attr.mapsNHW.length === 32 * 32);
 * model.dispose();
 * ```
 */
export const SCORECAM: Explainer<ScoreCamOptions> = inImageGroups({
  name: "scorecam",
  description: "Score-CAM (Wang et al. 2020): channels weighted by the target's softmax score " +
    "of the input masked with each upsampled activation map (no gradients)",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: ScoreCamOptions = {},
  ): Promise<Attribution> {
    const batchSize = requireInteger(
      this.name,
      "batchSize",
      options.batchSize ?? rowsWithinBudget(model, "forward", SCORECAM_BATCH_SIZE),
      1,
    );
    const softmaxOver = options.softmaxOver ?? "classes";
    if (softmaxOver !== "classes" && softmaxOver !== "channels") {
      throw new InputError(
        `${this.name}: softmaxOver "${softmaxOver}" is not one of: classes, channels`,
      );
    }
    const { layerName, activationNHWC } = camActivation(this.name, model, xNHWC, targets, options);
    const shape = activationNHWC.shape;
    const [batch, heightPx, widthPx, channels] = shape;
    const outputSizePx: [number, number] = [xNHWC.shape[1], xNHWC.shape[2]];
    // [N·C, h, w, 1]: map k of image n at row n·C + k.
    const channelMaps = tf.tidy(() =>
      tf.reshape(tf.transpose(activationNHWC, [0, 3, 1, 2]), [
        batch * channels,
        heightPx,
        widthPx,
        1,
      ])
    );
    try {
      const spans = tf.tidy(() =>
        tf.sub(tf.max(activationNHWC, [1, 2]), tf.min(activationNHWC, [1, 2]))
      );
      const spanValues = await spans.data();
      spans.dispose();
      const pairs = Int32Array.from(spanValues.keys()).filter((pair) => spanValues[pair] > 0);
      const scores = new Float32Array(pairs.length);
      for (let start = 0; start < pairs.length;) {
        // One image per chunk: its masks multiply it by broadcasting (gathering copies of the
        // image is slower on wasm than the masking itself).
        const n = Math.floor(pairs[start] / channels);
        let end = start + 1;
        while (
          end < pairs.length && end - start < batchSize && Math.floor(pairs[end] / channels) === n
        ) end++;
        const chunk = pairs.subarray(start, end);
        const picked = tf.tidy(() => {
          const maps = tf.image.resizeBilinear(
            tf.gather(channelMaps, tf.tensor1d(chunk, "int32")) as tf.Tensor4D,
            outputSizePx,
            false,
            true,
          );
          const low = tf.min(maps, [1, 2, 3], true);
          // Upsampling keeps a non-constant map non-constant, so the floor only rules out 0/0
          // (a broadcast divNoNan is 20x slower than this on wasm).
          const span = tf.maximum(tf.sub(tf.max(maps, [1, 2, 3], true), low), MIN_MASK_SPAN);
          const masks = tf.div(tf.sub(maps, low), span);
          const image = tf.slice(xNHWC, [n, 0, 0, 0], [1, -1, -1, -1]);
          const logits = model.predictOnBatch(tf.mul(image, masks)) as tf.Tensor2D;
          const outputs = softmaxOver === "classes" ? tf.softmax(logits) : logits;
          return tf.slice(outputs, [0, targets[n]], [-1, 1]);
        });
        scores.set(await picked.data() as Float32Array, start);
        picked.dispose();
        start = end;
      }
      let weights: Float32Array;
      if (softmaxOver === "channels") {
        weights = channelSoftmax(scores, pairs, batch, channels);
      } else {
        weights = new Float32Array(batch * channels);
        pairs.forEach((pair, r) => weights[pair] = scores[r]);
      }
      const weightsNC = tf.tensor2d(weights, [batch, channels]);
      const pooled = finishCam(
        { weightsNC, scoresNhw: weightedChannelSum(activationNHWC, weightsNC) },
        outputSizePx,
      );
      return await camAttribution(this.name, layerName, shape, pooled);
    } finally {
      tf.dispose([activationNHWC, channelMaps]);
    }
  },
});
