/**
 * Smooth Model Parameter Randomisation Test (Hedström et al., "Sanity Checks Revisited: An
 * Exploration to Repair the Model Parameter Randomisation Test", XAI in Action workshop 2023).
 *
 * MPRT ({@link MPRT}) with every explanation denoised as SmoothGrad does: on each model state the
 * batch is explained `nrSamples` times, on copies with Gaussian noise of standard deviation
 * `noiseMagnitude` × (the image's max − min) and the last time without noise, and the maps are
 * averaged. Gradient noise of the randomised models then no longer passes for dissimilarity. The
 * scoring is MPRT's (Spearman correlation with the given maps per model state; lower is better).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { defineMetric } from "../metric.ts";
import { correlationCascade, MPRT, type MprtParams } from "./mprt.ts";

/** Parameters of {@link SMOOTH_MPRT}. */
export interface SmoothMprtParams extends MprtParams {
  /** Explanations averaged per model state; the last one is of the input without noise. */
  nrSamples: number;
  /** Noise standard deviation as a share of each image's value range (max − min). */
  noiseMagnitude: number;
  /** Explain only the unchanged and the fully randomised model (the cascade still runs). */
  skipLayers: boolean;
}

/**
 * SmoothMPRT: bottom-up cascade (the paper's recommendation), 10 noisy explanations per model
 * state (Quantus 50), the average correlation over the randomised states.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { SMOOTH_MPRT } from "./smooth_mprt.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 3, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2, name: "fc" }).apply(flat) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const batch = {
 *   xNHWC: Float32Array.of(0, 0.5, 1), shapeNHWC: [1, 1, 3, 1] as const,
 *   targets: Int32Array.of(0), attributionsNHW: Float32Array.of(1, 2, 3),
 * };
 * // An "explanation" that is the input itself: noise is averaged in, the ranks of the input stay.
 * let calls = 0;
 * const explain = (_m: tf.LayersModel, x: Float32Array | tf.Tensor4D) => {
 *   calls++;
 *   return Promise.resolve(Float32Array.from(x as Float32Array));
 * };
 * const params = { ...SMOOTH_MPRT.defaults, nrSamples: 2, noiseMagnitude: 0 };
 * const r = await SMOOTH_MPRT.evaluate({ model, explain, draws: new SeededDraws(0) }, batch, params);
 * assert(r.scores[0] === 1 && calls === 4 && Object.keys(r.series!).join() === "original,fc");
 * ```
 */
export const SMOOTH_MPRT = defineMetric<SmoothMprtParams>({
  name: "smooth_mprt",
  quantusName: "SmoothMPRT",
  category: "randomisation",
  direction: "lower",
  paper: "Hedström et al. 2023, Sanity Checks Revisited (sMPRT)",
  description: "MPRT on SmoothGrad-denoised explanations of each randomised model",
  needs: ["model", "explain"],
  defaults: {
    ...MPRT.defaults,
    normaliseBy: "second_moment",
    layerOrder: "bottom_up",
    nrSamples: 10,
    noiseMagnitude: 0.1,
    skipLayers: false,
  },
  fromQuantus(init, call) {
    // MPRT reads the settings the two share; SmoothMPRT adds skip_layers, which MPRT refuses.
    return {
      ...MPRT.fromQuantus({ ...init, skip_layers: false }, call),
      normaliseBy: "second_moment",
      layerOrder: (init.layer_order ?? "bottom_up") as SmoothMprtParams["layerOrder"],
      nrSamples: Number(init.nr_samples ?? 50),
      noiseMagnitude: Number(init.noise_magnitude ?? 0.1),
      skipLayers: Boolean(init.skip_layers),
    };
  },
  score(context, prepared, params) {
    const explain = context.explain;
    if (!explain) {
      throw new InputError(`${this.name}: re-explains randomised models; pass the explainer`);
    }
    if (!Number.isInteger(params.nrSamples) || params.nrSamples < 1) {
      throw new InputError(`${this.name}: nrSamples ${params.nrSamples} must be an integer >= 1`);
    }
    const { xNHWC, shapeNHWC, targets } = prepared.batch;
    const [n, h, w, c] = shapeNHWC;
    const values = h * w * c;
    const std = Float64Array.from({ length: n }, (_, i) => {
      const image = xNHWC.subarray(i * values, (i + 1) * values);
      let min = Infinity, max = -Infinity;
      for (const v of image) [min, max] = [Math.min(min, v), Math.max(max, v)];
      // float32 arithmetic, as the inputs' own type.
      return Math.fround(Math.fround(params.noiseMagnitude) * Math.fround(max - min));
    });
    const noisy = () => {
      // One standard normal per value in channel-first order (Quantus's NCHW draw), scaled by the
      // image's std and added in double precision before the cast back to float32.
      const z = context.draws.normal(0, 1, xNHWC.length);
      const out = new Float32Array(xNHWC.length);
      for (let j = 0; j < xNHWC.length; j++) {
        const i = Math.floor(j / values);
        const ch = j % c, pixel = Math.floor((j % values) / c);
        out[j] = xNHWC[j] + z[i * values + ch * h * w + pixel] * std[i];
      }
      return out;
    };
    return correlationCascade(context, prepared, params, async (model, cache) => {
      let smoothed: Float32Array | undefined;
      for (let k = 0; k < params.nrSamples; k++) {
        const last = k === params.nrSamples - 1;
        const maps = last
          ? await explain(model, xNHWC, shapeNHWC, targets, cache)
          : await explain(model, noisy(), shapeNHWC, targets);
        // Each map divided by nrSamples and summed in float32, in draw order.
        if (!smoothed) smoothed = maps.map((v) => v / params.nrSamples);
        else {
          for (let j = 0; j < maps.length; j++) {
            smoothed[j] += Math.fround(maps[j] / params.nrSamples);
          }
        }
      }
      return smoothed!;
    }, { skipLayers: params.skipLayers });
  },
  toQuantus: MPRT.toQuantus,
});
