/**
 * The Grad-CAM pooling kernel in WGSL (`gradcam_pool.wgsl`) on the tfjs webgpu backend's device:
 * channel weights from the gradient (Grad-CAM's mean or GradCAM++'s alphas), ReLU of the
 * weighted channel sum, and bilinear upsampling with half-pixel centres, as three dispatches of
 * one compute pass over tfjs's own buffers. Equal to `gradcam_pool_reference.ts` within float32
 * rounding (the reference sums in float64). Registered for webgpu as {@link CAM_POOL}, which the
 * CAM explainers ask for (`xai/cam/cam.ts`).
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { SizeHW } from "../../core/shapes.ts";
import { AcceleratedOp } from "../../backends/accelerated.ts";
import { runWgsl } from "../../backends/webgpu/webgpu_kernel.ts";
import { type CamWeighting, GRADCAMPP_ALPHA_EPS } from "./cam_weighting.ts";
import source from "./gradcam_pool.wgsl" with { type: "text" };

/** A CAM pooling pass's outputs as tensors; the caller disposes them. */
export interface CamPoolTensors {
  /** [N, C] channel weights, for methods that weight whole channels. */
  weightsNC?: tf.Tensor2D;
  /** [N, h, w] the ReLU'd layer map, relu(Σ_c w_c A_c) for channel weights. */
  layerMapsNhw: tf.Tensor3D;
  /** [N, H, W] upsampled to the output size. */
  mapsNHW: tf.Tensor3D;
}

/**
 * Grad-CAM pooling on a backend that accelerates it: channel weights from the gradient by
 * `weighting`, ReLU of the weighted channel sum, upsampling to `outputSizePx` (see
 * `gradcam_pool_reference.ts`). The caller disposes the tensors.
 */
export type CamPoolKernel = (
  activationNHWC: tf.Tensor4D,
  gradientNHWC: tf.Tensor4D,
  weighting: CamWeighting,
  outputSizePx: SizeHW,
) => CamPoolTensors;

/**
 * The Grad-CAM pooling pass as an accelerated operation; webgpu runs {@link camPoolWebGpu}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CAM_POOL, camPoolWebGpu } from "./gradcam_pool.ts";
 * assert(CAM_POOL.implementation("webgpu") === camPoolWebGpu);
 * assert(CAM_POOL.implementation("wasm") === undefined);
 * ```
 */
export const CAM_POOL = new AcceleratedOp<CamPoolKernel>("camPool");

/**
 * Grad-CAM pooling of `activationNHWC` with weights from `gradientNHWC`, upsampled to
 * `outputSizePx`, in WGSL on the webgpu backend (no CPU round trip).
 *
 * @throws {Error} when the active backend is not webgpu, or the two shapes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../../backends/backend.ts";
 * import { camPoolWebGpu } from "./gradcam_pool.ts";
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const a = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 *   const g = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
 *   const pooled = camPoolWebGpu(a, g, "gradcam", [8, 8]);
 *   assert((await pooled.layerMapsNhw.data())[0] === 1.5);
 *   assert(pooled.mapsNHW.shape.join() === "1,8,8");
 *   tf.dispose([a, g, pooled.weightsNC, pooled.layerMapsNhw, pooled.mapsNHW]);
 * }
 * ```
 */
export function camPoolWebGpu(
  activationNHWC: tf.Tensor4D,
  gradientNHWC: tf.Tensor4D,
  weighting: CamWeighting,
  outputSizePx: SizeHW,
): Required<CamPoolTensors> {
  const [batch, heightPx, widthPx, channels] = activationNHWC.shape;
  if (gradientNHWC.shape.join() !== activationNHWC.shape.join()) {
    throw new Error(
      `camPoolWebGpu: gradient shape [${gradientNHWC.shape}] differs from the activation's ` +
        `[${activationNHWC.shape}]`,
    );
  }
  const [outHeightPx, outWidthPx] = outputSizePx;
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 7).set([
    batch,
    heightPx,
    widthPx,
    channels,
    outHeightPx,
    outWidthPx,
    weighting === "gradcam++" ? 1 : 0,
  ]);
  new Float32Array(params, 28, 1)[0] = GRADCAMPP_ALPHA_EPS;
  const [weightsNC, layerMapsNhw, mapsNHW] = runWgsl({
    label: "gradcam_pool",
    source,
    bindings: [
      { kind: "uniform", data: params },
      { kind: "read", tensor: activationNHWC },
      { kind: "read", tensor: gradientNHWC },
      { kind: "write", outputShape: [batch, channels] },
      { kind: "write", outputShape: [batch, heightPx, widthPx] },
      { kind: "write", outputShape: [batch, outHeightPx, outWidthPx] },
    ],
    dispatches: [
      { entryPoint: "channel_weights", invocations: batch * channels },
      { entryPoint: "layer_maps", invocations: batch * heightPx * widthPx },
      { entryPoint: "upsample", invocations: batch * outHeightPx * outWidthPx },
    ],
  });
  return {
    weightsNC: weightsNC as tf.Tensor2D,
    layerMapsNhw: layerMapsNhw as tf.Tensor3D,
    mapsNHW: mapsNHW as tf.Tensor3D,
  };
}

CAM_POOL.register("webgpu", camPoolWebGpu);
