/**
 * EigenCAM (Muhammad and Yeasin, "Eigen-CAM: Class Activation Map using Principal Components",
 * IJCNN 2020): no gradient and no class; the layer's activations A [h·w, C] per image are
 * centred over the pixels, and the map is their projection on the first principal component,
 * A_c v₁ (v₁ the leading right singular vector of the centred matrix), as pytorch-grad-cam's
 * `EigenCAM` computes it; then ReLU and bilinear (half-pixel) upsampling to the input size.
 * The target classes are checked but do not change the map.
 *
 * Sign: a singular vector's sign is arbitrary (numpy's comes from LAPACK internals), and the
 * ReLU keeps only one side. v₁ is oriented so that Σ_k v₁[k] ≥ 0, i.e. the projection
 * correlates positively with the layer's channel-sum map: the map is bright where the layer is
 * most active (`xai/cam/principal_component.ts`).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { camActivation, camAttribution, type CamOptions, finishCam } from "./cam.ts";
import { type Attribution, type Explainer, inImageGroups } from "../explainer.ts";
import { firstPrincipalProjection } from "./principal_component.ts";

/**
 * EigenCAM; `options.layer` picks the layer (default: the last feature block).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { EIGENCAM } from "./eigencam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await EIGENCAM.explain(model, x, Int32Array.from([1]), { layer: "features.3" });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.mapsNHW.some((v) => v > 0));
 * model.dispose();
 * ```
 */
export const EIGENCAM: Explainer<CamOptions> = inImageGroups({
  name: "eigencam",
  description: "EigenCAM (Muhammad and Yeasin 2020): the activations' projection on their " +
    "first principal component (no gradients, class-agnostic)",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: CamOptions = {},
  ): Promise<Attribution> {
    const { layerName, activationNHWC } = camActivation(this.name, model, xNHWC, targets, options);
    const shape = activationNHWC.shape;
    const [batch, heightPx, widthPx, channels] = shape;
    const pixels = heightPx * widthPx;
    let values: Float32Array;
    try {
      values = await activationNHWC.data() as Float32Array;
    } finally {
      activationNHWC.dispose();
    }
    const scores = new Float32Array(batch * pixels);
    for (let n = 0; n < batch; n++) {
      const image = values.subarray(n * pixels * channels, (n + 1) * pixels * channels);
      scores.set(firstPrincipalProjection(image, pixels, channels), n * pixels);
    }
    const pooled = finishCam(
      { scoresNhw: tf.tensor3d(scores, [batch, heightPx, widthPx]) },
      [xNHWC.shape[1], xNHWC.shape[2]],
    );
    return camAttribution(this.name, layerName, shape, pooled);
  },
});
