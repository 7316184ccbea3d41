/**
 * Guided Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
 * Gradient-based Localization", ICCV 2017, section 3.1): Guided Backprop's input attribution
 * (`xai/gradient/guided_backprop.ts`) multiplied point by point by the Grad-CAM map of the
 * layer `options.layer` (any layer Grad-CAM takes), upsampled to the input size. As Captum's
 * `GuidedGradCam`, the map is upsampled with nearest neighbour (torch's `interpolate(mode=
 * "nearest")`: output pixel j reads input cell floor(j · h / H), so each of a 7 x 7 map's cells
 * becomes a 32 x 32 block at 224 px), not the bilinear upsampling of Grad-CAM's own map; the
 * Grad-CAM factor uses ordinary gradients. The map is the channel sum; `layer` holds the
 * Grad-CAM map and weights it used.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { SizeHW } from "../../core/shapes.ts";
import { type CamOptions, explainCam } from "./cam.ts";
import { gradCamRule } from "./gradcam.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  inImageGroups,
  inputAttribution,
} from "../explainer.ts";
import { modifiedGradient, type ModifiedGradientOptions } from "../gradient/modified_gradient.ts";

/** Options of {@link GUIDED_GRADCAM}: Grad-CAM's layer and Guided Backprop's activations. */
export type GuidedGradCamOptions = CamOptions & ModifiedGradientOptions;

/**
 * Nearest-neighbour resize of [N, h, w] maps to `outputSizePx`, torch's
 * `interpolate(mode="nearest")`: output index j reads input index floor(j · in / out).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { upsampleMapsNearest } from "./guided_gradcam.ts";
 * await tf.setBackend("cpu");
 * const up = upsampleMapsNearest(tf.tensor3d([[[1, 2, 3]]]), [1, 7]);
 * assert(up.dataSync().join() === "1,1,1,2,2,3,3");
 * ```
 */
export function upsampleMapsNearest(mapsNhw: tf.Tensor3D, outputSizePx: SizeHW): tf.Tensor3D {
  return tf.tidy(() => {
    const upsampled = tf.image.resizeNearestNeighbor(
      tf.expandDims(mapsNhw, 3) as tf.Tensor4D,
      [outputSizePx[0], outputSizePx[1]],
      false,
      false,
    );
    return tf.squeeze(upsampled, [3]) as tf.Tensor3D;
  });
}

/**
 * Guided Grad-CAM.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { GUIDED_GRADCAM } from "./guided_gradcam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await GUIDED_GRADCAM.explain(model, x, Int32Array.from([0, 3]), { layer: "last-conv" });
 * assert(attr.shapeNHW.join() === "2,32,32" && attr.layer?.name === "features.4.0");
 * model.dispose();
 * ```
 */
export const GUIDED_GRADCAM: Explainer<GuidedGradCamOptions> = inImageGroups({
  name: "guided_gradcam",
  description: "Guided Grad-CAM (Selvaraju et al. 2017): Guided Backprop times the Grad-CAM " +
    "map upsampled by nearest neighbour",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: GuidedGradCamOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const cam = await explainCam(this.name, gradCamRule, model, xNHWC, targets, options, "gradcam");
    const layer = cam.layer!;
    const [batch, heightPx, widthPx] = xNHWC.shape;
    const guided = modifiedGradient("guided", model, xNHWC, targets, options);
    const attributionsNHWC = tf.tidy(() => {
      const [, h, w] = layer.shapeNHWC;
      const maps = upsampleMapsNearest(tf.tensor3d(layer.layerMapsNhw, [batch, h, w]), [
        heightPx,
        widthPx,
      ]);
      return tf.mul(guided, tf.expandDims(maps, 3)) as tf.Tensor4D;
    });
    guided.dispose();
    return { ...await inputAttribution(this.name, attributionsNHWC, options), layer };
  },
});
