/**
 * What the control explanations share: each is a map computed image by image from the input
 * alone (never from the model), so a metric sees what a method that knows nothing about the
 * model scores. The model is still checked against the input, as for every method, so a control
 * fails on the same bad inputs the real methods fail on.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
} from "../explainer.ts";

/** One image of the batch, as a control's map function sees it. */
export interface ControlImage {
  /** Its place in the batch. */
  index: number;
  /** The batch's number of images. */
  batchSize: number;
  heightPx: number;
  widthPx: number;
  channels: number;
  /** [H, W, C] the image's input values (a view into the batch; do not modify). */
  pixelsHWC: Float32Array;
}

/** A control explanation: its registry entry and its map of one image. */
export interface ControlSpec<Options extends ExplainOptions> {
  name: string;
  description: string;
  /**
   * Writes the [H, W] map of `image` into `mapHW` (zeros on entry).
   *
   * @throws {InputError} for options or inputs the control cannot use.
   */
  fillMap(image: ControlImage, mapHW: Float32Array, options: Options): void;
}

/**
 * The {@link Explainer} of a control: checks the inputs, reads the batch once and fills one map
 * per image with `spec.fillMap`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { controlExplainer } from "./control.ts";
 * await tf.setBackend("cpu");
 * const first = controlExplainer({
 *   name: "first_channel",
 *   description: "the first input channel",
 *   fillMap: (image, map) => map.forEach((_, j) => map[j] = image.pixelsHWC[j * image.channels]),
 * });
 * const x = tf.input({ shape: [1, 2, 2] });
 * const model = tf.model({ inputs: x, outputs: tf.layers.flatten().apply(x) as tf.SymbolicTensor });
 * const batch = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
 * const attr = await first.explain(model, batch, Int32Array.of(0));
 * assert(attr.mapsNHW.join() === "1,3" && attr.shapeNHW.join() === "1,1,2");
 * ```
 */
export function controlExplainer<Options extends ExplainOptions>(
  spec: ControlSpec<Options>,
): Explainer<Options> {
  return {
    name: spec.name,
    description: spec.description,
    async explain(
      model: tf.LayersModel,
      xNHWC: tf.Tensor4D,
      targets: Int32Array,
      options = {} as Options,
    ): Promise<Attribution> {
      checkExplainInputs(spec.name, model, xNHWC, targets);
      const [batchSize, heightPx, widthPx, channels] = xNHWC.shape;
      const values = await xNHWC.data() as Float32Array;
      const mapSize = heightPx * widthPx;
      const mapsNHW = new Float32Array(batchSize * mapSize);
      for (let index = 0; index < batchSize; index++) {
        const pixelsHWC = values.subarray(
          index * mapSize * channels,
          (index + 1) * mapSize * channels,
        );
        spec.fillMap(
          { index, batchSize, heightPx, widthPx, channels, pixelsHWC },
          mapsNHW.subarray(index * mapSize, (index + 1) * mapSize),
          options,
        );
      }
      return { method: spec.name, mapsNHW, shapeNHW: [batchSize, heightPx, widthPx] };
    },
  };
}
