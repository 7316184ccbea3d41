/**
 * How Grad-CAM and GradCAM++ weight a layer's channels from its gradient, as the explainers
 * (`xai/cam/`), the WGSL pooling kernel (`gradcam_pool.ts`) and its reference
 * (`gradcam_pool_reference.ts`) all name and compute it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type CamWeighting, GRADCAMPP_ALPHA_EPS } from "./cam_weighting.ts";
 * const weightings: CamWeighting[] = ["gradcam", "gradcam++"];
 * assert(weightings.length === 2 && GRADCAMPP_ALPHA_EPS === 1e-6);
 * ```
 *
 * @module
 */

/** How channel weights come from the gradient: Grad-CAM's mean or GradCAM++'s alphas. */
export type CamWeighting = "gradcam" | "gradcam++";

/**
 * The constant in GradCAM++'s alpha denominator (pytorch-grad-cam's `GradCAMPlusPlus`), which
 * keeps alpha finite where 2 G² + S G³ vanishes.
 */
export const GRADCAMPP_ALPHA_EPS = 1e-6;
