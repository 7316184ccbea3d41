/**
 * What Grad-CAM and GradCAM++ share: the layer's activation and gradient in one backward pass,
 * then the pooling kernel (channel weights, weighted channel sum, ReLU, bilinear half-pixel
 * upsampling) in tfjs ops, equal to `kernels/gradcam_pool_reference.ts`.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type CamWeighting, GRADCAMPP_ALPHA_EPS } from "../kernels/gradcam_pool_reference.ts";
import { inputGradients } from "../models/input_gradients.ts";
import { type Attribution, checkExplainInputs, type ExplainOptions } from "./explainer.ts";
import { DEFAULT_LAYER, resolveCamLayer } from "./target_layers.ts";

/** Options of the Grad-CAM family. */
export interface CamOptions extends ExplainOptions {
  /**
   * The layer whose activation A and gradient G make the map: `default` (the last feature
   * block, `xai/target_layers.ts`), `last-conv` (the last convolution, the reference's
   * choice) or a torch module path such as `layer4` or `layer4.1.conv2`. Default `default`.
   */
  layer?: string;
}

/** The pooling kernel's tensors; the caller disposes them. */
export interface CamPoolTensors {
  /** [N, C] channel weights. */
  weightsNC: tf.Tensor2D;
  /** [N, h, w] relu(Σ_c w_c A_c). */
  layerMapsNhw: tf.Tensor3D;
  /** [N, H, W] upsampled to `outputSizePx`. */
  mapsNHW: tf.Tensor3D;
}

/** GradCAM++'s w_c = Σ_hw alpha · relu(G), alpha = G² / (2 G² + S_c G³ + eps), 0 where G = 0. */
function gradCamPlusPlusWeights(activation: tf.Tensor4D, gradient: tf.Tensor4D): tf.Tensor2D {
  const g2 = tf.square(gradient);
  const g3 = tf.mul(g2, gradient);
  const activationSum = tf.sum(activation, [1, 2], true);
  const denominator = tf.add(tf.add(tf.mul(2, g2), tf.mul(activationSum, g3)), GRADCAMPP_ALPHA_EPS);
  const alpha = tf.where(tf.notEqual(gradient, 0), tf.div(g2, denominator), tf.zerosLike(g2));
  return tf.sum(tf.mul(alpha, tf.relu(gradient)), [1, 2]);
}

/**
 * The pooling kernel on tensors: channel weights from `gradientNHWC`, ReLU of the weighted
 * channel sum of `activationNHWC`, and `resizeBilinear` with half-pixel centres (torch's
 * `align_corners=False`) to `outputSizePx`.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { camPool } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const a = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 * const pooled = camPool(a, tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D, "gradcam", [8, 8]);
 * console.assert(pooled.mapsNHW.shape.join() === "1,8,8" && pooled.layerMapsNhw.dataSync()[0] === 1.5);
 * tf.dispose([a, pooled.weightsNC, pooled.layerMapsNhw, pooled.mapsNHW]);
 * ```
 */
export function camPool(
  activationNHWC: tf.Tensor4D,
  gradientNHWC: tf.Tensor4D,
  weighting: CamWeighting,
  outputSizePx: readonly [number, number],
): CamPoolTensors {
  return tf.tidy(() => {
    const weightsNC = weighting === "gradcam"
      ? tf.mean(gradientNHWC, [1, 2]) as tf.Tensor2D
      : gradCamPlusPlusWeights(activationNHWC, gradientNHWC);
    const [batch, heightPx, widthPx, channels] = activationNHWC.shape;
    // [N, hw, C] x [N, C, 1]: the channel sum as one batched product.
    const summed = tf.matMul(
      tf.reshape(activationNHWC, [batch, heightPx * widthPx, channels]),
      tf.reshape(weightsNC, [batch, channels, 1]),
    );
    const layerMapsNhw = tf.reshape(tf.relu(summed), [batch, heightPx, widthPx]) as tf.Tensor3D;
    const upsampled = tf.image.resizeBilinear(
      tf.expandDims(layerMapsNhw, 3) as tf.Tensor4D,
      [outputSizePx[0], outputSizePx[1]],
      false,
      true,
    );
    const mapsNHW = tf.squeeze(upsampled, [3]) as tf.Tensor3D;
    return { weightsNC, layerMapsNhw, mapsNHW };
  });
}

/**
 * Grad-CAM or GradCAM++ of `targets` on `xNHWC` at `options.layer`.
 *
 * @throws {InputError} for a bad input shape or target, or an unknown or non-spatial layer.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { startBackend } from "../models/backend.ts";
 * import { explainCam } from "./cam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await explainCam("gradcam", "gradcam", model, x, Int32Array.from([0]), {});
 * console.assert(attr.mapsNHW.length === 32 * 32 && attr.layer?.name === "features.4.2");
 * model.dispose();
 * ```
 */
export async function explainCam(
  method: string,
  weighting: CamWeighting,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: CamOptions,
): Promise<Attribution> {
  checkExplainInputs(method, model, xNHWC, targets);
  const layer = resolveCamLayer(model, options.layer ?? DEFAULT_LAYER);
  options.reuse?.prepare();
  const { logits, gradient, activation } = inputGradients(model, xNHWC, targets, {
    layer: layer.name,
    reuse: options.reuse,
  });
  const pooled = camPool(
    activation as tf.Tensor4D,
    gradient as tf.Tensor4D,
    weighting,
    [xNHWC.shape[1], xNHWC.shape[2]],
  );
  try {
    const [batch, heightPx, widthPx, channels] = (activation as tf.Tensor4D).shape;
    return {
      method,
      mapsNHW: await pooled.mapsNHW.data() as Float32Array,
      shapeNHW: [batch, xNHWC.shape[1], xNHWC.shape[2]],
      layer: {
        name: layer.name,
        shapeNHWC: [batch, heightPx, widthPx, channels],
        weightsNC: await pooled.weightsNC.data() as Float32Array,
        layerMapsNhw: await pooled.layerMapsNhw.data() as Float32Array,
      },
    };
  } finally {
    tf.dispose([logits, gradient, activation as tf.Tensor, ...Object.values(pooled)]);
  }
}
