/**
 * The one interface every attribution method implements: (model, NHWC input batch, one target
 * class per image, options) → one map per image at the input's size, plus the method's raw
 * output where it has one.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { ForwardCache } from "../graph/input_gradients.ts";

/** Options every explainer reads. */
export interface ExplainOptions {
  /**
   * Input methods: also return the attribution of every input value,
   * {@link Attribution.attributionsNHWC}. Default false.
   */
  keepChannels?: boolean;
  /**
   * Activations of an unchanged copy of the model on this same input (MPRT re-explaining a
   * partly randomised copy): methods built on one forward pass (the Grad-CAM family) read the
   * unchanged part from it; the others ignore it.
   */
  reuse?: ForwardCache;
}

/** Where a layer method's map came from, at the layer's resolution. */
export interface LayerAttribution {
  /** The tfjs layer whose output was used (a torch module path, or `<path>-<role>`). */
  name: string;
  /** [N, h, w, C] of that output. */
  shapeNHWC: readonly [number, number, number, number];
  /** [N, C] the channel weights; absent for element-wise methods (LayerCAM, HiResCAM, EigenCAM). */
  weightsNC?: Float32Array;
  /** [N, h, w] the ReLU'd weighted channel sum before upsampling. */
  layerMapsNhw: Float32Array;
}

/** An explainer's answer for one batch. */
export interface Attribution {
  /** The explainer's registry name. */
  method: string;
  /** [N, H, W]: one map per image at the input's size (input methods: the channel sum). */
  mapsNHW: Float32Array;
  shapeNHW: readonly [number, number, number];
  /** Input methods with `keepChannels`: [N, H, W, C], one value per input value. */
  attributionsNHWC?: Float32Array;
  /** Layer methods (CAM family): the layer, its channel weights and its maps. */
  layer?: LayerAttribution;
  /**
   * Integrated Gradients: per image, Σ attributions − (F(x) − F(baseline)), Captum's
   * convergence delta (how far the quadrature is from the path integral).
   */
  convergenceDelta?: Float64Array;
}

/** An attribution method. */
export interface Explainer<Options extends ExplainOptions = ExplainOptions> {
  /** The registry name (`--method`). */
  readonly name: string;
  /** One line for `--help`, naming the paper. */
  readonly description: string;
  /**
   * Explains `logits[i, targets[i]]` for every image i of `xNHWC`. The caller keeps ownership
   * of `xNHWC`; no tensor outlives the call.
   *
   * @throws {InputError} for an input shape the model does not take, a target count or class
   * out of range, or an option out of range.
   */
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options?: Options,
  ): Promise<Attribution>;
}

/**
 * Checks that `xNHWC` fits the model's input and that `targets` holds one class index per
 * image; returns the number of classes.
 *
 * @throws {InputError} naming the explainer, the expected shape or the valid class range.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { checkExplainInputs } from "./explainer.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 3] });
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const batch = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
 * assert(checkExplainInputs("saliency", model, batch, Int32Array.from([1])) === 2);
 * ```
 */
export function checkExplainInputs(
  method: string,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
): number {
  const expected = model.inputs[0].shape;
  const fits = xNHWC.rank === expected.length &&
    expected.every((size, axis) => axis === 0 || size === null || size === xNHWC.shape[axis]);
  if (!fits) {
    throw new InputError(
      `${method}: input of shape [${xNHWC.shape.join(", ")}] does not fit ${model.name}, which ` +
        `takes NHWC [N, ${expected.slice(1).join(", ")}]`,
    );
  }
  const outputShape = model.outputs[0].shape;
  const classes = outputShape[outputShape.length - 1] as number;
  if (targets.length !== xNHWC.shape[0]) {
    throw new InputError(
      `${method}: ${targets.length} targets for a batch of ${xNHWC.shape[0]} images; give one ` +
        `class index per image`,
    );
  }
  targets.forEach((target, i) => {
    if (target < 0 || target >= classes) {
      throw new InputError(
        `${method}: target ${target} of image ${i} is out of range; ${model.name} has ` +
          `classes 0..${classes - 1}`,
      );
    }
  });
  return classes;
}

/**
 * An input method's {@link Attribution} from its [N, H, W, C] attributions: the channel sum as
 * the map, the attributions themselves when `keepChannels` asks. Disposes `attributionsNHWC`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { inputAttribution } from "./explainer.ts";
 * await tf.setBackend("cpu");
 * const attr = await inputAttribution("saliency", tf.ones([1, 2, 2, 3]), { keepChannels: true });
 * assert(attr.mapsNHW[0] === 3 && attr.attributionsNHWC?.length === 12);
 * ```
 */
export async function inputAttribution(
  method: string,
  attributionsNHWC: tf.Tensor4D,
  options: ExplainOptions,
): Promise<Attribution> {
  const [batch, heightPx, widthPx] = attributionsNHWC.shape;
  const maps = tf.sum(attributionsNHWC, 3);
  try {
    const result: Attribution = {
      method,
      mapsNHW: await maps.data() as Float32Array,
      shapeNHW: [batch, heightPx, widthPx],
    };
    if (options.keepChannels) {
      result.attributionsNHWC = await attributionsNHWC.data() as Float32Array;
    }
    return result;
  } finally {
    tf.dispose([maps, attributionsNHWC]);
  }
}

/**
 * Checks that an option is an integer ≥ `min`.
 *
 * @throws {InputError} naming the method and the option.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requireInteger } from "./explainer.ts";
 * assert(requireInteger("integrated_gradients", "nSteps", 50, 1) === 50);
 * ```
 */
export function requireInteger(method: string, option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InputError(`${method}: ${option} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
