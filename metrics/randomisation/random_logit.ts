/**
 * Random Logit (Sixt et al., "When Explanations Lie: Why Many Modified BP Attributions Fail",
 * ICML 2020).
 *
 * Explain the same input for a randomly chosen other class ỹ ≠ y and compare the two maps:
 *
 *     RL = SSIM(a(x, y), a(x, ỹ)),
 *
 * the structural similarity of the flattened maps ({@link ssim1d}). An explanation that is about
 * the decision changes with the class it explains, so lower is better (Quantus:
 * `ScoreDirection.LOWER`). NaN with a reason when both maps are the same constant.
 *
 * The other class is drawn as Quantus 0.6.0 does: the draws restart from `seed` for every group of
 * `batchSize` images (Quantus reseeds numpy's global generator for each batch), then one
 * `randint(0, K − 1)` per image indexes the ascending list of the K − 1 classes other than y.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import {
  commonFromQuantus,
  type CommonParams,
  defineMetric,
  imageSlice,
  scorePerImage,
} from "../metric.ts";
import { prepareAttributions } from "../functions/normalise.ts";
import { ssim1d } from "../functions/similarity.ts";

/** Parameters of {@link RANDOM_LOGIT}. */
export interface RandomLogitParams extends CommonParams {
  /** Number of classes K; null takes the model's output size. */
  numClasses: number | null;
  /** Seed the draws restart from for every group of `batchSize` images. */
  seed: number;
  /** Images per reseeded group (Quantus's call `batch_size`). */
  batchSize: number;
}

/**
 * Random Logit, with Quantus's defaults (seed 42, signed maps, normalised) and the model's own
 * class count.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { RANDOM_LOGIT } from "./random_logit.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [4, 4, 1] });
 * const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * // A method that ignores the class: the two maps agree, SSIM 1 (the worst score).
 * const explain = (_m: tf.LayersModel, x: Float32Array | tf.Tensor4D) =>
 *   Promise.resolve((x as Float32Array).slice());
 * const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
 * const batch = {
 *   xNHWC: x, shapeNHWC: [1, 4, 4, 1] as const, targets: Int32Array.of(0), attributionsNHW: x,
 * };
 * const r = await RANDOM_LOGIT.evaluate({ model, explain, draws: new SeededDraws(0) }, batch,
 *   RANDOM_LOGIT.defaults);
 * assert(Math.abs(r.scores[0] - 1) < 1e-9);
 * model.dispose();
 * ```
 */
export const RANDOM_LOGIT = defineMetric<RandomLogitParams>({
  name: "random_logit",
  quantusName: "RandomLogit",
  category: "randomisation",
  direction: "lower",
  paper: "Sixt et al. 2020, When Explanations Lie: Why Many Modified BP Attributions Fail",
  description: "SSIM between the explanations of the target class and of a random other class",
  needs: ["model", "explain"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    numClasses: null,
    seed: 42,
    batchSize: 64,
  },
  fromQuantus(init, call) {
    return {
      ...commonFromQuantus(init, call),
      numClasses: Number(init.num_classes ?? 1000),
      seed: Number(init.seed ?? 42),
      batchSize: Number(call.batch_size ?? 64),
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    if (!context.explain) {
      throw new InputError(`${this.name}: needs the explanation method to re-explain inputs`);
    }
    const classes = params.numClasses ?? context.model.numClasses;
    if (classes !== context.model.numClasses || classes < 2) {
      throw new InputError(
        `${this.name}: numClasses ${classes} must equal the model's ${context.model.numClasses} ` +
          "outputs (at least 2); set num_classes to the real class count (Quantus's default " +
          "is 1000)",
      );
    }
    if (!Number.isInteger(params.batchSize) || params.batchSize < 1) {
      throw new InputError(`${this.name}: batchSize ${params.batchSize} must be an integer >= 1`);
    }
    const n = batch.shapeNHWC[0];
    const otherTargets = new Int32Array(n);
    for (let start = 0; start < n; start += params.batchSize) {
      const count = Math.min(params.batchSize, n - start);
      context.draws.reseed(params.seed);
      const picks = context.draws.randint(0, classes - 1, count);
      for (let k = 0; k < count; k++) {
        const y = batch.targets[start + k];
        // picks[k] indexes the ascending classes other than y.
        otherTargets[start + k] = picks[k] < y ? picks[k] : picks[k] + 1;
      }
    }
    const otherMaps = await context.explain(
      context.model.layers,
      batch.xNHWC,
      batch.shapeNHWC,
      otherTargets,
    );
    if (otherMaps.length !== n * pixels) {
      throw new Error(`${this.name}: the explainer returned ${otherMaps.length} values`);
    }
    // Quantus normalises its re-explanations per batch of batchSize (and the given maps over the
    // whole call); that matters only for its whole-batch normalisation (quantusCompat).
    const other = new Float32Array(otherMaps.length);
    const group = params.quantusCompat ? params.batchSize * pixels : otherMaps.length;
    for (let start = 0; start < otherMaps.length; start += group) {
      const maps = otherMaps.subarray(start, start + group);
      other.set(prepareAttributions(maps, pixels, params), start);
    }
    return scorePerImage(n, (i) => {
      const score = ssim1d(prepared.map(i), imageSlice(other, i, pixels));
      if (!Number.isNaN(score)) return score;
      return {
        score,
        reason: pixels < 7
          ? `SSIM needs at least 7 pixels (its window); the map has ${pixels}`
          : "both maps are the same constant, so SSIM has no range to compare",
      };
    });
  },
  toQuantus(result) {
    return Array.from(result.scores);
  },
});
