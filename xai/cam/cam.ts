/**
 * What the CAM family shares: the layer's activation (and, for gradient methods, its gradient
 * in one backward pass), the weighted channel sum, ReLU and bilinear half-pixel upsampling to
 * the input size, and the {@link Attribution} built from them. Each method supplies only its
 * rule from activation (and gradient) to a layer map. For Grad-CAM and GradCAM++ these tfjs ops
 * equal `xai/kernels/gradcam_pool_reference.ts`; where the backend accelerates that pooling
 * ({@link CAM_POOL}: the WGSL kernel `xai/kernels/gradcam_pool.ts` on webgpu, on tfjs's GPU
 * buffers) those two run it instead.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { ShapeNHWC, SizeHW } from "../../core/shapes.ts";
import type { CamWeighting } from "../kernels/cam_weighting.ts";
import { CAM_POOL, type CamPoolTensors } from "../kernels/gradcam_pool.ts";
import { inputGradients } from "../../graph/input_gradients.ts";
import { layerActivation } from "../../graph/layer_activation.ts";
import { type Attribution, checkExplainInputs, type ExplainOptions } from "../explainer.ts";
import { DEFAULT_LAYER, resolveCamLayer } from "../target_layers.ts";

/** Options of the CAM family. */
export interface CamOptions extends ExplainOptions {
  /**
   * The layer whose activation A (and gradient G) make the map: `default` (the last feature
   * block, `xai/target_layers.ts`), `last-conv` (the last convolution, the reference's
   * choice) or a torch module path such as `layer4` or `layer4.1.conv2`. Default `default`.
   */
  layer?: string;
}

/** A method's layer map before ReLU; the caller disposes the tensors. */
export interface CamScores {
  /** [N, C] the channel weights, for methods that weight whole channels. */
  weightsNC?: tf.Tensor2D;
  /** [N, h, w] the map at the layer's resolution, before ReLU. */
  scoresNhw: tf.Tensor3D;
}

/** A gradient method's rule: activation A and gradient G, both NHWC, to its layer map. */
export type GradientCamRule = (activationNHWC: tf.Tensor4D, gradientNHWC: tf.Tensor4D) => CamScores;

/**
 * Σ_c weightsNC[n, c] · A[n, :, :, c]: [N, h, w], as one batched matrix product.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { weightedChannelSum } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const sum = weightedChannelSum(tf.ones([1, 2, 2, 3]), tf.tensor2d([[1, 2, -4]]));
 * assert(sum.shape.join() === "1,2,2" && sum.dataSync()[0] === -1);
 * sum.dispose();
 * ```
 */
export function weightedChannelSum(
  activationNHWC: tf.Tensor4D,
  weightsNC: tf.Tensor2D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, heightPx, widthPx, channels] = activationNHWC.shape;
    const summed = tf.matMul(
      tf.reshape(activationNHWC, [batch, heightPx * widthPx, channels]),
      tf.reshape(weightsNC, [batch, channels, 1]),
    );
    return tf.reshape(summed, [batch, heightPx, widthPx]) as tf.Tensor3D;
  });
}

/**
 * Bilinear resize of [N, h, w] maps to `outputSizePx` with half-pixel centres (torch's
 * `interpolate(mode="bilinear", align_corners=False)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { upsampleMaps } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const up = upsampleMaps(tf.tensor3d([[[0, 4]]]), [1, 4]);
 * assert(up.dataSync().join() === "0,1,3,4");
 * up.dispose();
 * ```
 */
export function upsampleMaps(
  mapsNhw: tf.Tensor3D,
  outputSizePx: SizeHW,
): tf.Tensor3D {
  return tf.tidy(() => {
    const upsampled = tf.image.resizeBilinear(
      tf.expandDims(mapsNhw, 3) as tf.Tensor4D,
      [outputSizePx[0], outputSizePx[1]],
      false,
      true,
    );
    return tf.squeeze(upsampled, [3]) as tf.Tensor3D;
  });
}

/**
 * ReLU of a method's layer map and its upsampling to `outputSizePx`. Disposes `scores`'s map
 * and hands its weights on.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { finishCam } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const pooled = finishCam({ scoresNhw: tf.tensor3d([[[-1, 2]]]) }, [2, 4]);
 * assert(pooled.layerMapsNhw.dataSync().join() === "0,2" && pooled.mapsNHW.shape[2] === 4);
 * tf.dispose([pooled.layerMapsNhw, pooled.mapsNHW]);
 * ```
 */
export function finishCam(
  scores: CamScores,
  outputSizePx: SizeHW,
): CamPoolTensors {
  const layerMapsNhw = tf.relu(scores.scoresNhw) as tf.Tensor3D;
  scores.scoresNhw.dispose();
  const mapsNHW = upsampleMaps(layerMapsNhw, outputSizePx);
  return { weightsNC: scores.weightsNC, layerMapsNhw, mapsNHW };
}

/**
 * The pooling pass of a gradient method: its `rule` on A and G, ReLU, and upsampling to
 * `outputSizePx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { camPool, weightedChannelSum } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const a = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 * const g = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
 * const meanRule = (a: tf.Tensor4D, g: tf.Tensor4D) => {
 *   const weightsNC = tf.mean(g, [1, 2]) as tf.Tensor2D;
 *   return { weightsNC, scoresNhw: weightedChannelSum(a, weightsNC) };
 * };
 * const pooled = camPool(a, g, meanRule, [8, 8]);
 * assert(pooled.mapsNHW.shape.join() === "1,8,8" && pooled.layerMapsNhw.dataSync()[0] === 1.5);
 * tf.dispose([a, g, pooled.weightsNC!, pooled.layerMapsNhw, pooled.mapsNHW]);
 * ```
 */
