/**
 * Saliency (Simonyan et al., "Deep Inside Convolutional Networks: Visualising Image
 * Classification Models and Saliency Maps", 2014): the gradient w = ∂S_c / ∂I of the class
 * score S_c with respect to the image I, as Captum's `Saliency`: |w| with `abs` (the default,
 * the paper's magnitude), w itself without. The map is the channel sum.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { inputGradients } from "../../graph/input_gradients.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inImageGroups,
  inputAttribution,
} from "../explainer.ts";

/** Options of {@link SALIENCY}. */
export interface SaliencyOptions extends ExplainOptions {
  /** Return |∂S_c / ∂I| (Captum's `abs=True`, the default) instead of the signed gradient. */
  abs?: boolean;
}

/**
 * Saliency.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { SALIENCY } from "./saliency.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await SALIENCY.explain(model, x, Int32Array.from([1]), { keepChannels: true });
 * assert(attr.attributionsNHWC?.every((v) => v >= 0));
 * model.dispose();
 * ```
 */
export const SALIENCY: Explainer<SaliencyOptions> = inImageGroups({
  name: "saliency",
  description: "Saliency (Simonyan et al. 2014): the gradient of the class score, |.| by default",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: SaliencyOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const { logits, gradient } = inputGradients(model, xNHWC, targets);
    const attributions = (options.abs ?? true) ? tf.abs(gradient) : gradient;
    if (attributions !== gradient) gradient.dispose();
    logits.dispose();
    return inputAttribution(this.name, attributions as tf.Tensor4D, options);
  },
});
