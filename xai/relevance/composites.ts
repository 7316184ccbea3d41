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
import type { LinearRole } from "./canonizers.ts";
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