export function camPool(
  activationNHWC: tf.Tensor4D,
  gradientNHWC: tf.Tensor4D,
  rule: GradientCamRule,
  outputSizePx: SizeHW,
): CamPoolTensors {
  const scores = tf.tidy(() => {
    const { weightsNC, scoresNhw } = rule(activationNHWC, gradientNHWC);
    return weightsNC ? [scoresNhw, weightsNC] : [scoresNhw];
  }) as [tf.Tensor3D, tf.Tensor2D?];
  return finishCam({ scoresNhw: scores[0], weightsNC: scores[1] }, outputSizePx);
}

/** Checks the inputs and returns the layer `options.layer` names. */
function checkCamInputs(
  method: string,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: CamOptions,
): tf.layers.Layer {
  checkExplainInputs(method, model, xNHWC, targets);
  return resolveCamLayer(model, options.layer ?? DEFAULT_LAYER);
}

/**
 * The layer's name and its activation for `xNHWC` (no gradient), after checking the inputs and
 * resolving `options.layer`. The caller disposes the activation.
 *
 * @throws {InputError} for a bad input shape or target, or an unknown or non-spatial layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { camActivation } from "./cam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
 * const { layerName, activationNHWC } = camActivation("eigencam", model, x, Int32Array.from([0]), {});
 * assert(layerName === "features.4.2" && activationNHWC.shape[3] === 256);
 * activationNHWC.dispose();
 * model.dispose();
 * ```
 */
export function camActivation(
  method: string,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: CamOptions,
): { layerName: string; activationNHWC: tf.Tensor4D } {
  const layer = checkCamInputs(method, model, xNHWC, targets, options);
  const activationNHWC = layerActivation(model, xNHWC, layer.name) as tf.Tensor4D;
  return { layerName: layer.name, activationNHWC };
}

/**
 * The {@link Attribution} of a CAM method from its pooled tensors; disposes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { camAttribution, finishCam } from "./cam.ts";
 * await tf.setBackend("cpu");
 * const pooled = finishCam({ scoresNhw: tf.ones([1, 2, 2]) }, [4, 4]);
 * const attr = await camAttribution("hirescam", "conv", [1, 2, 2, 5], pooled);
 * assert(attr.shapeNHW.join() === "1,4,4" && attr.layer?.weightsNC === undefined);
 * ```
 */
export async function camAttribution(
  method: string,
  layerName: string,
  layerShapeNHWC: ShapeNHWC,
  pooled: CamPoolTensors,
): Promise<Attribution> {
  try {
    const [batch, heightPx, widthPx] = pooled.mapsNHW.shape;
    const result: Attribution = {
      method,
      mapsNHW: await pooled.mapsNHW.data() as Float32Array,
      shapeNHW: [batch, heightPx, widthPx],
      layer: {
        name: layerName,
        shapeNHWC: layerShapeNHWC,
        layerMapsNhw: await pooled.layerMapsNhw.data() as Float32Array,
      },
    };
    if (pooled.weightsNC) result.layer!.weightsNC = await pooled.weightsNC.data() as Float32Array;
    return result;
  } finally {
    tf.dispose([
      pooled.layerMapsNhw,
      pooled.mapsNHW,
      ...(pooled.weightsNC ? [pooled.weightsNC] : []),
    ]);
  }
}

/**
 * A gradient CAM method (Grad-CAM, GradCAM++, XGrad-CAM, LayerCAM, HiResCAM) of `targets` on
 * `xNHWC` at `options.layer`: A and G = ∂ logits[i, targets[i]] / ∂ A from one backward pass
 * (no weight gradients), then `rule`, ReLU and upsampling. A method whose rule the accelerated
 * pooling pass ({@link CAM_POOL}) implements names its `weighting`, which runs that pass instead
 * where the backend has one.
 *
 * @throws {InputError} for a bad input shape or target, or an unknown or non-spatial layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { explainCam } from "./cam.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const elementwise = (a: tf.Tensor4D, g: tf.Tensor4D) => ({ scoresNhw: tf.sum(tf.mul(a, g), 3) as tf.Tensor3D });
 * const attr = await explainCam("hirescam", elementwise, model, x, Int32Array.from([0]), {});
 * assert(attr.mapsNHW.length === 32 * 32 && attr.layer?.name === "features.4.2");
 * model.dispose();
 * ```
 */
export async function explainCam(
  method: string,
  rule: GradientCamRule,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: CamOptions,
  weighting?: CamWeighting,
): Promise<Attribution> {
  const layer = checkCamInputs(method, model, xNHWC, targets, options);
  options.reuse?.prepare(layer.name);
  const { logits, gradient, activation } = inputGradients(model, xNHWC, targets, {
    layer: layer.name,
    reuse: options.reuse,
  });
  const activationNHWC = activation as tf.Tensor4D;
  try {
    const outputSizePx = [xNHWC.shape[1], xNHWC.shape[2]] as const;
    const acceleratedPool = CAM_POOL.implementation();
    const pooled = weighting && acceleratedPool
      ? acceleratedPool(activationNHWC, gradient as tf.Tensor4D, weighting, outputSizePx)
      : camPool(activationNHWC, gradient as tf.Tensor4D, rule, outputSizePx);
    return await camAttribution(method, layer.name, activationNHWC.shape, pooled);
  } finally {
    tf.dispose([logits, gradient, activationNHWC]);
  }
}
