/**
 * GradientSHAP (Lundberg and Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS
 * 2017; the expected-gradients estimator of Captum's `GradientShap`): for n samples k per image,
 * a baseline b_k drawn uniformly from a set of baselines (the background distribution), the input
 * with Gaussian noise x_k = x + N(0, σ²), a point α_k ~ U(0, 1) on the path between them, and the
 * gradient g_k of the target logit F at b_k + α_k (x_k − b_k); the attribution is
 * (1 / n) Σ_k g_k · (x_k − b_k). In expectation over b, α (σ = 0) it is Integrated Gradients
 * averaged over the baselines, so Σ attributions → F(x) − E_b F(b) as n grows (completeness in
 * expectation). The map is the channel sum. Every draw comes from `core/random.ts` in row order,
 * so a seed reproduces the map for any `internalBatchSize`; the rows go through the model a chunk
 * at a time, sized from the heap budget as Integrated Gradients' path.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { SeededRandom } from "../../core/random.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import { type Baseline, type BaselineOptions, makeBaselineNHWC } from "./baselines.ts";
import { sumGradientsOverRows } from "./batched_gradients.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inputAttribution,
  requireInteger,
} from "../explainer.ts";

/** Options of {@link GRADIENT_SHAP}. */
export interface GradientShapOptions extends ExplainOptions, BaselineOptions {
  /**
   * The background distribution: baselines drawn with equal probability; default `zero` and
   * `black` (`xai/gradient/baselines.ts`; `uniform` draws its noise from `seed`).
   */
  baselines?: readonly Baseline[];
  /** n, the samples per image; default 5 (Captum's `n_samples`). */
  nSamples?: number;
  /** σ of the Gaussian noise added to the input; default 0 (Captum's `stdevs`). */
  stdev?: number;
  /** Seeds the draws of baseline, noise and α; default 0. */
  seed?: number;
  /**
   * Rows per forward/backward pass; default 16, or fewer where the model's gradient pass would
   * not fit the heap budget (`graph/footprint.ts`). Used as given when set.
   */
  internalBatchSize?: number;
}

/**
 * GradientSHAP.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { GRADIENT_SHAP } from "./gradient_shap.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const a = await GRADIENT_SHAP.explain(model, x, Int32Array.from([1]), { nSamples: 3, seed: 7 });
 * const b = await GRADIENT_SHAP.explain(model, x, Int32Array.from([1]), { nSamples: 3, seed: 7, internalBatchSize: 1 });
 * assert(a.mapsNHW.every((v, i) => Math.abs(v - b.mapsNHW[i]) <= 1e-6 * (1 + Math.abs(v))));
 * model.dispose();
 * ```
 */
export const GRADIENT_SHAP: Explainer<GradientShapOptions> = {
  name: "gradient_shap",
  description: "GradientSHAP (Lundberg and Lee 2017): gradients at random points between " +
    "random baselines and the noisy input, times their difference",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: GradientShapOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const nSamples = requireInteger(this.name, "nSamples", options.nSamples ?? 5, 1);
    const internalBatchSize = requireInteger(
      this.name,
      "internalBatchSize",
      options.internalBatchSize ?? rowsWithinBudget(model, "gradient", 16),
      1,
    );
    const stdev = options.stdev ?? 0;
    if (!(stdev >= 0)) throw new InputError(`${this.name}: stdev must be >= 0, got ${stdev}`);
    const names = options.baselines ?? ["zero", "black"];
    if (names.length === 0) {
      throw new InputError(`${this.name}: baselines must name at least one baseline`);
    }
    const xValues = await xNHWC.data() as Float32Array;
    const baselines = names.map((b) => makeBaselineNHWC(b, xValues, xNHWC.shape, options));
    const [batch, heightPx, widthPx, channels] = xNHWC.shape;
    const imageSize = heightPx * widthPx * channels;
    // One stream in row order: the same seed gives the same draws for any internalBatchSize.
    const random = new SeededRandom(options.seed ?? 0).fork("gradient_shap");
    // x_k − b_k of the chunk makeRows made last, which its gradients are multiplied by.
    let differenceRows: tf.Tensor4D | undefined;
    const mean = sumGradientsOverRows(model, targets, xNHWC.shape, {
      copies: nSamples,
      internalBatchSize,
      makeRows: (start, end) => {
        const [points, differences] = [
          new Float32Array((end - start) * imageSize),
          new Float32Array((end - start) * imageSize),
        ];
        for (let r = 0; r < end - start; r++) {
          const image = (start + r) % batch;
          const baseline = baselines[Math.floor(random.uniform() * baselines.length)];
          const alpha = random.uniform();
          for (let j = 0; j < imageSize; j++) {
            const at = image * imageSize + j;
            const noisy = stdev > 0 ? xValues[at] + stdev * random.normal() : xValues[at];
            const difference = noisy - baseline[at];
            differences[r * imageSize + j] = difference;
            points[r * imageSize + j] = baseline[at] + alpha * difference;
          }
        }
        const shape: [number, number, number, number] = [end - start, heightPx, widthPx, channels];
        differenceRows = tf.tensor4d(differences, shape);
        return tf.tensor4d(points, shape);
      },
      transform: (gradient) => tf.mul(gradient, differenceRows!) as tf.Tensor4D,
      weight: () => 1 / nSamples,
    });
    return inputAttribution(this.name, mean, options);
  },
};
