/**
 * Zennit's two standard composites for convolutional image classifiers (Anders et al., "Software
 * for Dataset-wide XAI: From Local Explanations to Global Insights with Zennit, CoRelAy, and
 * ViRelAy", 2021): which rule each kind of linear layer gets. Every other step's rule is fixed by
 * the canonizers (`canonizers.ts`): activations and merged BatchNorms `Pass`, sums and average
 * pooling `Norm`, the rest its ordinary gradient.
 *
 * | layer | `EpsilonPlusFlat` | `EpsilonGammaBox` |
 * | --- | --- | --- |
 * | the first linear layer (the stem convolution) | Flat | ZBox(low, high) |
 * | other convolutions (depthwise included) | ZPlus | Gamma(0.25) |
 * | dense layers | Epsilon(1e-6) | Epsilon(1e-6) |
 *
 * @module
 */
import { IMAGENET_MEAN, IMAGENET_STD } from "../../data/preprocess.ts";
import type { LinearRole, RelevanceGraph } from "./canonizers.ts";
import {
  epsilonRule,
  flatRule,
  gammaRule,
  type LinearRule,
  STABILIZER,
  zBoxRule,
  zPlusRule,
} from "./rules.ts";

/** The parameters of the composites' rules. */
export interface CompositeOptions {
  /** The ε rule's stabiliser at dense layers; default 1e-6 (Zennit's). */
  epsilon?: number;
  /** `EpsilonGammaBox`: the γ of the convolutions' rule; default 0.25 (Zennit's). */
  gamma?: number;
  /**
   * `EpsilonGammaBox`: the lowest value of each input channel, as the model sees it; default a
   * black pixel after the ImageNet normalisation of `data/preprocess.ts`, (0 − mean_c) / std_c.
   */
  low?: readonly number[];
  /** `EpsilonGammaBox`: the highest value of each input channel; default white, (1 − mean_c) / std_c. */
  high?: readonly number[];
}

/** A composite: the rule of each {@link LinearRole}. */
export interface Composite {
  /** Zennit's class name. */
  readonly name: string;
  /** The rules for `options`. */
  rules(options?: CompositeOptions): Readonly<Record<LinearRole, LinearRule>>;
}

/** Pixel value `v` of every channel after the ImageNet normalisation, in float32 as the model's input. */
function normalisedPixel(v: number): number[] {
  return IMAGENET_MEAN.map((mean, c) =>
    Math.fround(Math.fround(v - Math.fround(mean)) / Math.fround(IMAGENET_STD[c]))
  );
}

/**
 * `EpsilonPlusFlat`: Flat at the first layer, ZPlus at the other convolutions, Epsilon at dense
 * layers.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EPSILON_PLUS_FLAT } from "./composites.ts";
 * const rules = EPSILON_PLUS_FLAT.rules();
 * assert([rules.first.name, rules.convolution.name, rules.dense.name].join() === "Flat,ZPlus,Epsilon");
 * ```
 */
export const EPSILON_PLUS_FLAT: Composite = {
  name: "EpsilonPlusFlat",
  rules: (options = {}) => ({
    first: flatRule(),
    convolution: zPlusRule(),
    dense: epsilonRule(options.epsilon ?? STABILIZER),
  }),
};

/**
 * `EpsilonGammaBox`: ZBox(low, high) at the first layer, Gamma(0.25) at the other convolutions,
 * Epsilon at dense layers. low / high default to a black / white pixel as the model sees it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EPSILON_GAMMA_BOX } from "./composites.ts";
 * const rules = EPSILON_GAMMA_BOX.rules();
 * assert([rules.first.name, rules.convolution.name, rules.dense.name].join() === "ZBox,Gamma,Epsilon");
 * ```
 */
export const EPSILON_GAMMA_BOX: Composite = {
  name: "EpsilonGammaBox",
  rules: (options = {}) => ({
    first: zBoxRule(options.low ?? normalisedPixel(0), options.high ?? normalisedPixel(1)),
    convolution: gammaRule(options.gamma ?? 0.25),
    dense: epsilonRule(options.epsilon ?? STABILIZER),
  }),
};

/** The rule names of the steps that are not linear layers, as Zennit's rule maps call them. */
const STEP_RULES = {
  norm: "Norm",
  pass: "Pass",
  gate: "Pass (gated input only)",
  gradient: "none (plain gradient)",
} as const;

/**
 * Which rule each layer of `graph` gets under `composite`: rule name → tfjs layer names, in
 * forward order, as Zennit's `lrp.rule_map` lists modules. A merged BatchNorm is listed under
 * `Pass` (the identity once merged); an explicit padding taken into its convolution is not listed
 * (it is no torch module).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../../backends/backend.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { relevanceGraph } from "./canonizers.ts";
 * import { EPSILON_PLUS_FLAT, ruleMap } from "./composites.ts";
 * await startBackend("cpu");
 * const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const map = ruleMap(relevanceGraph(model), EPSILON_PLUS_FLAT);
 * assert(map.Flat.join() === "conv1" && map.ZPlus.length === 19 && map.Epsilon.join() === "fc");
 * assert(map.Norm.length === 9 && map.Pass.includes("bn1"));
 * model.dispose();
 * ```
 */
export function ruleMap(graph: RelevanceGraph, composite: Composite): Record<string, string[]> {
  const rules = composite.rules();
  const map: Record<string, string[]> = {};
  const add = (rule: string, name: string) => (map[rule] ??= []).push(name);
  for (const step of graph.steps) {
    for (const layer of step.layers) {
      if (step.kind !== "linear") add(STEP_RULES[step.kind], layer.name);
      else if (layer.getClassName() === "BatchNormalization") add("Pass", layer.name);
      else if (layer.getClassName() === "ZeroPadding2D") continue;
      else add(rules[step.role!].name, layer.name);
    }
  }
  return map;
}
