/**
 * GradCAM++ (Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep
 * Convolutional Networks", WACV 2018), in the closed form of pytorch-grad-cam's
 * `GradCAMPlusPlus` for an exponential output: with A^k the layer's activation maps and
 * G = ∂y^c / ∂A^k, α^kc_ij = G² / (2 G² + Σ_ab A^k_ab · G³ + 1e-6) (0 where G = 0), the
 * weights w^c_k = Σ_ij α^kc_ij · ReLU(G), and the map ReLU(Σ_k w^c_k A^k), upsampled bilinearly
 * (half-pixel centres) to the input size. Not normalised: `normalise.ts` does that where wanted.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { GRADCAMPP_ALPHA_EPS } from "../kernels/cam_weighting.ts";
import { type CamOptions, type CamScores, explainCam, weightedChannelSum } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";

/**
 * GradCAM++'s rule: w^c_k = Σ_ij α^kc_ij · ReLU(G), α = G² / (2 G² + Σ_ab A^k_ab · G³ + eps),
 * 0 where G = 0; and Σ_k w^c_k A^k.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { gradCamPlusPlusRule } from "./gradcam_plus_plus.ts";
 * await tf.setBackend("cpu");
 * const { weightsNC } = gradCamPlusPlusRule(tf.zeros([1, 2, 2, 1]), tf.fill([1, 2, 2, 1], 1));
 * assert(Math.abs(weightsNC!.dataSync()[0] - 2) < 1e-5);
 * ```
 */
export function gradCamPlusPlusRule(
  activationNHWC: tf.Tensor4D,
  gradientNHWC: tf.Tensor4D,
): CamScores {
  const g2 = tf.square(gradientNHWC);
  const g3 = tf.mul(g2, gradientNHWC);
  const activationSum = tf.sum(activationNHWC, [1, 2], true);
  const denominator = tf.add(tf.add(tf.mul(2, g2), tf.mul(activationSum, g3)), GRADCAMPP_ALPHA_EPS);
  const alpha = tf.where(tf.notEqual(gradientNHWC, 0), tf.div(g2, denominator), tf.zerosLike(g2));
  const weightsNC = tf.sum(tf.mul(alpha, tf.relu(gradientNHWC)), [1, 2]) as tf.Tensor2D;
  return { weightsNC, scoresNhw: weightedChannelSum(activationNHWC, weightsNC) };
}

/**
 * GradCAM++; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { GRADCAM_PLUS_PLUS } from "./gradcam_plus_plus.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await GRADCAM_PLUS_PLUS.explain(model, x, Int32Array.from([2]));
 * assert(attr.layer?.weightsNC?.length === 256);
 * model.dispose();
 * ```
 */
export const GRADCAM_PLUS_PLUS: Explainer<CamOptions> = inImageGroups({
  name: "gradcam_plus_plus",
  description: "GradCAM++ (Chattopadhyay et al. 2018): Grad-CAM with alpha-weighted positive " +
    "gradients",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, gradCamPlusPlusRule, model, xNHWC, targets, options, "gradcam++");
  },
});
