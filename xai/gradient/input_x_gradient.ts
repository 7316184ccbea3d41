/**
 * Input x Gradient (Shrikumar et al., "Not Just a Black Box: Learning Important Features
 * Through Propagating Activation Differences", 2016): x ⊙ ∂S_c / ∂x, as Captum's
 * `InputXGradient`. The map is the channel sum.
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

/**
 * Input x Gradient.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { INPUT_X_GRADIENT } from "./input_x_gradient.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
 * const attr = await INPUT_X_GRADIENT.explain(model, x, Int32Array.from([1]));
 * assert(attr.mapsNHW.every((v) => v === 0));
 * model.dispose();
 * ```
 */
export const INPUT_X_GRADIENT: Explainer<ExplainOptions> = inImageGroups({
  name: "input_x_gradient",
  description: "Input x Gradient (Shrikumar et al. 2016): the input times the class score's " +
    "gradient",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: ExplainOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const { logits, gradient } = inputGradients(model, xNHWC, targets);
    const attributions = tf.mul(xNHWC, gradient) as tf.Tensor4D;
    tf.dispose([logits, gradient]);
    return inputAttribution(this.name, attributions, options);
  },
});
