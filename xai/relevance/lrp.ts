/**
 * Layer-wise relevance propagation (Bach et al., PLoS ONE 2015) with Zennit's composites
 * `EpsilonPlusFlat` and `EpsilonGammaBox` (`composites.ts`), on the canonized graph of
 * `canonizers.ts`: 1 of relevance is put on the target logit of each image and carried back,
 * step by step, to the input; the attribution is the relevance of every input value, the map
 * its channel sum.
 *
 * Why an explicit walk backwards and not Zennit's modified gradients (a `tf.customGrad` per
 * layer under one `tf.grad`): a rule needs its layer's clamped and merged weights, the inputs it
 * was applied to and, for γ, its output; a walk has them at hand as plain tensors, each rule is a
 * function that can be tested on its own (`rules.ts`), and a step whose output carries no
 * relevance (the squeeze-excitation gate branch) is skipped instead of differentiated. Each
 * step's activations and relevance are freed once the walk has passed them.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { withStockConvolutions } from "../../backends/openblas/blas_conv2d.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inImageGroups,
  inputAttribution,
} from "../explainer.ts";
import {
  linearLayerOf,
  type LinearRole,
  type OwnedLinearLayer,
  relevanceGraph,
  type RelevanceStep,
} from "./canonizers.ts";
import {
  type Composite,
  type CompositeOptions,
  EPSILON_GAMMA_BOX,
  EPSILON_PLUS_FLAT,
} from "./composites.ts";
import { type LinearRule, normRule } from "./rules.ts";

/** Options of the LRP explainers. */
export interface LrpOptions extends ExplainOptions, CompositeOptions {}

/** The one-hot [N, classes] relevance put on the target logits. */
function oneHot(targets: Int32Array, classes: number): tf.Tensor2D {
  const values = new Float32Array(targets.length * classes);
  targets.forEach((target, i) => (values[i * classes + target] = 1));
  return tf.tensor2d(values, [targets.length, classes]);
}

/** A step's output from its inputs, as the canonized model computes it. */
function forward(
  step: RelevanceStep,
  inputs: tf.Tensor[],
  linear: OwnedLinearLayer | undefined,
): tf.Tensor {
  const run = () =>
    tf.tidy(() => {
      if (linear) return linear.layer.apply(inputs[0], linear.layer.kernel, linear.layer.bias);
      const out = step.node.outboundLayer.apply(inputs.length === 1 ? inputs[0] : inputs, {
        training: false,
      });
      return (Array.isArray(out) ? out[0] : out) as tf.Tensor;
    });
  // Max-pool ties (flat ECG paper) route relevance as PyTorch does only on equal activations.
  return step.tieExact ? withStockConvolutions(run) : run();
}

/**
 * The relevance of each input of `step` from `relevance` at its output; `identity`: the step
 * handed its input on as its output.
 */
function backward(
  step: RelevanceStep,
  inputs: tf.Tensor[],
  identity: boolean,
  relevance: tf.Tensor,
  linear: OwnedLinearLayer | undefined,
  rules: Readonly<Record<LinearRole, LinearRule>>,
): (tf.Tensor | undefined)[] {
  const layer = step.node.outboundLayer;
  switch (step.kind) {
    case "linear":
      return [rules[step.role!].apply(linear!.layer, inputs[0], relevance)];
    case "pass":
      return [relevance];
    case "gate":
      return inputs.map((_, i) => (i === step.mainInput ? relevance : undefined));
    case "norm":
      return normRule(
        (...xs) => layer.apply(xs.length === 1 ? xs[0] : xs, { training: false }) as tf.Tensor,
        inputs,
        relevance,
      );
    case "gradient":
      // Inference-mode Dropout and StochasticDepth hand their input on: nothing to differentiate.
      if (identity) return [relevance];
      return tf.grads((...xs: tf.Tensor[]) =>
        layer.apply(xs.length === 1 ? xs[0] : xs, { training: false }) as tf.Tensor
      )(inputs, relevance);
  }
}

/**
 * The relevance [N, H, W, C] of every input value of `xNHWC` for `logits[i, targets[i]]` under
 * `composite`, 1 put on each target logit; the caller disposes it. `targets` must be checked
 * (`checkExplainInputs`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { EPSILON_PLUS_FLAT } from "./composites.ts";
 * import { lrpRelevance } from "./lrp.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const relevance = lrpRelevance(model, x, Int32Array.of(2), EPSILON_PLUS_FLAT);
 * assert(relevance.shape.join() === "1,32,32,3" && relevance.dataSync().every(Number.isFinite));
 * relevance.dispose();
 * model.dispose();
 * ```
 */
