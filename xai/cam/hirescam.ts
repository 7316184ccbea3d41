/**
 * HiResCAM (Draelos and Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
 * convolutional neural networks", 2020): the gradient multiplies the activation element-wise
 * instead of being averaged over space, Σ_k (∂y^c / ∂A^k) ⊙ A^k, then ReLU and bilinear
 * (half-pixel) upsampling to the input size. For a network whose layer is followed by global
 * average pooling and one linear layer (gradients constant over space) it equals Grad-CAM.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type CamOptions, type CamScores, explainCam } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";

/**
 * HiResCAM's rule: Σ_k G^k_ij · A^k_ij.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { hiResCamRule } from "./hirescam.ts";
 * await tf.setBackend("cpu");
 * const { scoresNhw } = hiResCamRule(tf.tensor4d([2, 3], [1, 1, 1, 2]), tf.tensor4d([-1, 2], [1, 1, 1, 2]));
 * assert(scoresNhw.dataSync()[0] === 4);
 * ```
 */
export function hiResCamRule(activationNHWC: tf.Tensor4D, gradientNHWC: tf.Tensor4D): CamScores {
  return { scoresNhw: tf.sum(tf.mul(gradientNHWC, activationNHWC), 3) as tf.Tensor3D };
}

/**
 * HiResCAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { HIRESCAM } from "./hirescam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await HIRESCAM.explain(model, x, Int32Array.from([0, 2]), { layer: "last-conv" });
 * assert(attr.shapeNHW.join() === "2,32,32" && attr.mapsNHW.every((v) => v >= 0));
 * model.dispose();
 * ```
 */
export const HIRESCAM: Explainer<CamOptions> = inImageGroups({
  name: "hirescam",
  description: "HiResCAM (Draelos and Carin 2020): activations times gradients element-wise, " +
    "summed over channels",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, hiResCamRule, model, xNHWC, targets, options);
  },
});
