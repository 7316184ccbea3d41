/**
 * Guided Backpropagation (Springenberg, Dosovitskiy, Brox and Riedmiller, "Striving for
 * Simplicity: The All Convolutional Net", ICLR workshop 2015): the gradient of the target logit
 * w.r.t. the input, where at every ReLU only positive gradients pass back through open gates,
 * relu(g) · 1[x > 0]; every other op keeps its ordinary gradient. Signed, as Captum's
 * `GuidedBackprop`; the map is the channel sum. Which activations get the rule:
 * `xai/gradient/modified_gradient.ts` (`captumCompat`: `nn.ReLU` only, as Captum).
 *
 * @module
 */
import { modifiedGradientExplainer, type ModifiedGradientOptions } from "./modified_gradient.ts";
import type { Explainer } from "../explainer.ts";

/**
 * Guided Backprop.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { GUIDED_BACKPROP } from "./guided_backprop.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await GUIDED_BACKPROP.explain(model, x, Int32Array.from([1]), { keepChannels: true });
 * assert(attr.attributionsNHWC?.length === 32 * 32 * 3 && attr.mapsNHW.some((v) => v !== 0));
 * model.dispose();
 * ```
 */
export const GUIDED_BACKPROP: Explainer<ModifiedGradientOptions> = modifiedGradientExplainer(
  "guided_backprop",
  "Guided Backprop (Springenberg et al. 2015): the gradient with only positive " +
    "gradients passed back through each ReLU",
  "guided",
);
