/**
 * The layer-wise relevance propagation rules (Bach et al., "On Pixel-Wise Explanations for
 * Non-Linear Classifier Decisions by Layer-Wise Relevance Propagation", PLoS ONE 2015; Montavon
 * et al., "Layer-Wise Relevance Propagation: An Overview", 2019), each as a small function
 * mapping the relevance R at a layer's output to the relevance at its input, with the formulas
 * of Zennit 1.0 (Anders et al. 2021). Every rule is linear in R.
 *
 * A rule sees a linear layer as z = f(x; W) + b ({@link LinearLayer}); f^T(W) below is the
 * transpose of x ↦ f(x; W), computed as the vector-Jacobian product of f (the layer is linear,
 * so the point it is taken at does not matter). a+ = max(a, 0), a− = min(a, 0), W+/W− and b+/b−
 * the clamped weights and bias, stab(z) = z + 1e-6·sign(z) with sign(0) = +1.
 *
 * @module
 */
import { tf } from "../../deps.ts";

/** The stabiliser Zennit adds to every denominator, with the denominator's sign (+ for 0). */
export const STABILIZER = 1e-6;

/** A linear layer (convolution, depthwise convolution or dense) as the rules see it. */
export interface LinearLayer {
  /** The tfjs layer name (a torch module path). */
  name: string;
  /** The weights, BatchNorm merged in where a canonizer merged one. */
  kernel: tf.Tensor;
  /** The bias; undefined for a layer without one. */
  bias?: tf.Tensor1D;
  /** f(x; kernel) + bias with the layer's padding and strides; no bias when `bias` is absent. */
  apply(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor;
}

/** A rule for linear layers: the relevance at the input `a` from `relevance` at the output. */
export interface LinearRule {
  /** Zennit's class name of the rule (`Epsilon`, `ZPlus`, ...), as the rule maps list it. */
  readonly name: string;
  /** R_in for input activations `a` and output relevance `relevance`. */
  apply(layer: LinearLayer, a: tf.Tensor, relevance: tf.Tensor): tf.Tensor;
}

/**
 * stab(z) = z + ε·s with s = sign(z) and s = +1 where z = 0: Zennit's stabiliser, which keeps
 * a denominator away from 0 on its own side.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { stabilize } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const z = stabilize(tf.tensor1d([-2, 0, 3]), 0.5);
 * assert(z.dataSync().join() === "-2.5,0.5,3.5");
 * ```
 */
export function stabilize(z: tf.Tensor, epsilon = STABILIZER): tf.Tensor {
  return tf.tidy(() => {
    const sign = tf.sub(tf.mul(tf.cast(tf.greaterEqual(z, 0), "float32"), 2), 1);
    return tf.add(z, tf.mul(sign, epsilon));
  });
}

/** f^T(kernel)(q): the transpose of x ↦ f(x; kernel) applied to q, at an input shaped as `a`. */
function transposed(layer: LinearLayer, kernel: tf.Tensor, a: tf.Tensor, q: tf.Tensor): tf.Tensor {
  return tf.grad((x: tf.Tensor) => layer.apply(x, kernel))(a, q);
}

/** One term of a rule: input × f^T(kernel)(q). */
interface Term {
  input: tf.Tensor;
  kernel: tf.Tensor;
  q: tf.Tensor;
}

/** Σ input · f^T(kernel)(q) over the terms. */
function reduceTerms(layer: LinearLayer, terms: readonly Term[]): tf.Tensor {
  return terms.map(({ input, kernel, q }) => tf.mul(input, transposed(layer, kernel, input, q)))
    .reduce((sum, term) => tf.add(sum, term));
}

const positive = (t: tf.Tensor) => tf.relu(t);
const negative = (t: tf.Tensor) => tf.neg(tf.relu(tf.neg(t)));

/**
 * The ε rule: z = f(a; W) + b, R_in = a · f^T(W)(R / stab_ε(z)).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { epsilonRule, type LinearLayer } from "./rules.ts";
 * await tf.setBackend("cpu");
 * // One output, z = 1·1 + 2·1 = 3: each input gets its share a·w / z of R = 1.
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[1], [1]]),
 *   apply: (x, w, b) => b ? tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b) : tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * const [first, second] = epsilonRule(0).apply(layer, tf.tensor2d([[1, 2]]), tf.tensor2d([[1]])).dataSync();
 * assert(Math.abs(first - 1 / 3) < 1e-6 && Math.abs(second - 2 / 3) < 1e-6);
 * ```
 */
export function epsilonRule(epsilon = STABILIZER): LinearRule {
  return {
    name: "Epsilon",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const z = layer.apply(a, layer.kernel, layer.bias);
        const q = tf.div(relevance, stabilize(z, epsilon));
        return reduceTerms(layer, [{ input: a, kernel: layer.kernel, q }]);
      }),
  };
}

