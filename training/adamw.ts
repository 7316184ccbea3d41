/**
 * AdamW with PyTorch's semantics (`torch.optim.AdamW`, non-amsgrad), over tfjs variables.
 *
 * tfjs ships Adam but no AdamW, and its Adam folds weight decay into the gradient (L2), which
 * is not what the reference trains with. Per step `t`, for every parameter `p` with gradient
 * `g` (PyTorch's order of operations):
 *
 * ```text
 * p ← p · (1 − lr·wd)                      decoupled weight decay, applied to every parameter
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 * ```
 *
 * The bias corrections are computed in float64 (as Python does) and applied as float32.
 *
 * @module
 */
import { tf } from "../deps.ts";

/** Hyper-parameters; the defaults are PyTorch's except `weightDecay`, which is the reference's. */
export interface AdamWOptions {
  learningRate: number;
  /** Decoupled weight decay (PyTorch default 1e-2; the reference passes 1e-4). */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** The optimizer's state, as plain arrays (saved with a resumable checkpoint). */
export interface AdamWState {
  /** Steps taken so far (PyTorch's `state["step"]`). */
  step: number;
  /** First moments, one per variable, in variable order. */
  m: Float32Array[];
  /** Second moments, one per variable, in variable order. */
  v: Float32Array[];
}

/**
 * AdamW over a fixed list of variables (e.g. a model's trainable weights).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { AdamW } from "./adamw.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const optimizer = new AdamW([w], { learningRate: 0.1, weightDecay: 0 });
 * optimizer.applyGradients([tf.tensor1d([0.5, -0.5])]);
 * // The first Adam step moves every weight by lr against its gradient's sign.
 * const [a, b] = w.dataSync();
 * assert(Math.abs(a - 0.9) < 1e-6 && Math.abs(b + 1.9) < 1e-6);
 * optimizer.dispose();
 * ```
 */
export class AdamW {
  readonly variables: readonly tf.Variable[];
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  #step = 0;
  #m: tf.Variable[];
  #v: tf.Variable[];

  /** @param variables the parameters to update, in a fixed order (the state follows it). */
  constructor(variables: readonly tf.Variable[], options: AdamWOptions) {
    this.variables = variables;
    this.learningRate = options.learningRate;
    this.weightDecay = options.weightDecay;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.#m = variables.map((p) => tf.variable(tf.zerosLike(p), false));
    this.#v = variables.map((p) => tf.variable(tf.zerosLike(p), false));
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /**
   * One update with `grads[i]` for `variables[i]`; `learningRate` overrides the base rate
   * (a scheduler's value for this epoch).
   */
  applyGradients(grads: readonly tf.Tensor[], learningRate = this.learningRate): void {
    if (grads.length !== this.variables.length) {
      throw new RangeError(
        `AdamW: got ${grads.length} gradients for ${this.variables.length} variables`,
      );
    }
    this.#step++;
    const biasCorrection1 = 1 - this.beta1 ** this.#step;
    const biasCorrection2Sqrt = Math.sqrt(1 - this.beta2 ** this.#step);
    const stepSize = learningRate / biasCorrection1;
    tf.tidy(() => {
      const decay = tf.scalar(1 - learningRate * this.weightDecay);
      const beta1 = tf.scalar(this.beta1), oneMinusBeta1 = tf.scalar(1 - this.beta1);
      const beta2 = tf.scalar(this.beta2), oneMinusBeta2 = tf.scalar(1 - this.beta2);
      const correction2 = tf.scalar(biasCorrection2Sqrt), epsilon = tf.scalar(this.epsilon);
      const negativeStep = tf.scalar(-stepSize);
      this.variables.forEach((p, i) => {
        const g = grads[i];
        const m = this.#m[i], v = this.#v[i];
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, oneMinusBeta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), oneMinusBeta2)));
        const denominator = tf.add(tf.div(tf.sqrt(v), correction2), epsilon);
        const decayed = tf.mul(p, decay);
        p.assign(tf.add(decayed, tf.mul(tf.div(m, denominator), negativeStep)));
      });
    });
  }

  /** The state as plain arrays. */
  async exportState(): Promise<AdamWState> {
    const read = (list: tf.Variable[]) =>
      Promise.all(list.map(async (t) => new Float32Array(await t.data())));
    return { step: this.#step, m: await read(this.#m), v: await read(this.#v) };
  }

  /** Restores a state written by {@link AdamW.exportState} for the same variables. */
  importState(state: AdamWState): void {
    const restore = (target: tf.Variable[], source: Float32Array[], name: string) => {
      if (source.length !== target.length) {
        throw new RangeError(
          `AdamW: state has ${source.length} ${name} arrays, need ${target.length}`,
        );
      }
      target.forEach((t, i) => {
        if (source[i].length !== t.size) {
          throw new RangeError(
            `AdamW: ${name}[${i}] has ${source[i].length} values, need ${t.size}`,
          );
        }
        tf.tidy(() => t.assign(tf.tensor(source[i], t.shape, "float32")));
      });
    };
    restore(this.#m, state.m, "m");
    restore(this.#v, state.v, "v");
    this.#step = state.step;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }
}
