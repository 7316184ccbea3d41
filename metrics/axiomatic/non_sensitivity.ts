/**
 * NonSensitivity (Nguyen & Martínez, "On quantitative aspects of model interpretability", 2020):
 * a pixel the model is not sensitive to should get no attribution, and a pixel with no
 * attribution should not move the output. Pixels with a prepared attribution below `eps` are the
 * non-features; each pixel is replaced by the baseline (with the others of its group) and counts
 * as a violation when "the output did not change" (|p − q| < eps for the target's output p) and
 * "it is a non-feature" disagree:
 *
 *     violations = #{ pixels : (|p − q| < eps) XOR (a < eps) }.
 *
 * Lower is better (0: exactly the pixels the output ignores have no attribution).
 *
 * Each image on its own, its non-feature pixels and its feature pixels separately, in increasing
 * pixel order, are replaced `featuresInStep` at a time (Quantus's main branch since PR #369);
 * every pixel of a group gets that group's q. `featuresInStep` defaults to one image row (W), as
 * the pixel-flipping metrics do: Quantus's 1 costs H·W model calls per image.
 *
 * `quantusCompat` reproduces Quantus 0.6.0, which replaced pixels in index order in every image
 * at once and compared the per-step results with the per-pixel mask: that works for
 * `featuresInStep` 1 only (the same counts as the fixed version) and raises otherwise. Settings
 * taken from Quantus's main branch (`quantusMain`) keep the fixed grouping under `quantusCompat`.
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
import { type Baseline, batchBaselines, parseBaseline } from "../functions/perturb.ts";
import { resolveFeaturesInStep } from "../faithfulness/perturbation_curve.ts";

/** Parameters of {@link NON_SENSITIVITY}. */
export interface NonSensitivityParams extends CommonParams {
  /** Below it an attribution is a non-feature, and an output change is no change. */
  eps: number;
  /** Pixels replaced together; 0 = one image row (W). */
  featuresInStep: number;
  /** What a replaced pixel is set to. */
  perturbBaseline: Baseline;
  /**
   * The settings come from Quantus's main branch, whose NonSensitivity is already fixed: under
   * `quantusCompat` only the batch-wide normalisation of 0.6.0 stays, not its perturbation.
   */
  quantusMain: boolean;
}

/**
 * The groups of one image's pixels that are replaced together: its non-features, then its
 * features, each in increasing pixel order, cut into runs of `featuresInStep`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { perturbationGroups } from "./non_sensitivity.ts";
 * const groups = perturbationGroups(Uint8Array.of(1, 0, 1, 1, 0), 2);
 * assert.deepEqual(groups.map((g) => Array.from(g)), [[0, 2], [3], [1, 4]]);
 * ```
 */
export function perturbationGroups(nonFeature: Uint8Array, featuresInStep: number): Int32Array[] {
  const groups: Int32Array[] = [];
  for (const wanted of [1, 0]) {
    const pixels = Int32Array.from(nonFeature.keys()).filter((p) => nonFeature[p] === wanted);
    for (let start = 0; start < pixels.length; start += featuresInStep) {
      groups.push(pixels.subarray(start, start + featuresInStep));
    }
  }
  return groups;
}

/**
 * NonSensitivity with Quantus's defaults (abs, normalise, softmax, eps 1e-5, black baseline) and
 * one image row per step.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { NON_SENSITIVITY } from "./non_sensitivity.ts";
 * await tf.setBackend("cpu");
 * // f(x) = [x0, 0]: only pixel 0 matters.
 * const input = tf.input({ shape: [1, 2, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const dense = tf.layers.dense({ units: 2, useBias: false });
 * const out = dense.apply(flat) as tf.SymbolicTensor;
 * dense.setWeights([tf.tensor2d([[1, 0], [0, 0]])]);
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const params = { ...NON_SENSITIVITY.defaults, featuresInStep: 1 };
 * const context = { model, draws: new SeededDraws(0) };
 * const batch = (a: number[]) => ({
 *   xNHWC: Float32Array.of(3, 1), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.from(a),
 * });
 * // Attribution on pixel 0 only: no violation. On pixel 1 only: both pixels violate.
 * assert((await NON_SENSITIVITY.evaluate(context, batch([1, 0]), params)).scores[0] === 0);
 * assert((await NON_SENSITIVITY.evaluate(context, batch([0, 1]), params)).scores[0] === 2);
 * model.dispose();
 * ```
 */
export const NON_SENSITIVITY = defineMetric<NonSensitivityParams>({
  name: "non_sensitivity",
  quantusName: "NonSensitivity",
  category: "axiomatic",
  direction: "lower",
  paper: "Nguyen & Martínez 2020, On quantitative aspects of model interpretability",
  description: "pixels whose zero attribution and (in)sensitivity of the output disagree",
  needs: ["model"],
  defaults: {
    abs: true,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    eps: 1e-5,
    featuresInStep: 0,
    perturbBaseline: "black",
    quantusMain: false,
  },
  fromQuantus(init, call) {
    if (init.perturb_func != null) {
      throw new InputError(
        `${this.name}: perturb_func ${String(init.perturb_func)}: only baseline replacement ` +
          "(perturb_baseline) is supported",
      );
    }
    return {
      ...commonFromQuantus(init, call),
      eps: Number(init.eps ?? 1e-5),
      featuresInStep: Number(init.features_in_step ?? 1),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      quantusMain: init.quantus_version === "main",
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    const featuresInStep = resolveFeaturesInStep(this.name, params.featuresInStep, h, w);
    if (params.quantusCompat && !params.quantusMain && featuresInStep > 1) {
      throw new InputError(
        `${this.name}: featuresInStep ${featuresInStep}: Quantus 0.6.0 (quantusCompat) compares ` +
          "per-step results with per-pixel masks and fails for more than 1; use 1 or turn " +
          "quantusCompat off",
      );
    }
    if (!(params.eps > 0)) throw new InputError(`${this.name}: eps ${params.eps} must be > 0`);
    const baselines = batchBaselines(
      params.perturbBaseline,
      batch.xNHWC,
      batch.shapeNHWC,
      context.draws,
    );
    const options = { softmax: params.softmax };
    const p = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );
    const perImage = pixels * c;
    const chunk = context.model.batchSize;
    return scorePerImage(n, async (i) => {
      const map = prepared.map(i);
      const nonFeature = Uint8Array.from(map, (v) => (v < params.eps ? 1 : 0));
      const groups = perturbationGroups(nonFeature, featuresInStep);
      const image = imageSlice(batch.xNHWC, i, perImage);
      let violations = 0;
      // Copies of this image, one per group, a model batch at a time (memory-bounded).
      for (let start = 0; start < groups.length; start += chunk) {
        const some = groups.slice(start, start + chunk);
        const copies = new Float32Array(some.length * perImage);
        some.forEach((group, k) => {
          const copy = copies.subarray(k * perImage, (k + 1) * perImage);
          copy.set(image);
          for (const px of group) copy.fill(baselines[i], px * c, (px + 1) * c);
        });
        const q = await context.model.targetScores(
          copies,
          [some.length, h, w, c],
          batch.targets.subarray(i, i + 1),
          options,
        );
        some.forEach((group, k) => {
          // Both outputs are float32, as Quantus compares them.
          const unchanged = Math.abs(Math.fround(p[i] - q[k])) < params.eps;
          for (const px of group) if (unchanged !== (nonFeature[px] === 1)) violations++;
        });
      }
      return violations;
    });
  },
  toQuantus: (result) => Array.from(result.scores),
});