export function lrpRelevance(
  model: tf.LayersModel,
  xNHWC: tf.Tensor4D,
  targets: Int32Array,
  composite: Composite,
  options: CompositeOptions = {},
): tf.Tensor4D {
  const graph = relevanceGraph(model);
  const rules = composite.rules(options);
  const linears = new Map<RelevanceStep, OwnedLinearLayer>();
  const values = new Map<number, tf.Tensor>([[graph.input.id, xNHWC]]);
  const relevances = new Map<number, tf.Tensor>();
  const release = (t: tf.Tensor) => {
    if (t !== xNHWC && ![...values.values()].includes(t)) t.dispose();
  };
  try {
    for (const step of graph.steps) {
      const linear = step.kind === "linear" ? linearLayerOf(step) : undefined;
      if (linear) linears.set(step, linear);
      const inputs = step.inputs.map((t) => values.get(t.id) as tf.Tensor);
      values.set(step.output.id, forward(step, inputs, linear));
    }
    const logits = values.get(graph.output.id) as tf.Tensor2D;
    relevances.set(graph.output.id, oneHot(targets, logits.shape[1]));
    for (const step of graph.steps.toReversed()) {
      const relevance = relevances.get(step.output.id);
      relevances.delete(step.output.id);
      const output = values.get(step.output.id) as tf.Tensor;
      values.delete(step.output.id);
      // Every reader of this step's output has run: its value is not needed any more.
      release(output);
      if (!relevance) continue; // no relevance reaches it (a squeeze-excitation gate's branch)
      const inputs = step.inputs.map((t) => values.get(t.id) as tf.Tensor);
      const identity = inputs.length === 1 && inputs[0] === output;
      const shares = tf.tidy(() =>
        backward(step, inputs, identity, relevance, linears.get(step), rules).map((share) =>
          share && share !== relevance ? share : share && tf.clone(share)
        )
      );
      relevance.dispose();
      shares.forEach((share, i) => {
        if (!share) return;
        const id = step.inputs[i].id;
        const earlier = relevances.get(id);
        relevances.set(id, earlier ? tf.add(earlier, share) : share);
        if (earlier) tf.dispose([earlier, share]);
      });
    }
    const result = relevances.get(graph.input.id) ?? tf.zerosLike(xNHWC);
    relevances.delete(graph.input.id);
    return result as tf.Tensor4D;
  } finally {
    for (const linear of linears.values()) linear.dispose();
    for (const t of values.values()) release(t);
    tf.dispose([...relevances.values()]);
  }
}

/** An LRP explainer under `composite`. */
function lrpExplainer(
  name: string,
  composite: Composite,
  description: string,
): Explainer<LrpOptions> {
  return inImageGroups({
    name,
    description,
    explain(
      model: tf.LayersModel,
      xNHWC: tf.Tensor4D,
      targets: Int32Array,
      options: LrpOptions = {},
    ): Promise<Attribution> {
      checkExplainInputs(name, model, xNHWC, targets);
      const relevance = lrpRelevance(model, xNHWC, targets, composite, options);
      return inputAttribution(name, relevance, options);
    },
  });
}

/**
 * LRP with Zennit's `EpsilonPlusFlat`: Flat at the stem, z⁺ at the other convolutions, ε at
 * dense layers. Options: `epsilon` (1e-6).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { LRP_EPSILON_PLUS_FLAT } from "./lrp.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await LRP_EPSILON_PLUS_FLAT.explain(model, x, Int32Array.of(0, 3), { keepChannels: true });
 * assert(attr.shapeNHW.join() === "2,32,32" && attr.attributionsNHWC?.length === 2 * 32 * 32 * 3);
 * model.dispose();
 * ```
 */
export const LRP_EPSILON_PLUS_FLAT: Explainer<LrpOptions> = lrpExplainer(
  "lrp_epsilon_plus_flat",
  EPSILON_PLUS_FLAT,
  "LRP (Bach et al. 2015), Zennit's EpsilonPlusFlat: Flat stem, z+ convolutions, epsilon dense",
);

/**
 * LRP with Zennit's `EpsilonGammaBox`: zᴮ at the stem with `low`/`high` (default a black and a
 * white pixel as the model sees them), γ at the other convolutions, ε at dense layers. Options:
 * `low`, `high` (one per channel), `gamma` (0.25), `epsilon` (1e-6).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { LRP_EPSILON_GAMMA_BOX } from "./lrp.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await LRP_EPSILON_GAMMA_BOX.explain(model, x, Int32Array.of(1), { gamma: 0.5 });
 * assert(attr.mapsNHW.every(Number.isFinite));
 * model.dispose();
 * ```
 */
export const LRP_EPSILON_GAMMA_BOX: Explainer<LrpOptions> = lrpExplainer(
  "lrp_epsilon_gamma_box",
  EPSILON_GAMMA_BOX,
  "LRP (Bach et al. 2015), Zennit's EpsilonGammaBox: box stem (black..white), gamma 0.25 " +
    "convolutions, epsilon dense",
);
