/**
 * Continuity (Montavon et al., "Methods for interpreting and understanding deep neural networks",
 * Digital Signal Processing 2018): an explanation should change little when the input moves
 * little. The input is translated along its width in `nrSteps` steps t_k = −W + (k + 1)·⌊(2W +
 * 1) / nrSteps⌋ (t > 0 moves the content right, the uncovered columns take the baseline), each
 * copy re-explained, and
 *
 *   continuity = max_k ‖R(x) − R(x_k)‖₁ / (‖x − x_k‖₂ + 1e-9)
 *
 * over the steps that keep the target class when `returnNanWhenPredictionChanges` is set, the
 * largest rate of change of the explanation per change of the input. Lower is better.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { commonFromQuantus, type CommonParams, defineMetric, prepareBatch } from "../metric.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import { perturbationRobustness, reduceSamples } from "./noise_sensitivity.ts";

/** Parameters of {@link CONTINUITY}. */
export interface ContinuityParams extends CommonParams {
  /** Translations along the width. */
  nrSteps: number;
  /** What fills the columns a translation uncovers (`black`: the image's smallest value). */
  perturbBaseline: Baseline;
  /** A translation that changes the predicted class away from the target scores NaN. */
  returnNanWhenPredictionChanges: boolean;
}

/** Quantus's guard against dividing by an unchanged input (translation 0). */
const DENOMINATOR_EPSILON = 1e-9;

/**
 * The translations of Quantus's Continuity for an image `widthPx` wide: t_k = −W + (k + 1)·dx
 * with dx = ⌊(2W + 1) / nrSteps⌋, k = 0 … nrSteps − 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { translations } from "./continuity.ts";
 * assert(translations(28, 8).join() === "-21,-14,-7,0,7,14,21,28");
 * ```
 */
export function translations(widthPx: number, nrSteps: number): number[] {
  const dx = Math.floor((2 * widthPx + 1) / nrSteps);
  return Array.from({ length: nrSteps }, (_, k) => -widthPx + (k + 1) * dx);
}

/**
 * Writes `imageHWC` translated by `shift` columns into `out` (same size): column w takes column
 * w − shift where that exists, else `fill` in every channel. A shift of the width or more fills
 * every column (Quantus raises beyond the width).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { translateColumns } from "./continuity.ts";
 * const out = new Float32Array(3);
 * translateColumns(Float32Array.of(1, 2, 3), [1, 3, 1], 1, 0, out);
 * assert(out.join() === "0,1,2");
 * translateColumns(Float32Array.of(1, 2, 3), [1, 3, 1], -2, 9, out);
 * assert(out.join() === "3,9,9");
 * ```
 */
export function translateColumns(
  imageHWC: Float32Array,
  [h, w, c]: readonly [number, number, number],
  shift: number,
  fill: number,
  out: Float32Array,
): void {
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const from = col - shift;
      const to = (row * w + col) * c;
      for (let ch = 0; ch < c; ch++) {
        out[to + ch] = from >= 0 && from < w ? imageHWC[(row * w + from) * c + ch] : fill;
      }
    }
  }
}

/** The L1 distance of two maps, in float64. */
function manhattan(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += Math.abs(a[j] - b[j]);
  return sum;
}

/** The L2 distance of two images, in float64. */
function euclidean(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += (a[j] - b[j]) ** 2;
  return Math.sqrt(sum);
}

/**
 * Continuity. Defaults: Quantus's (abs and normalise on, `black` baseline, no NaN on a class
 * change) but 7 steps, as the other robustness metrics' re-explanation counts, instead of 28.
 *
 * Quantus ignores the attributions passed in and re-explains the unperturbed input; ours scores
 * the attributions given (the same maps when they come from the method evaluated), and
 * re-explains under `quantusCompat`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { CONTINUITY } from "./continuity.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 4, 1] });
 * const logits = tf.layers.dense({ units: 2, kernelInitializer: "ones" })
 *   .apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: logits }));
 * // An explanation that ignores the input never changes: continuity 0.
 * const explain = (_m: unknown, _x: unknown, shape: readonly number[]) =>
 *   Promise.resolve(Float32Array.from({ length: shape[0] * 4 }, (_, j) => (j % 4 ? 0 : 1)));
 * const batch = {
 *   xNHWC: Float32Array.of(0, 1, 2, 3), shapeNHWC: [1, 1, 4, 1] as const,
 *   targets: Int32Array.of(0), attributionsNHW: Float32Array.of(1, 0, 0, 0),
 * };
 * const params = { ...CONTINUITY.defaults, nrSteps: 2 };
 * const r = await CONTINUITY.evaluate({ model, explain, draws: new SeededDraws(1) }, batch, params);
 * assert(r.scores[0] === 0);
 * model.dispose();
 * ```
 */
