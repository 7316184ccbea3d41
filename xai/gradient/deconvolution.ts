/**
 * Deconvolution (Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks",
 * ECCV 2014), as Captum's `Deconvolution`: the target logit's signal passed back to the input
 * with every ReLU replaced, on the way back, by a ReLU of the signal itself, relu(g), whatever
 * the forward gate; every other op keeps its ordinary gradient (a max-pool sends it to the
 * window's maximum, the paper's "switches"). The map is the channel sum. Which activations get
 * the rule: `xai/gradient/modified_gradient.ts` (`captumCompat`: `nn.ReLU` only, as Captum).
 *
 * @module
 */
import { modifiedGradientExplainer, type ModifiedGradientOptions } from "./modified_gradient.ts";
import type { Explainer } from "../explainer.ts";

/**
 * Deconvolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { DECONVOLUTION } from "./deconvolution.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await DECONVOLUTION.explain(model, x, Int32Array.from([1]));
 * assert(attr.shapeNHW.join() === "1,32,32" && attr.mapsNHW.some((v) => v !== 0));
 * model.dispose();
 * ```
 */
export const DECONVOLUTION: Explainer<ModifiedGradientOptions> = modifiedGradientExplainer(
  "deconvolution",
  "Deconvolution (Zeiler and Fergus 2014): the signal passed back through each " +
    "ReLU as relu(signal), ignoring the forward gate",
  "deconvolution",
);