/**
 * The z⁺ rule: z = f(a+; W+) + b+ + f(a−; W−), R_in = a+ · f^T(W+)(q) + a− · f^T(W−)(q) with
 * q = R / stab(z): only the contributions that push the output up share its relevance.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { type LinearLayer, zPlusRule } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[1], [-1]]),
 *   apply: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * // The second input pushes the output down: all relevance goes to the first.
 * const r = zPlusRule().apply(layer, tf.tensor2d([[1, 2]]), tf.tensor2d([[1]]));
 * assert(Math.abs(r.dataSync()[0] - 1) < 1e-5 && r.dataSync()[1] === 0);
 * ```
 */
export function zPlusRule(): LinearRule {
  return {
    name: "ZPlus",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const [aPos, aNeg] = [positive(a), negative(a)];
        const [wPos, wNeg] = [positive(layer.kernel), negative(layer.kernel)];
        const z = tf.add(
          layer.apply(aPos, wPos, layer.bias && positive(layer.bias)),
          layer.apply(aNeg, wNeg),
        );
        const q = tf.div(relevance, stabilize(z));
        return reduceTerms(layer, [
          { input: aPos, kernel: wPos, q },
          { input: aNeg, kernel: wNeg, q },
        ]);
      }),
  };
}

/**
 * The αβ rule (α − β = 1 conserves relevance): positive contributions z⁺ = f(a+; W+) +
 * f(a−; W−) + b+ and negative ones z⁻ = f(a+; W−) + f(a−; W+) + b− are normalised separately;
 * R_in = α (a+ f^T(W+) + a− f^T(W−))(R / stab(z⁺)) − β (a+ f^T(W−) + a− f^T(W+))(R / stab(z⁻)).
 * The bias is split by its sign, as in Bach et al.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { alphaBetaRule, type LinearLayer } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[1], [-1]]),
 *   apply: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * // Contributions +1 and −2: α·(1/1) for the first input, −β·(−2/−2) for the second.
 * const r = alphaBetaRule(2, 1).apply(layer, tf.tensor2d([[1, 2]]), tf.tensor2d([[1]]));
 * const [first, second] = r.dataSync();
 * assert(Math.abs(first - 2) < 1e-5 && Math.abs(second + 1) < 1e-5);
 * ```
 */
export function alphaBetaRule(alpha = 2, beta = 1): LinearRule {
  return {
    name: "AlphaBeta",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const [aPos, aNeg] = [positive(a), negative(a)];
        const [wPos, wNeg] = [positive(layer.kernel), negative(layer.kernel)];
        const [bPos, bNeg] = layer.bias
          ? [positive(layer.bias), negative(layer.bias)]
          : [undefined, undefined];
        const zUp = tf.add(layer.apply(aPos, wPos, bPos), layer.apply(aNeg, wNeg));
        const zDown = tf.add(layer.apply(aPos, wNeg, bNeg), layer.apply(aNeg, wPos));
        const qUp = tf.div(relevance, stabilize(zUp));
        const qDown = tf.div(relevance, stabilize(zDown));
        const up = reduceTerms(layer, [
          { input: aPos, kernel: wPos, q: qUp },
          { input: aNeg, kernel: wNeg, q: qUp },
        ]);
        const down = reduceTerms(layer, [
          { input: aPos, kernel: wNeg, q: qDown },
          { input: aNeg, kernel: wPos, q: qDown },
        ]);
        return tf.sub(tf.mul(up, alpha), tf.mul(down, beta));
      }),
  };
}