export const CONTINUITY = defineMetric<ContinuityParams>({
  name: "continuity",
  quantusName: "Continuity",
  category: "robustness",
  direction: "lower",
  paper: "Montavon et al. 2018, Methods for interpreting and understanding deep neural networks",
  description: "largest change of the explanation per change of the input as it is translated",
  needs: ["model", "explain"],
  defaults: {
    abs: true,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    nrSteps: 7,
    perturbBaseline: "black",
    returnNanWhenPredictionChanges: false,
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    return {
      ...commonFromQuantus(init, call),
      nrSteps: Number(init.nr_steps ?? 28),
      perturbBaseline: parseBaseline(init.perturb_baseline ?? "black"),
      returnNanWhenPredictionChanges: Boolean(init.return_nan_when_prediction_changes),
    };
  },
  async score(context, given, params) {
    const { batch } = given;
    const [n, h, w, c] = batch.shapeNHWC;
    if (!Number.isInteger(params.nrSteps) || params.nrSteps < 1) {
      throw new InputError(`${this.name}: nrSteps ${params.nrSteps} must be an integer >= 1`);
    }
    if (params.quantusCompat && !context.explain) {
      throw new InputError(
        `${this.name}: re-explains translated inputs, so it needs the explainer`,
      );
    }
    // Quantus scores a fresh explanation of x, whatever the caller passed.
    const prepared = params.quantusCompat
      ? prepareBatch({
        ...batch,
        attributionsNHW: await context.explain!(
          context.model.layers,
          batch.xNHWC,
          batch.shapeNHWC,
          batch.targets,
        ),
      }, params)
      : given;
    const shifts = translations(w, params.nrSteps);
    if (params.quantusCompat && shifts[shifts.length - 1] > w) {
      throw new InputError(
        `${this.name}: nrSteps ${params.nrSteps} divides 2W + 1 = ${2 * w + 1}, so the last ` +
          `translation (${shifts[shifts.length - 1]} columns) is wider than the image; Quantus ` +
          "raises there (ours fills the image with the baseline without quantusCompat)",
      );
    }
    const perImage = h * w * c;
    const samples = await perturbationRobustness(
      context,
      prepared,
      params,
      this.name,
      { count: params.nrSteps, field: "nrSteps" },
      {
        perturb(first, count) {
          const copies = new Float32Array(count * n * perImage);
          for (let s = 0; s < count; s++) {
            // Looked up per step, as Quantus does (a `uniform` baseline draws once per step).
            const fill = batchBaselines(
              params.perturbBaseline,
              batch.xNHWC,
              batch.shapeNHWC,
              context.draws,
            );
            for (let i = 0; i < n; i++) {
              const row = s * n + i;
              translateColumns(
                batch.xNHWC.subarray(i * perImage, (i + 1) * perImage),
                [h, w, c],
                shifts[first + s],
                fill[i],
                copies.subarray(row * perImage, (row + 1) * perImage),
              );
            }
          }
          return tf.tensor4d(copies, [count * n, h, w, c]);
        },
        compare: ({ a, aPerturbed, x, xPerturbed }) =>
          manhattan(a, aPerturbed) / (euclidean(x!, xPerturbed!) + DENOMINATOR_EPSILON),
        readsInputs: true,
        keep: "target",
      },
    );
    return reduceSamples(
      samples,
      Math.max,
      "every translation changed the predicted class away from the target",
      params.quantusCompat
        ? "a translation changed the predicted class away from the target (Quantus's np.max " +
          "keeps that step's NaN)"
        : undefined,
    );
  },
  toQuantus: (result) => Array.from(result.scores),
});
