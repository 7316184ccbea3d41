/**
 * What Guided Backprop, Deconvolution, Guided Grad-CAM and DeepLIFT share: the gradient of the
 * target logit w.r.t. the input with a modified backward rule at the network's activation layers
 * (`graph/backward_rules.ts`), and which activations get it.
 *
 * Which activations: the papers define their rules at ReLUs; by default every rectifier (ReLU and
 * ReLU6) gets Guided Backprop's and Deconvolution's rule, and every activation (ReLU, ReLU6, SiLU,
 * sigmoid) DeepLIFT's Rescale rule. With `captumCompat` the sets are the reference's: Captum's
 * `GuidedBackprop` and `Deconvolution` change only `nn.ReLU` modules (so on mobilenet_v2, whose
 * activations are ReLU6, they are the plain gradient), and its `DeepLift` has handlers for
 * `nn.ReLU` and `nn.Sigmoid` (not `nn.SiLU`), with `nn.ReLU6` registered to its Rescale handler
 * as the reference fixtures do (Captum itself has none for it).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { Activation } from "../../models/layers.ts";
import type { BackwardRuleName } from "../../graph/backward_rules.ts";
import { inputGradients } from "../../graph/input_gradients.ts";
import {
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inImageGroups,
  inputAttribution,
} from "../explainer.ts";

/** Options of the methods built on a modified backward rule. */
export interface ModifiedGradientOptions extends ExplainOptions {
  /**
   * The activation sets of the reference (Captum 0.8, `../shared/torch-parity`'s `_more_`
   * fixtures) instead of the papers' (module doc). Default false.
   */
  captumCompat?: boolean;
  /** The activation kinds that get the rule, overriding the sets above. */
  activations?: readonly Activation[];
}

/** The activation kinds each rule modifies: the default set and Captum's. */
const ACTIVATION_SETS: Record<
  BackwardRuleName,
  { papers: readonly Activation[]; captum: readonly Activation[] }
> = {
  guided: { papers: ["relu", "relu6"], captum: ["relu"] },
  deconvolution: { papers: ["relu", "relu6"], captum: ["relu"] },
  rescale: { papers: ["relu", "relu6", "silu", "sigmoid"], captum: ["relu", "relu6", "sigmoid"] },
};

/**
 * The activation kinds `rule` modifies under `options`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ruleActivations } from "./modified_gradient.ts";
 * assert.deepStrictEqual(ruleActivations("guided", { captumCompat: true }), ["relu"]);
 * assert.deepStrictEqual(ruleActivations("guided", {}), ["relu", "relu6"]);
 * ```
 */
export function ruleActivations(
  rule: BackwardRuleName,
  options: ModifiedGradientOptions,
): readonly Activation[] {
  const sets = ACTIVATION_SETS[rule];
  return options.activations ?? (options.captumCompat ? sets.captum : sets.papers);
}

/**
 * d logits[i, targets[i]] / d x with `rule` at the activations `options` selects, [N, H, W, C];
 * the caller disposes it. `baselineNHWC` is DeepLIFT's reference input (only for `rescale`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { modifiedGradient } from "./modified_gradient.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [1, 1, 2] });
 * const h = tf.layers.activation({ activation: "relu" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.constant({ value: -1 }) })
 *   .apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * // The gradient at the ReLU is -1: Guided Backprop passes nothing back.
 * const g = modifiedGradient("guided", model, tf.ones([1, 1, 1, 2]), Int32Array.of(0), {});
 * assert(g.dataSync().every((v) => v === 0));
 * ```
 */
export function modifiedGradient(
  rule: BackwardRuleName,
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  options: ModifiedGradientOptions,
  baselineNHWC?: tf.Tensor4D,
): tf.Tensor4D {
  const { logits, gradient } = inputGradients(model, xNHWC, targets, {
    rule: { name: rule, activations: ruleActivations(rule, options), baselineNHWC },
  });
  logits.dispose();
  return gradient as tf.Tensor4D;
}

/**
 * The explainer of an input-attribution method that is the modified gradient itself (Guided
 * Backprop, Deconvolution): `rule` at the selected activations, the map its channel sum, images
 * in groups sized from the heap budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { modifiedGradientExplainer } from "./modified_gradient.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [1, 1, 2] });
 * const h = tf.layers.activation({ activation: "relu" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.constant({ value: -1 }) })
 *   .apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const guided = modifiedGradientExplainer("g", "guided", "guided");
 * const attr = await guided.explain(model, tf.ones([1, 1, 1, 2]) as tf.Tensor4D, Int32Array.of(0));
 * assert(attr.method === "g" && attr.mapsNHW.every((v) => v === 0));
 * ```
 */
export function modifiedGradientExplainer(
  name: string,
  description: string,
  rule: BackwardRuleName,
): Explainer<ModifiedGradientOptions> {
  return inImageGroups({
    name,
    description,
    explain(model, xNHWC, targets, options = {}) {
      checkExplainInputs(name, model, xNHWC, targets);
      const gradient = modifiedGradient(rule, model, xNHWC, targets, options);
      return inputAttribution(name, gradient, options);
    },
  });
}