/**
 * The flat rule: input and weights replaced by ones, no bias: z = f(1; 1) (the receptive field's
 * size, padding not counted), R_in = f^T(1)(R / stab(z)), not multiplied by the input: each
 * output's relevance spread evenly over its receptive field.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { flatRule, type LinearLayer } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[5], [-3]]),
 *   apply: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * // Each input gets half, whatever its value and weight.
 * const r = flatRule().apply(layer, tf.tensor2d([[7, -1]]), tf.tensor2d([[1]])).dataSync();
 * assert(r.every((v) => Math.abs(v - 0.5) < 1e-6));
 * ```
 */
export function flatRule(): LinearRule {
  return {
    name: "Flat",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const [ones, kernelOnes] = [tf.onesLike(a), tf.onesLike(layer.kernel)];
        const q = tf.div(relevance, stabilize(layer.apply(ones, kernelOnes)));
        return transposed(layer, kernelOnes, ones, q);
      }),
  };
}

/** `values` (one per input channel, the last axis) broadcast to the shape of `a`. */
function perChannel(values: readonly number[], a: tf.Tensor): tf.Tensor {
  const channels = a.shape[a.rank - 1];
  if (values.length !== channels) {
    throw new Error(
      `zBoxRule: ${values.length} bounds for an input of ${channels} channels; give one per channel`,
    );
  }
  return tf.mul(tf.onesLike(a), tf.tensor1d(Float32Array.from(values)));
}

/**
 * The zᴮ (box) rule for inputs bounded by `low` ≤ x ≤ `high` (per input channel): z = f(a; W) + b
 * − f(L; W+) − b+ − f(H; W−) − b−, R_in = a · f^T(W)(q) − L · f^T(W+)(q) − H · f^T(W−)(q), q =
 * R / stab(z), with L and H the bounds broadcast to the input (padding pads them with 0 too).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { type LinearLayer, zBoxRule } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[1], [-1]]),
 *   apply: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * // z = (1 − 0.5) − 0 − (−1) = 1.5 and R_in = [1, 0.5] / 1.5: the rule conserves R.
 * const r = zBoxRule([0, 0], [1, 1]).apply(layer, tf.tensor2d([[1, 0.5]]), tf.tensor2d([[1]]));
 * assert(Math.abs(r.sum().dataSync()[0] - 1) < 1e-5);
 * ```
 */
export function zBoxRule(low: readonly number[], high: readonly number[]): LinearRule {
  return {
    name: "ZBox",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const [lowA, highA] = [perChannel(low, a), perChannel(high, a)];
        const [wPos, wNeg] = [positive(layer.kernel), negative(layer.kernel)];
        const [bPos, bNeg] = layer.bias
          ? [positive(layer.bias), negative(layer.bias)]
          : [undefined, undefined];
        const z = tf.sub(
          tf.sub(layer.apply(a, layer.kernel, layer.bias), layer.apply(lowA, wPos, bPos)),
          layer.apply(highA, wNeg, bNeg),
        );
        const q = tf.div(relevance, stabilize(z));
        const lowTerm = tf.mul(lowA, transposed(layer, wPos, lowA, q));
        const highTerm = tf.mul(highA, transposed(layer, wNeg, highA, q));
        const main = reduceTerms(layer, [{ input: a, kernel: layer.kernel, q }]);
        return tf.sub(tf.sub(main, lowTerm), highTerm);
      }),
  };
}

