/**
 * Infidelity (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", NeurIPS 2019),
 * with Quantus's perturbations: the image is cut into square patches of each size in
 * `perturbPatchSizes`, the patches are replaced by the baseline one after another (row by row,
 * cumulatively), and after each replacement the output drop is compared with what the
 * attributions predict for it, Σ a·(x − x_b) over every pixel and channel:
 *
 *   INFD = mean over repetitions and patch sizes of mean_b (f(x)_y − f(x_b)_y − Σ a·(x − x_b))².
 *
 * Attributions that account for every output change score 0: lower is better. Only a random
 * (`uniform`) baseline makes the `nPerturbSamples` repetitions differ, so other baselines run
 * one repetition (the mean is the same). A patch size that does not divide a side pads the image
 * as Quantus's other patch metrics do (`metrics/functions/patches.ts`).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric } from "../metric.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import { squarePatches } from "../functions/patches.ts";
import { cumulativeCurves } from "./perturbation_curve.ts";

/** Parameters of {@link INFIDELITY}. */
export interface InfidelityParams extends CommonParams {
  /** Side lengths of the square patches; each size is one perturbation sequence. */
  perturbPatchSizes: number[];
  /** Repetitions of every sequence (they differ only with a `uniform` baseline). */
  nPerturbSamples: number;
  /** What replaced patches become. */
  perturbBaseline: Baseline;
}

/**
 * Infidelity. Defaults: Quantus's (squared error, 10 repetitions, `black` baseline, no abs or
 * normalise, logits) but patches of 8 pixels, as the other patch metrics here, instead of 4.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { INFIDELITY } from "./infidelity.ts";
 * await tf.setBackend("cpu");
 * // For a linear "model" (the sum of the pixels) its gradient, 1 everywhere, predicts every
 * // output drop exactly (Σ a·(x − x_b)): infidelity 0.
 * const input = tf.input({ shape: [2, 2, 1] });
 * const sum = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: sum }));
 * const batch = {
 *   xNHWC: Float32Array.of(1, 3, 2, 7), shapeNHWC: [1, 2, 2, 1] as const,
 *   targets: Int32Array.of(0), attributionsNHW: Float32Array.of(1, 1, 1, 1),
 * };
 * const params = { ...INFIDELITY.defaults, perturbPatchSizes: [1] };
 * const r = await INFIDELITY.evaluate({ model, draws: new SeededDraws(1) }, batch, params);
 * assert(Math.abs(r.scores[0]) < 1e-9);
 * model.dispose();
 * ```
 */
export const INFIDELITY = defineMetric<InfidelityParams>({
  name: "infidelity",
  quantusName: "Infidelity",
  category: "faithfulness",
  direction: "lower",
  paper: "Yeh et al. 2019, On the (In)fidelity and Sensitivity of Explanations",
  description: "squared error of the attributions' prediction of the output drop as patches go",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: false,
    softmax: false,
    quantusCompat: false,
    perturbPatchSizes: [8],
    nPerturbSamples: 10,
    perturbBaseline: "black",
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    const loss = init.loss_func ?? "mse";
    if (loss !== "mse" && !String(loss).endsWith("loss_func.mse")) {
      throw new InputError(`${this.name}: loss_func ${String(loss)} is not supported; use mse`);
    }
    const sizes = init.perturb_patch_sizes ?? [4];
    return {
      ...commonFromQuantus(init, call),
      perturbPatchSizes: (Array.isArray(sizes) ? sizes : [sizes]).map(Number),
      nPerturbSamples: Number(init.n_perturb_samples ?? 10),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
    };
  },
  async score(context, prepared, params) {
    const { batch } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    if (!Number.isInteger(params.nPerturbSamples) || params.nPerturbSamples < 1) {
      throw new InputError(
        `${this.name}: nPerturbSamples ${params.nPerturbSamples} must be an integer >= 1`,
      );
    }
    if (!params.perturbPatchSizes.length) {
      throw new InputError(`${this.name}: perturbPatchSizes is empty; give at least one size`);
    }
    const patchSets = params.perturbPatchSizes.map((size) => {
      if (params.quantusCompat && (h % size || w % size)) {
        throw new InputError(
          `${this.name}: patch size ${size} does not divide the ${h} x ${w} image; Quantus ` +
            "cannot perturb it (a reshape error), ours pads without quantusCompat",
        );
      }
      return squarePatches(h, w, size).pixels;
    });
    const before = await context.model.targetScores(batch.xNHWC, batch.shapeNHWC, batch.targets, {
      softmax: params.softmax,
    });
    const repetitions = params.perturbBaseline === "uniform" ? params.nPerturbSamples : 1;
    const totals = new Float64Array(n);
    for (let r = 0; r < repetitions; r++) {
      for (const patches of patchSets) {
        const baselines: ArrayLike<number>[] = [];
        const curves = await cumulativeCurves(context.model, batch, {
          steps: Array.from({ length: n }, () => patches),
          baselines: (states, step) =>
            baselines[step] = batchBaselines(
              params.perturbBaseline,
              states,
              batch.shapeNHWC,
              context.draws,
            ),
          softmax: params.softmax,
        });
        for (let i = 0; i < n; i++) {
          const map = prepared.map(i);
          const image = batch.xNHWC.subarray(i * h * w * c, (i + 1) * h * w * c);
          let predicted = 0, squares = 0;
          patches.forEach((pixels, b) => {
            // The attributions' prediction of the drop grows by the patch replaced at step b,
            // whose pixels hold the baseline as the float32 images store it.
            const value = Math.fround(baselines[b][i]);
            for (const p of pixels) {
              for (let ch = 0; ch < c; ch++) predicted += map[p] * (image[p * c + ch] - value);
            }
            const drop = Math.fround(before[i] - curves[i][b]);
            squares += (drop - predicted) ** 2;
          });
          totals[i] += squares / patches.length;
        }
      }
    }
    const scores = totals.map((t) => t / (repetitions * patchSets.length));
    return {
      scores,
      reasons: Array.from(
        scores,
        (s) =>
          Number.isNaN(s)
            ? "the model's output is not a number for some perturbed copy"
            : undefined,
      ),
    };
  },
  toQuantus: (result) => Array.from(result.scores),
});
