/**
 * The ground-truth control: the image's evidence mask itself (1 on evidence, 0 elsewhere), the
 * best a localisation metric can score. It needs the masks, which only a data set with masks
 * has (the synthetic set: `<root>/masks/<split>/<Class>/<stem>.png`); the `xai` and `quantus`
 * stages pass them as {@link GroundTruthOptions.masksNHW}.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { Explainer, ExplainOptions } from "../explainer.ts";
import { controlExplainer } from "./control.ts";

/** Options of {@link GROUND_TRUTH}. */
export interface GroundTruthOptions extends ExplainOptions {
  /**
   * [M, H, W] the evidence masks of the batch's images at the input's size, nonzero on
   * evidence. A batch of k·M rows (a metric re-explaining k perturbed copies of the M images,
   * image j of copy k at row k·M + j) gets mask row mod M.
   */
  masksNHW?: Uint8Array;
}

/**
 * Each image's evidence mask, as 1 and 0.
 *
 * @throws {InputError} without masks (naming where they come from), or with masks that do not
 * fit the batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { GROUND_TRUTH } from "./ground_truth.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const masksNHW = new Uint8Array(32 * 32);
 * masksNHW[5] = 1;
 * const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
 * const attr = await GROUND_TRUTH.explain(model, x, Int32Array.of(2), { masksNHW });
 * assert(attr.mapsNHW[5] === 1 && attr.mapsNHW.reduce((a, b) => a + b) === 1);
 * model.dispose();
 * ```
 */
export const GROUND_TRUTH: Explainer<GroundTruthOptions> = controlExplainer<GroundTruthOptions>({
  name: "ground_truth",
  description: "Control: the image's evidence mask itself (needs a data set with masks)",
  fillMap({ index, batchSize, heightPx, widthPx }, map, { masksNHW }) {
    if (masksNHW === undefined) {
      throw new InputError(
        "ground_truth: this data set has no evidence masks, and the method is the mask itself; " +
          "use a data set with <root>/masks/<split>/<Class>/<stem>.png (deno task data:synth " +
          "writes one) or leave ground_truth out of --methods",
      );
    }
    const mapSize = heightPx * widthPx;
    const masks = masksNHW.length / mapSize;
    if (!Number.isInteger(masks) || masks < 1 || batchSize % masks !== 0) {
      throw new InputError(
        `ground_truth: ${masksNHW.length} mask values are not ${heightPx} x ${widthPx} masks ` +
          `for a batch of ${batchSize} images (nor for copies of the batch)`,
      );
    }
    const row = index % masks;
    const mask = masksNHW.subarray(row * mapSize, (row + 1) * mapSize);
    for (let j = 0; j < mapSize; j++) map[j] = mask[j] === 0 ? 0 : 1;
  },
});
