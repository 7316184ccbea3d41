/**
 * Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
 * Gradient-based Localization", ICCV 2017): with A^k the layer's activation maps and
 * y^c the target logit, the neuron importance weights are
 * α_k^c = (1 / Z) Σ_ij ∂y^c / ∂A^k_ij, and the map is L^c = ReLU(Σ_k α_k^c A^k), upsampled
 * bilinearly (half-pixel centres) to the input size. Equal to Captum's `LayerGradCam` with
 * `relu_attributions=True` followed by `LayerAttribution.interpolate(..., "bilinear")`.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type CamOptions, type CamScores, explainCam, weightedChannelSum } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";

/**
 * Grad-CAM's rule: α_k^c = the mean over i, j of G^k_ij, and Σ_k α_k^c A^k.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { gradCamRule } from "./gradcam.ts";
 * await tf.setBackend("cpu");
 * const { weightsNC, scoresNhw } = gradCamRule(tf.ones([1, 2, 2, 1]), tf.tensor4d([1, 2, 3, 6], [1, 2, 2, 1]));
 * assert(weightsNC!.dataSync()[0] === 3 && scoresNhw.dataSync()[0] === 3);
 * ```
 */
export function gradCamRule(activationNHWC: tf.Tensor4D, gradientNHWC: tf.Tensor4D): CamScores {
  const weightsNC = tf.mean(gradientNHWC, [1, 2]) as tf.Tensor2D;
  return { weightsNC, scoresNhw: weightedChannelSum(activationNHWC, weightsNC) };
}

/**
 * Grad-CAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { GRADCAM } from "./gradcam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await GRADCAM.explain(model, x, Int32Array.from([0, 3]), { layer: "last-conv" });
 * assert(attr.shapeNHW.join() === "2,32,32" && attr.mapsNHW.every((v) => v >= 0));
 * model.dispose();
 * ```
 */
export const GRADCAM: Explainer<CamOptions> = inImageGroups({
  name: "gradcam",
  description: "Grad-CAM (Selvaraju et al. 2017): ReLU of the gradient-mean-weighted channel sum",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, gradCamRule, model, xNHWC, targets, options, "gradcam");
  },
});
