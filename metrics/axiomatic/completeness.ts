/**
 * Completeness (Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017;
 * Montavon et al. 2018 call it conservation).
 *
 * The attributions add up to the change of the output between the baseline x⁰ and the input:
 *
 *     complete  ⇔  | Σ_i a_i − (f(x)_y − f(x⁰)_y) |  ≤  atol + rtol · | f(x)_y − f(x⁰)_y |,
 *
 * where x⁰ is the whole image replaced by the baseline (`black`: the image's smallest value).
 * Higher is better (Quantus: `ScoreDirection.HIGHER`): `scores` holds 1 (complete) or 0;
 * `toQuantus` returns booleans, as Quantus does; `series.attributionSum` and
 * `series.outputChange` hold both sides of the comparison.
 *
 * The tolerance is ours: rtol = 5 % of the output change, the slack Sundararajan et al.
 * recommend when checking that an Integrated Gradients approximation is complete ("within 5 %"),
 * and atol = 1e-5 for float32 rounding when the output barely changes. Quantus 0.6.0 compares the
 * float32 sum with the output change for exact equality, so almost every map fails; with
 * `quantusCompat` that exact comparison is reproduced. Quantus also normalises by default, which
 * rescales Σ a and defeats the comparison, so our default leaves the attributions as they are.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, scorePerImage } from "../metric.ts";
import { type Baseline, batchBaselines, parseBaseline } from "../functions/perturb.ts";

/** Parameters of {@link COMPLETENESS}. */
export interface CompletenessParams extends CommonParams {
  /** What every pixel of the reference input x⁰ is set to. */
  perturbBaseline: Baseline;
  /** Allowed difference, relative to |f(x)_y − f(x⁰)_y|. */
  rtol: number;
  /** Allowed absolute difference (output units). */
  atol: number;
}

/**
 * Completeness: attributions sum to f(x)_y − f(x⁰)_y within 5 % (+ 1e-5).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { COMPLETENESS } from "./completeness.ts";
 * await tf.setBackend("cpu");
 * // f(x) = [x0 + x1, 0]: a linear model whose gradient × (x − x⁰) is complete.
 * const input = tf.input({ shape: [1, 2, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const dense = tf.layers.dense({ units: 2, useBias: false });
 * const out = dense.apply(flat) as tf.SymbolicTensor;
 * dense.setWeights([tf.tensor2d([[1, 0], [1, 0]])]);
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const batch = {
 *   xNHWC: Float32Array.of(1, 3), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(0, 2), // baseline 1 (black): f(x) − f(x⁰) = 4 − 2
 * };
 * const context = { model, draws: new SeededDraws(0) };
 * const r = await COMPLETENESS.evaluate(context, batch, COMPLETENESS.defaults);
 * assert(r.scores[0] === 1);
 * model.dispose();
 * ```
 */
export const COMPLETENESS = defineMetric<CompletenessParams>({
  name: "completeness",
  quantusName: "Completeness",
  category: "axiomatic",
  direction: "higher",
  paper: "Sundararajan et al. 2017, Axiomatic Attribution for Deep Networks",
  description: "1 when the attributions sum to f(x) - f(baseline) for the target (within 5 %)",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: false,
    softmax: false,
    quantusCompat: false,
    perturbBaseline: "black",
    rtol: 0.05,
    atol: 1e-5,
  },
  fromQuantus(init, call) {
    if (init.perturb_func !== null && init.perturb_func !== undefined) {
      throw new InputError(
        `${this.name}: perturb_func ${String(init.perturb_func)}: only baseline replacement ` +
          "of every pixel (perturb_baseline) is supported",
      );
    }
    if (init.output_func !== null && init.output_func !== undefined) {
      throw new InputError(
        `${this.name}: output_func ${String(init.output_func)}: only the identity is supported`,
      );
    }
    return {
      ...commonFromQuantus(init, call),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      rtol: this.defaults.rtol,
      atol: this.defaults.atol,
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    if (!(params.rtol >= 0 && params.atol >= 0)) {
      throw new InputError(
        `${this.name}: rtol ${params.rtol} and atol ${params.atol} must be numbers >= 0`,
      );
    }
    const [n, h, w, c] = batch.shapeNHWC;
    const perImage = pixels * c;
    const baselines = batchBaselines(
      params.perturbBaseline,
      batch.xNHWC,
      batch.shapeNHWC,
      context.draws,
    );
    // One model call for the inputs and their references: [x_0 … x_{n−1}, x⁰_0 … x⁰_{n−1}].
    const both = new Float32Array(2 * batch.xNHWC.length);
    both.set(batch.xNHWC);
    for (let i = 0; i < n; i++) {
      both.fill(baselines[i], (n + i) * perImage, (n + i + 1) * perImage);
    }
    const outputs = await context.model.targetScores(both, [2 * n, h, w, c], batch.targets, {
      softmax: params.softmax,
    });
    // Kept beside the verdicts: how far from complete each map is.
    const attributionSum = new Float64Array(n);
    const outputChange = new Float64Array(n);
    const result = await scorePerImage(n, (i) => {
      for (const v of prepared.map(i)) attributionSum[i] += v;
      outputChange[i] = Math.fround(outputs[i] - outputs[n + i]);
      const [sum, change] = [attributionSum[i], outputChange[i]];
      if (params.quantusCompat) return Math.fround(sum) === change ? 1 : 0;
      return Math.abs(sum - change) <= params.atol + params.rtol * Math.abs(change) ? 1 : 0;
    });
    return { ...result, series: { attributionSum, outputChange } };
  },
  toQuantus(result) {
    return Array.from(result.scores, (s) => (Number.isNaN(s) ? s : s === 1));
  },
});
