/**
 * The points alpha_k along the straight path and the weights (step sizes) with which
 * Integrated Gradients sums the gradients there: Captum's `approximation_methods`.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";

/** Captum's approximation methods for the path integral. */
export const IG_METHODS = [
  "riemann_left",
  "riemann_right",
  "riemann_middle",
  "riemann_trapezoid",
  "gausslegendre",
] as const;

/** One of {@link IG_METHODS}. */
export type IgMethod = typeof IG_METHODS[number];

/** Where along the path the gradient is taken, and with what weight. */
export interface PathQuadrature {
  /** alpha_k in [0, 1], float64 (the model sees them rounded to float32, as in PyTorch). */
  alphas: Float64Array;
  /** The weights, rounded to float32 as Captum does before multiplying. */
  stepSizes: Float32Array;
}

/**
 * The n-point Gauss-Legendre nodes t_k (ascending) and weights w_k on [-1, 1], by Newton's
 * iteration on the Legendre recurrence in float64, symmetrised and with the weights scaled to
 * sum to 2 as numpy's `leggauss` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gaussLegendre } from "./quadrature.ts";
 * const { nodes, weights } = gaussLegendre(2);
 * assert(Math.abs(nodes[1] - 1 / Math.sqrt(3)) < 1e-15 && weights[0] === 1);
 * ```
 */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Tricomi's estimate of the i-th largest root, then Newton to convergence.
    let t = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let [previous, current] = [1, t];
      for (let k = 2; k <= n; k++) {
        [previous, current] = [current, ((2 * k - 1) * t * current - (k - 1) * previous) / k];
      }
      derivative = (n * (t * current - previous)) / (t * t - 1);
      const delta = current / derivative;
      t -= delta;
      if (Math.abs(delta) <= 1e-15) break;
    }
    nodes[n - 1 - i] = t;
    weights[n - 1 - i] = 2 / ((1 - t * t) * derivative * derivative);
  }
  const symmetric = nodes.map((t, k) => (t - nodes[n - 1 - k]) / 2);
  const averaged = weights.map((w, k) => (w + weights[n - 1 - k]) / 2);
  const total = averaged.reduce((a, b) => a + b, 0);
  return { nodes: symmetric, weights: averaged.map((w) => (w * 2) / total) };
}

/**
 * Captum's alphas and step sizes for `nSteps` points: the Riemann rules on
 * `torch.linspace` grids (float32 values; PyTorch's vectorised kernel rounds a few of them one
 * ulp differently) with weights 1/n (the trapezoid halves the first and last, as Captum does),
 * or Gauss-Legendre with alpha = (1 + t_k) / 2 and weight w_k / 2.
 *
 * @throws {InputError} for an unknown method or a step count below 1 (2 for Riemann rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pathQuadrature } from "./quadrature.ts";
 * const { alphas, stepSizes } = pathQuadrature("riemann_trapezoid", 3);
 * assert(alphas.join() === "0,0.5,1" && stepSizes.join() === `${Math.fround(1 / 6)},${Math.fround(1 / 3)},${Math.fround(1 / 6)}`);
 * ```
 */
export function pathQuadrature(method: IgMethod, nSteps: number): PathQuadrature {
  if (!IG_METHODS.includes(method)) {
    throw new InputError(
      `integrated_gradients: unknown method "${method}"; choose one of ${IG_METHODS.join(", ")}`,
    );
  }
  const minSteps = method === "gausslegendre" ? 1 : 2;
  if (!Number.isInteger(nSteps) || nSteps < minSteps) {
    throw new InputError(
      `integrated_gradients: nSteps must be an integer >= ${minSteps} for ${method}, got ${nSteps}`,
    );
  }
  if (method === "gausslegendre") {
    const { nodes, weights } = gaussLegendre(nSteps);
    return {
      alphas: nodes.map((t) => 0.5 * (1 + t)),
      stepSizes: Float32Array.from(weights, (w) => 0.5 * w),
    };
  }
  const n = nSteps;
  const [start, end] = {
    riemann_left: [0, 1 - 1 / n],
    riemann_right: [1 / n, 1],
    riemann_middle: [1 / (2 * n), 1 - 1 / (2 * n)],
    riemann_trapezoid: [0, 1],
  }[method];
  const alphas = Float64Array.from(
    { length: n },
    (_, k) => Math.fround(start + (k * (end - start)) / (n - 1)),
  );
  const stepSizes = new Float32Array(n).fill(1 / n);
  if (method === "riemann_trapezoid") {
    stepSizes[0] /= 2;
    stepSizes[n - 1] /= 2;
  }
  return { alphas, stepSizes };
}
