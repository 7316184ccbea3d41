/**
 * XGrad-CAM (Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation
 * of CNNs", BMVC 2020): with A^k the layer's activation maps and G^k = ∂y^c / ∂A^k, the
 * weights α_k^c = Σ_ij (A^k_ij / (Σ_ab A^k_ab + eps)) · G^k_ij, chosen to satisfy the
 * sensitivity and conservation axioms, and the map ReLU(Σ_k α_k^c A^k), upsampled bilinearly
 * (half-pixel centres) to the input size. eps = 1e-7 as in pytorch-grad-cam's `XGradCAM`.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type CamOptions, type CamScores, explainCam, weightedChannelSum } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";

/** The constant in XGrad-CAM's denominator (pytorch-grad-cam's), for all-zero channels. */
export const XGRADCAM_EPS = 1e-7;

/**
 * XGrad-CAM's rule: α_k^c = Σ_ij G^k_ij A^k_ij / (Σ_ab A^k_ab + eps), and Σ_k α_k^c A^k.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { xGradCamRule } from "./xgradcam.ts";
 * await tf.setBackend("cpu");
 * const a = tf.tensor4d([1, 3], [1, 1, 2, 1]), g = tf.tensor4d([2, 6], [1, 1, 2, 1]);
 * const { weightsNC } = xGradCamRule(a, g);
 * assert(Math.abs(weightsNC!.dataSync()[0] - 5) < 1e-5);
 * ```
 */
export function xGradCamRule(activationNHWC: tf.Tensor4D, gradientNHWC: tf.Tensor4D): CamScores {
  const weightsNC = tf.div(
    tf.sum(tf.mul(gradientNHWC, activationNHWC), [1, 2]),
    tf.add(tf.sum(activationNHWC, [1, 2]), XGRADCAM_EPS),
  ) as tf.Tensor2D;
  return { weightsNC, scoresNhw: weightedChannelSum(activationNHWC, weightsNC) };
}

/**
 * XGrad-CAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { XGRADCAM } from "./xgradcam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await XGRADCAM.explain(model, x, Int32Array.from([1]));
 * assert(attr.layer?.weightsNC?.length === 256 && attr.mapsNHW.every((v) => v >= 0));
 * model.dispose();
 * ```
 */
export const XGRADCAM: Explainer<CamOptions> = inImageGroups({
  name: "xgradcam",
  description: "XGrad-CAM (Fu et al. 2020): channels weighted by the activation-weighted " +
    "gradient sum over the activation sum",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, xGradCamRule, model, xNHWC, targets, options);
  },
});
