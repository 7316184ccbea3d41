/**
 * DeepLIFT with the Rescale rule (Shrikumar, Greenside and Kundaje, "Learning Important Features
 * Through Propagating Activation Differences", ICML 2017), as Captum's `DeepLift`
 * (`multiply_by_inputs`): the target logit's multipliers are passed back from output to input,
 * through each activation as Δy / Δx = (f(x) − f(x0)) / (x − x0) (the ordinary gradient where
 * |x − x0| < 1e-10), x0 being the value the baseline x' produces there, and through every linear
 * op (convolution, BatchNorm, pooling, residual add, dense) as its gradient; the attribution is
 * (x − x') times the input's multiplier. The map is the channel sum; `convergenceDelta` is
 * Captum's Σ attributions − (F(x) − F(x')). Baselines as Integrated Gradients'
 * (`xai/gradient/baselines.ts`): `zero` (the default, Captum's), `black`, or an array.
 *
 * Completeness (delta 0) holds where every non-linear op gets a rule. A max-pool keeps its
 * ordinary gradient: the maximum of each window of x gets the window's multiplier (the original
 * DeepLIFT code's default max-pool mode, and what Captum effectively does: its max-pool rule is
 * overwritten by the preceding ReLU's, see `../shared/torch-parity/README.md`). So on resnet and
 * densenet, whose stem ends in a max-pool, DeepLIFT is complete only where the baseline's
 * max-pool input is constant over each window: for the zero baseline (the stem's convolution has
 * no bias, so it is 0 everywhere) delta is at rounding level; for a black baseline the stem
 * convolution's zero padding makes the image border differ, and the reference's delta is 8–12 %
 * of F(x) − F(x'). Which activations get the rule: `xai/gradient/modified_gradient.ts` (by
 * default all of them, ReLU, ReLU6, SiLU and sigmoid; `captumCompat`: not SiLU, which Captum has
 * no handler for). The product in a squeeze-excitation block keeps its ordinary gradient, so
 * efficientnet's DeepLIFT is not complete either.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { type Baseline, type BaselineOptions, makeBaselineNHWC } from "./baselines.ts";
import { convergenceDelta } from "./convergence_delta.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  inImageGroups,
  inputAttribution,
} from "../explainer.ts";
import { modifiedGradient, type ModifiedGradientOptions } from "./modified_gradient.ts";

/** Options of {@link DEEPLIFT}. */
export interface DeepLiftOptions extends ModifiedGradientOptions, BaselineOptions {
  /** x': `zero` (the default, Captum's), `black`, `blurred`, `uniform` or an NHWC array. */
  baseline?: Baseline;
}

/**
 * DeepLIFT (Rescale).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { DEEPLIFT } from "./deeplift.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await DEEPLIFT.explain(model, x, Int32Array.from([1]), { baseline: "black" });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.convergenceDelta?.length === 1);
 * model.dispose();
 * ```
 */
export const DEEPLIFT: Explainer<DeepLiftOptions> = inImageGroups(
  {
    name: "deeplift",
    description: "DeepLIFT (Shrikumar et al. 2017), Rescale rule: activation differences " +
      "from a baseline passed back as multipliers",
    async explain(
      model: tf.LayersModel,
      xNHWC: tf.Tensor4D,
      targets: Int32Array,
      options: DeepLiftOptions = {},
    ): Promise<Attribution> {
      checkExplainInputs(this.name, model, xNHWC, targets);
      const baselineNHWC = tf.tensor4d(
        makeBaselineNHWC(
          options.baseline ?? "zero",
          await xNHWC.data() as Float32Array,
          xNHWC.shape,
          options,
        ),
        xNHWC.shape,
      );
      const multipliers = modifiedGradient(
        "rescale",
        model,
        xNHWC,
        targets,
        options,
        baselineNHWC,
      );
      const attributionsNHWC = tf.tidy(() =>
        tf.mul(multipliers, tf.sub(xNHWC, baselineNHWC)) as tf.Tensor4D
      );
      multipliers.dispose();
      try {
        const delta = await convergenceDelta(
          model,
          xNHWC,
          baselineNHWC,
          targets,
          attributionsNHWC,
        );
        const attribution = await inputAttribution(this.name, attributionsNHWC, options);
        return { ...attribution, convergenceDelta: delta };
      } finally {
        tf.dispose([baselineNHWC, attributionsNHWC]);
      }
    },
  },
  // The baseline's activation inputs and outputs stay beside the gradient pass's: at most one
  // more layer output per layer, a third of a gradient row (graph/footprint.ts's factor 3).
  4 / 3,
);
