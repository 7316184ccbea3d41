/**
 * InputInvariance (Kindermans et al., "The (Un)reliability of Saliency Methods", 2019): a
 * constant shift of the input that the model absorbs should not change the explanation. The
 * inputs are shifted by `inputShift`, a copy of the model absorbs it in its first layer's bias
 * (b′ = b − shift · Σ w, per output unit, so the copy computes exactly what the model computes on
 * the unshifted input), and the method re-explains the shifted inputs on the copy:
 *
 *     invariant  ⇔  |a − a′| ≤ atol + rtol · |a′|  for every pixel  (atol 1e-4, rtol 1e-5),
 *
 * numpy's `isclose` as Quantus uses it. `scores` holds 1 (invariant) or 0; `toQuantus` gives
 * booleans. Higher is better. The exact absorption needs a first layer (convolution or dense, with
 * a bias) fed by the input itself and no zero padding at the image's edges; a model whose first
 * parameterised layer has no bias, or reads the input through explicit zero padding (most of the
 * project's architectures), gives NaN with the reason; a first convolution with `same` padding
 * (vgg16_bn) is absorbed everywhere but along the image's border, where its zeros stay zeros.
 *
 * `quantusCompat` leaves pixel (0, 0) of every image unshifted as Quantus 0.6.0 does (it passes
 * `indices[1:]` to the shift), which breaks even an exactly invariant explanation.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { cloneModel } from "../../models/clone_model.ts";
import { parameterisedLayers } from "../randomisation/layer_randomisation.ts";
import { prepareAttributions } from "../functions/normalise.ts";
import {
  allNaN,
  commonFromQuantus,
  type CommonParams,
  defineMetric,
  imageSlice,
  scorePerImage,
} from "../metric.ts";
import { InputError } from "../../core/errors.ts";

/** Parameters of {@link INPUT_INVARIANCE}. */
export interface InputInvarianceParams extends CommonParams {
  /** Added to every input value (Quantus's default: −1). */
  inputShift: number;
}

/** numpy's `isclose` defaults, as Quantus compares the two explanations. */
const ATOL = 1e-4;
const RTOL = 1e-5;

/** Layers that move values without changing them. */
const RESHAPING = ["Flatten", "Reshape"];

/**
 * Sets the bias of `model`'s first parameterised layer so that the model gives, for x + shift,
 * what it gave for x: b′ = b − shift · Σ w over every kernel axis but the output one. Returns why
 * it cannot, or undefined when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { absorbInputShift } from "./input_invariance.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const dense = tf.layers.dense({ units: 1 });
 * const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
 * dense.setWeights([tf.tensor2d([[2], [3]]), tf.tensor1d([1])]);
 * assert(absorbInputShift(model, -1) === undefined);
 * assert.deepEqual(Array.from(dense.getWeights()[1].dataSync()), [6]); // 1 + 1 · (2 + 3)
 * model.dispose();
 * ```
 */
export function absorbInputShift(model: tf.LayersModel, shift: number): string | undefined {
  const first = parameterisedLayers(model)[0];
  // Layers that only rearrange values (flatten, reshape) may stand between it and the input.
  let source = first?.inboundNodes[0]?.inboundLayers[0];
  while (source && RESHAPING.includes(source.getClassName())) {
    source = source.inboundNodes[0]?.inboundLayers[0];
  }
  if (!source || !model.inputLayers.includes(source)) {
    const between = source ? ` (it reads ${source.getClassName()} ${source.name})` : "";
    return `the first parameterised layer ${first?.name ?? ""} does not read the input ` +
      `directly${between}, so its bias cannot absorb the input shift exactly`;
  }
  const [kernel, bias] = first.getWeights();
  if (!bias || kernel.shape.length < 2 || first.getClassName() === "DepthwiseConv2D") {
    return `the first layer ${first.name} has no bias (or is not a convolution or dense layer) ` +
      "to absorb the input shift";
  }
  const axes = kernel.shape.slice(0, -1).map((_, i) => i);
  const shifted = tf.tidy(() => bias.sub(kernel.sum(axes).mul(shift)));
  first.setWeights([kernel, shifted]);
  shifted.dispose();
  return undefined;
}

/**
 * InputInvariance with Quantus's defaults (shift −1, no abs, no normalisation).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { INPUT_INVARIANCE } from "./input_invariance.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 2, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const batch = {
 *   xNHWC: Float32Array.of(3, 1), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(3, 1),
 * };
 * // "Input × weight" changes with the shift; the weight alone (the gradient) does not.
 * const explainer = (timesInput: boolean) => (m: tf.LayersModel, x: Float32Array | tf.Tensor4D) => {
 *   const w = m.layers[2].getWeights()[0].dataSync();
 *   const values = x as Float32Array; // this metric passes values
 *   return Promise.resolve(Float32Array.from(values, (v, i) => (timesInput ? v : 1) * w[2 * i]));
 * };
 * for (const [timesInput, expected] of [[true, 0], [false, 1]] as const) {
 *   const explain = explainer(timesInput);
 *   batch.attributionsNHW = await explain(model.layers, batch.xNHWC);
 *   const context = { model, explain, draws: new SeededDraws(0) };
 *   const r = await INPUT_INVARIANCE.evaluate(context, batch, INPUT_INVARIANCE.defaults);
 *   assert(r.scores[0] === expected);
 * }
 * model.dispose();
 * ```
 */
export const INPUT_INVARIANCE = defineMetric<InputInvarianceParams>({
  name: "input_invariance",
  quantusName: "InputInvariance",
  category: "axiomatic",
  direction: "higher",
  paper: "Kindermans et al. 2019, The (Un)reliability of Saliency Methods",
  description: "1 when a constant input shift the model absorbs leaves the explanation unchanged",
  needs: ["model", "explain"],
  defaults: { abs: false, normalise: false, softmax: false, quantusCompat: false, inputShift: -1 },
  fromQuantus(init, call) {
    if (init.perturb_func != null) {
      throw new InputError(
        `${this.name}: perturb_func ${String(init.perturb_func)}: only the constant shift ` +
          "(input_shift) is supported",
      );
    }
    return { ...commonFromQuantus(init, call), inputShift: Number(init.input_shift ?? -1) };
  },
  async score(context, prepared, params) {
    if (!Number.isFinite(params.inputShift)) {
      throw new InputError(`${this.name}: inputShift ${params.inputShift} must be a finite number`);
    }
    const { batch, pixels } = prepared;
    const [n, , , c] = batch.shapeNHWC;
    const shifted = cloneModel(context.model.layers);
    try {
      const impossible = absorbInputShift(shifted, params.inputShift);
      if (impossible) return allNaN(n, impossible);
      const xShifted = Float32Array.from(batch.xNHWC, (v) => v + params.inputShift);
      if (params.quantusCompat) {
        for (let i = 0; i < n; i++) {
          const first = i * pixels * c;
          xShifted.set(batch.xNHWC.subarray(first, first + c), first);
        }
      }
      const reExplained = await context.explain!(
        shifted,
        xShifted,
        batch.shapeNHWC,
        batch.targets,
      );
      const after = prepareAttributions(reExplained, pixels, params);
      return scorePerImage(n, (i) => {
        const a = prepared.map(i);
        const b = imageSlice(after, i, pixels);
        return a.every((v, j) => Math.abs(v - b[j]) <= ATOL + RTOL * Math.abs(b[j])) ? 1 : 0;
      });
    } finally {
      shifted.dispose();
    }
  },
  toQuantus(result) {
    return Array.from(result.scores, (s) => (Number.isNaN(s) ? s : s === 1));
  },
});
