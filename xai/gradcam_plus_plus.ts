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
import type { tf } from "../deps.ts";
import { type CamOptions, explainCam } from "./cam.ts";
import type { Attribution, Explainer } from "./explainer.ts";

/**
 * GradCAM++; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { startBackend } from "../models/backend.ts";
 * import { GRADCAM_PLUS_PLUS } from "./gradcam_plus_plus.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await GRADCAM_PLUS_PLUS.explain(model, x, Int32Array.from([2]));
 * console.assert(attr.layer?.weightsNC.length === 256);
 * model.dispose();
 * ```
 */
export const GRADCAM_PLUS_PLUS: Explainer<CamOptions> = {
  name: "gradcam_plus_plus",
  description: "GradCAM++ (Chattopadhyay et al. 2018): Grad-CAM with alpha-weighted positive " +
    "gradients",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, "gradcam++", model, xNHWC, targets, options);
  },
};
