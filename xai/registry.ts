/**
 * Every attribution method, by name.
 *
 * Adding a method: write `xai/<family>/<method>.ts` exporting an {@link Explainer}, where
 * `<family>` is `cam` (a layer's activations), `gradient` (input gradients, plain or with a
 * modified backward rule) or `perturbation` (model calls on changed inputs); add its options to
 * {@link ExplainerOptions}, append it to {@link EXPLAINERS}, give it a colour in
 * `plots/charts/theme.ts` and a row in `docs/explainers.md`.
 *
 * The controls (`xai/controls/`) come last: maps that know nothing about the model (random
 * noise, the input's edges, a constant) and the evidence mask itself, registered like every
 * method so that each stage, metric and chart shows the real methods beside them.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { CamOptions } from "./cam/cam.ts";
import { CONSTANT, type ConstantOptions } from "./controls/constant.ts";
import { GROUND_TRUTH, type GroundTruthOptions } from "./controls/ground_truth.ts";
import { RANDOM, type RandomOptions } from "./controls/random.ts";
import { SOBEL } from "./controls/sobel.ts";
import { EIGENCAM } from "./cam/eigencam.ts";
import type { Explainer } from "./explainer.ts";
import { GRADCAM } from "./cam/gradcam.ts";
import { GRADCAM_PLUS_PLUS } from "./cam/gradcam_plus_plus.ts";
import { GUIDED_GRADCAM, type GuidedGradCamOptions } from "./cam/guided_gradcam.ts";
import { GUIDED_BACKPROP } from "./gradient/guided_backprop.ts";
import { DECONVOLUTION } from "./gradient/deconvolution.ts";
import { DEEPLIFT, type DeepLiftOptions } from "./gradient/deeplift.ts";
import { GRADIENT_SHAP, type GradientShapOptions } from "./gradient/gradient_shap.ts";
import { LRP_EPSILON_GAMMA_BOX, LRP_EPSILON_PLUS_FLAT, type LrpOptions } from "./relevance/lrp.ts";
import { HIRESCAM } from "./cam/hirescam.ts";
import { INPUT_X_GRADIENT } from "./gradient/input_x_gradient.ts";
import {
  INTEGRATED_GRADIENTS,
  type IntegratedGradientsOptions,
} from "./gradient/integrated_gradients.ts";
import { LAYERCAM } from "./cam/layercam.ts";
import { LIME, type LimeOptions } from "./perturbation/lime.ts";
import { OCCLUSION, type OcclusionOptions } from "./perturbation/occlusion.ts";
import { RISE, type RiseOptions } from "./perturbation/rise.ts";
import { SALIENCY } from "./gradient/saliency.ts";
import { SCORECAM, type ScoreCamOptions } from "./cam/scorecam.ts";
import { SMOOTHGRAD, type SmoothGradOptions } from "./gradient/smoothgrad.ts";
import { XGRADCAM } from "./cam/xgradcam.ts";

/** The union of every method's options; each method reads its own. */
export type ExplainerOptions =
  & CamOptions
  & IntegratedGradientsOptions
  & SmoothGradOptions
  & GuidedGradCamOptions
  & DeepLiftOptions
  & GradientShapOptions
  & LrpOptions
  & ScoreCamOptions
  & LimeOptions
  & OcclusionOptions
  & RiseOptions
  & RandomOptions
  & ConstantOptions
  & GroundTruthOptions;

/**
 * The attribution methods, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EXPLAINERS } from "./registry.ts";
 * assert(EXPLAINERS.some((e) => e.name === "integrated_gradients"));
 * ```
 */
export const EXPLAINERS: readonly Explainer<ExplainerOptions>[] = [
  GRADCAM,
  GRADCAM_PLUS_PLUS,
  XGRADCAM,
  LAYERCAM,
  HIRESCAM,
  SCORECAM,
  EIGENCAM,
  INTEGRATED_GRADIENTS,
  SALIENCY,
  INPUT_X_GRADIENT,
  SMOOTHGRAD,
  GUIDED_BACKPROP,
  DECONVOLUTION,
  GUIDED_GRADCAM,
  DEEPLIFT,
  GRADIENT_SHAP,
  LRP_EPSILON_PLUS_FLAT,
  LRP_EPSILON_GAMMA_BOX,
  LIME,
  OCCLUSION,
  RISE,
  RANDOM,
  SOBEL,
  CONSTANT,
  GROUND_TRUTH,
];

/**
 * Whether method `name` reads the images' evidence masks ({@link GroundTruthOptions.masksNHW}):
 * stages load them only for such methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readsMasks } from "./registry.ts";
 * assert(readsMasks("ground_truth") && !readsMasks("gradcam"));
 * ```
 */
export function readsMasks(name: string): boolean {
  return name === GROUND_TRUTH.name;
}

/**
 * The explainer registered as `name`.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { getExplainer } from "./registry.ts";
 * assert(getExplainer("gradcam").name === "gradcam");
 * ```
 */
export function getExplainer(name: string): Explainer<ExplainerOptions> {
  const explainer = EXPLAINERS.find((e) => e.name === name);
  if (!explainer) {
    throw new InputError(
      `unknown attribution method "${name}"; choose one of: ${
        EXPLAINERS.map((e) => e.name).join(", ")
      }`,
    );
  }
  return explainer;
}
