/**
 * The one interface every attribution method implements: (model, NHWC input batch, one target
 * class per image, options) → one map per image at the input's size, plus the method's raw
 * output where it has one.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
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
  /**
   * For methods that keep values across MPRT's model states (a `reuse` cache's rows): how many
   * images' worth fit the heap budget for `model`, so that MPRT cascades that many images at a
   * time instead of keeping only some rows of a whole batch. Absent: the whole batch.
   */
  imagesPerCascade?(model: tf.LayersModel, options?: Options): number;
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

/** Concatenations of the groups' arrays, in order. */
function joined<T extends Float32Array | Float64Array>(
  parts: readonly T[],
  make: (length: number) => T,
): T {
  const out = make(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * One {@link Attribution} of the images of `parts`, in order (groups of one batch, explained by
 * one method at one layer).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { joinAttributions } from "./explainer.ts";
 * const part = (v: number) => ({
 *   method: "saliency",
 *   mapsNHW: Float32Array.of(v, v),
 *   shapeNHW: [1, 1, 2] as const,
 * });
 * const all = joinAttributions([part(1), part(2)]);
 * assert(all.shapeNHW.join() === "2,1,2" && all.mapsNHW.join() === "1,1,2,2");
 * ```
 */
export function joinAttributions(parts: readonly Attribution[]): Attribution {
  const [first] = parts;
  if (parts.length === 1) return first;
  const present = <T>(pick: (part: Attribution) => T | undefined): T[] | undefined => {
    const values = parts.map(pick);
    return values.every((v) => v !== undefined) ? values as T[] : undefined;
  };
  const f32 = (length: number) => new Float32Array(length);
  const images = parts.reduce((sum, part) => sum + part.shapeNHW[0], 0);
  const result: Attribution = {
    method: first.method,
    mapsNHW: joined(parts.map((part) => part.mapsNHW), f32),
    shapeNHW: [images, first.shapeNHW[1], first.shapeNHW[2]],
  };
  const attributions = present((part) => part.attributionsNHWC);
  if (attributions) result.attributionsNHWC = joined(attributions, f32);
  const deltas = present((part) => part.convergenceDelta);
  if (deltas) result.convergenceDelta = joined(deltas, (length) => new Float64Array(length));
  const layers = present((part) => part.layer);
  if (layers) {
    const [, h, w, c] = layers[0].shapeNHWC;
    const weights = present((part) => part.layer?.weightsNC);
    result.layer = {
      name: layers[0].name,
      shapeNHWC: [images, h, w, c],
      layerMapsNhw: joined(layers.map((layer) => layer.layerMapsNhw), f32),
      ...(weights ? { weightsNC: joined(weights, f32) } : {}),
    };
  }
  return result;
}

/**
 * `explainer`, explaining a batch a group of images at a time where one gradient pass of the
 * whole batch would not fit the heap budget (`graph/footprint.ts`): for methods that take every
 * image through one pass (Saliency, Input x Gradient, the CAM family); `rowsPerImage` gradient
 * rows' worth of heap per image where a method keeps more (DeepLIFT: its baseline's activations
 * too). Where the batch fits, the call goes through unchanged; each group's images are
 * explained as in a batch of their own. Inputs are checked on the whole batch first, so errors
 * name an image by its place in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { setHeapBudgetMb } from "../backends/heap.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { inImageGroups } from "./explainer.ts";
 * await startBackend("wasm");
 * const sizes: number[] = [];
 * const spy = inImageGroups({
 *   name: "spy",
 *   description: "records the group sizes it is called with",
 *   explain: (_model, x) => {
 *     sizes.push(x.shape[0]);
 *     const [n, h, w] = x.shape;
 *     return Promise.resolve({ method: "spy", mapsNHW: new Float32Array(n * h * w), shapeNHW: [n, h, w] });
 *   },
 * });
 * const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 224, seed: 1 });
 * const x = tf.zeros([3, 224, 224, 3]) as tf.Tensor4D;
 * setHeapBudgetMb(400); // beside resnet18's weights, room for 2 images' gradients
 * const attr = await spy.explain(model, x, Int32Array.of(0, 1, 2));
 * setHeapBudgetMb(2560);
 * assert(sizes.join() === "2,1" && attr.shapeNHW[0] === 3);
 * model.dispose();
 * ```
 */
export function inImageGroups<Options extends ExplainOptions>(
  explainer: Explainer<Options>,
  rowsPerImage = 1,
): Explainer<Options> {
  return {
    name: explainer.name,
    description: explainer.description,
    async explain(model, xNHWC, targets, options) {
      checkExplainInputs(explainer.name, model, xNHWC, targets);
      const batch = xNHWC.shape[0];
      const perGroup = Math.max(
        1,
        Math.floor(rowsWithinBudget(model, "gradient", batch * rowsPerImage) / rowsPerImage),
      );
      if (perGroup >= batch) return await explainer.explain(model, xNHWC, targets, options);
      const parts: Attribution[] = [];
      for (let start = 0; start < batch; start += perGroup) {
        const count = Math.min(perGroup, batch - start);
        const group = tf.slice(xNHWC, [start, 0, 0, 0], [count, -1, -1, -1]);
        try {
          parts.push(
            await explainer.explain(model, group, targets.subarray(start, start + count), options),
          );
        } finally {
          group.dispose();
        }
      }
      return joinAttributions(parts);
    },
  };
}
