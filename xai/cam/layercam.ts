/**
 * LayerCAM (Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for
 * Localization", IEEE TIP 2021): every location gets its own weight, the positive gradient
 * w^kc_ij = ReLU(∂y^c / ∂A^k_ij), and the map is ReLU(Σ_k w^kc_ij · A^k_ij), upsampled
 * bilinearly (half-pixel centres) to the input size. There are no per-channel weights.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type CamOptions, type CamScores, explainCam } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";

/**
 * LayerCAM's rule: Σ_k ReLU(G^k_ij) · A^k_ij.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { layerCamRule } from "./layercam.ts";
 * await tf.setBackend("cpu");
 * const { scoresNhw } = layerCamRule(tf.tensor4d([2, 3], [1, 1, 1, 2]), tf.tensor4d([-1, 2], [1, 1, 1, 2]));
 * assert(scoresNhw.dataSync()[0] === 6);
 * ```
 */
export function layerCamRule(activationNHWC: tf.Tensor4D, gradientNHWC: tf.Tensor4D): CamScores {
  return { scoresNhw: tf.sum(tf.mul(tf.relu(gradientNHWC), activationNHWC), 3) as tf.Tensor3D };
}

/**
 * LayerCAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { LAYERCAM } from "./layercam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await LAYERCAM.explain(model, x, Int32Array.from([1]), { layer: "features.3" });
 * assert(attr.layer?.weightsNC === undefined && attr.mapsNHW.length === 32 * 32);
 * model.dispose();
 * ```
 */
export const LAYERCAM: Explainer<CamOptions> = inImageGroups({
  name: "layercam",
  description: "LayerCAM (Jiang et al. 2021): activations weighted element-wise by their " +
    "positive gradients",
  explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    return explainCam(this.name, layerCamRule, model, xNHWC, targets, options);
  },
});