/**
 * The γ rule (Montavon et al. 2019): positive contributions enlarged by γ. With Wp = W + γW+
 * (bias b + γb+), Wn = W + γW− (bias b + γb−) and o = f(a; W) + b the layer's output:
 * zp = f(a+; Wp) + bp + f(a−; Wn), zn = f(a+; Wn) + bn + f(a−; Wp), qp = 1[o > 0] R / stab(zp),
 * qn = 1[o < 0] R / stab(zn), R_in = a+ (f^T(Wp)(qp) + f^T(Wn)(qn)) + a− (f^T(Wn)(qp) +
 * f^T(Wp)(qn)): Zennit 1.0's form, which treats outputs of either sign alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { gammaRule, type LinearLayer } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const layer: LinearLayer = {
 *   name: "fc",
 *   kernel: tf.tensor2d([[1], [-1]]),
 *   apply: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
 * };
 * // o = 3 − 1 > 0; zp = 3·1.25 − 1 = 2.75: shares 3.75/2.75 and −1/2.75.
 * const r = gammaRule(0.25).apply(layer, tf.tensor2d([[3, 1]]), tf.tensor2d([[1]]));
 * const [first, second] = r.dataSync();
 * assert(Math.abs(first - 3.75 / 2.75) < 1e-5 && Math.abs(second + 1 / 2.75) < 1e-5);
 * ```
 */
export function gammaRule(gamma = 0.25): LinearRule {
  return {
    name: "Gamma",
    apply: (layer, a, relevance) =>
      tf.tidy(() => {
        const [aPos, aNeg] = [positive(a), negative(a)];
        const { kernel, bias } = layer;
        const wUp = tf.add(kernel, tf.mul(positive(kernel), gamma));
        const wDown = tf.add(kernel, tf.mul(negative(kernel), gamma));
        const [bUp, bDown] = bias
          ? [
            tf.add(bias, tf.mul(positive(bias), gamma)),
            tf.add(bias, tf.mul(negative(bias), gamma)),
          ]
          : [undefined, undefined];
        const o = layer.apply(a, kernel, bias);
        const zUp = tf.add(layer.apply(aPos, wUp, bUp), layer.apply(aNeg, wDown));
        const zDown = tf.add(layer.apply(aPos, wDown, bDown), layer.apply(aNeg, wUp));
        const qUp = tf.div(tf.mul(relevance, tf.cast(tf.greater(o, 0), "float32")), stabilize(zUp));
        const qDown = tf.div(
          tf.mul(relevance, tf.cast(tf.less(o, 0), "float32")),
          stabilize(zDown),
        );
        return reduceTerms(layer, [
          { input: aPos, kernel: wUp, q: qUp },
          { input: aNeg, kernel: wDown, q: qUp },
          { input: aPos, kernel: wDown, q: qDown },
          { input: aNeg, kernel: wUp, q: qDown },
        ]);
      }),
  };
}

/**
 * The Norm rule for sums (residual additions) and average pooling: each input gets its share
 * a_i / stab(output) of the output's relevance, R_in = a · (d output / d a)^T (R / stab(output)).
 * `apply` is the sum or pooling of `inputs`; returns one relevance per input.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { normRule } from "./rules.ts";
 * await tf.setBackend("cpu");
 * const [x, y] = [tf.tensor1d([1]), tf.tensor1d([3])];
 * const [rx, ry] = normRule((a, b) => tf.add(a, b), [x, y], tf.tensor1d([2]));
 * assert(Math.abs(rx.dataSync()[0] - 0.5) < 1e-5 && Math.abs(ry.dataSync()[0] - 1.5) < 1e-5);
 * ```
 */
export function normRule(
  apply: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: readonly tf.Tensor[],
  relevance: tf.Tensor,
): tf.Tensor[] {
  return tf.tidy(() => {
    const q = tf.div(relevance, stabilize(apply(...inputs)));
    const shares = tf.grads((...xs: tf.Tensor[]) => apply(...xs))([...inputs], q);
    return shares.map((share, i) => tf.mul(inputs[i], share));
  });
}
