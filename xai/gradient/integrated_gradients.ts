/**
 * Integrated Gradients (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
 * Networks", ICML 2017): for input x, baseline x' and the target logit F,
 * IG_i(x) = (x_i − x'_i) · ∫₀¹ ∂F(x' + α (x − x')) / ∂x_i dα, approximated with m = `nSteps`
 * points α_k and weights as Captum's `IntegratedGradients` does (`xai/gradient/quadrature.ts`). All
 * steps of all images go through the model `internalBatchSize` rows at a time. Where the backend
 * accelerates the path (`IG_PATH`: on webgpu the WGSL kernels of `xai/kernels/ig_path.ts`, on
 * tfjs's GPU buffers, equal to `xai/kernels/ig_path_reference.ts`), the path points and the
 * accumulation are its. Elsewhere they are tfjs ops, and the path starts after the model's affine
 * prefix (`graph/affine_prefix.ts`): the stem's convolution runs forward twice per image instead
 * of once per step, and back once. Given MPRT's `reuse` cache, the path rows' values in the
 * layers no randomisation step changed are kept from the first step on, and later steps run only
 * the changed layers forward (`ForwardCache.rows`, `graph/cached_backward.ts`).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { AffinePrefix } from "../../graph/affine_prefix.ts";
import { heapBudgetBytes } from "../../backends/heap.ts";
import { passBytes, rowsWithinBudget } from "../../graph/footprint.ts";
import { IG_PATH } from "../kernels/ig_path.ts";
import { type Baseline, type BaselineOptions, makeBaselineNHWC } from "./baselines.ts";
import { sumGradientsOverRows } from "./batched_gradients.ts";
import { convergenceDelta } from "./convergence_delta.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inputAttribution,
  requireInteger,
} from "../explainer.ts";
import { type IgMethod, pathQuadrature } from "./quadrature.ts";

/** Options of {@link INTEGRATED_GRADIENTS}. */
export interface IntegratedGradientsOptions extends ExplainOptions, BaselineOptions {
  /** x': `zero` (the default, Captum's), `black`, `blurred`, `uniform` or an NHWC array. */
  baseline?: Baseline;
  /** m, the number of points on the path; default 50 (Captum's). */
  nSteps?: number;
  /** The quadrature rule; default `gausslegendre` (Captum's). */
  method?: IgMethod;
  /**
   * Model inputs per forward/backward pass; default 16 (Captum's), or fewer where the model's
   * gradient pass would not fit the heap budget (`graph/footprint.ts`). Used as given when set.
   * Only the summation order depends on it.
   */
  internalBatchSize?: number;
}

/**
 * Path rows start..end − 1 in tfjs ops: row r is b + alpha_k (x − b) for step k = floor(r / N)
 * of image r mod N, as PyTorch evaluates it in float32. Built from one slice per step (a
 * `gather` of the rows is 20x slower on wasm, seconds per chunk on a stem's output).
 */
function scaledInputRows(
  baselineNHWC: tf.Tensor4D,
  differenceNHWC: tf.Tensor4D,
  alphasF32: Float32Array,
  start: number,
  end: number,
): tf.Tensor4D {
  const batch = baselineNHWC.shape[0];
  const pieces: tf.Tensor4D[] = [];
  for (let row = start; row < end;) {
    const [step, image] = [Math.floor(row / batch), row % batch];
    const count = Math.min(batch - image, end - row);
    const take = (t: tf.Tensor4D) => tf.slice(t, [image, 0, 0, 0], [count, -1, -1, -1]);
    pieces.push(tf.add(take(baselineNHWC), tf.mul(take(differenceNHWC), alphasF32[step])));
    row += count;
  }
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces);
}

/**
 * Integrated Gradients. `attributionsNHWC` (with `keepChannels`) is Captum's attribution; the
 * map is its channel sum; `convergenceDelta` is Captum's delta.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { INTEGRATED_GRADIENTS } from "./integrated_gradients.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await INTEGRATED_GRADIENTS.explain(model, x, Int32Array.from([1]), { nSteps: 8 });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.convergenceDelta?.length === 1);
 * model.dispose();
 * ```
 */
export const INTEGRATED_GRADIENTS: Explainer<IntegratedGradientsOptions> = {
  name: "integrated_gradients",
  description: "Integrated Gradients (Sundararajan et al. 2017): gradients integrated along " +
    "the straight path from a baseline",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: IntegratedGradientsOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const { alphas, stepSizes } = pathQuadrature(
      options.method ?? "gausslegendre",
      options.nSteps ?? 50,
    );
    const internalBatchSize = requireInteger(
      this.name,
      "internalBatchSize",
      options.internalBatchSize ?? rowsWithinBudget(model, "gradient", 16),
      1,
    );
    const baselineNHWC = tf.tensor4d(
      makeBaselineNHWC(
        options.baseline ?? "zero",
        await xNHWC.data() as Float32Array,
        xNHWC.shape,
        options,
      ),
      xNHWC.shape,
    );
    const rows = { copies: alphas.length, internalBatchSize, weight: (k: number) => stepSizes[k] };
    const path = IG_PATH.implementation();
    const attributionsNHWC = path
      ? sumGradientsOverRows(model, targets, xNHWC.shape, {
        ...rows,
        makeRows: (start, end) => path.scaledInputs(xNHWC, baselineNHWC, alphas, start, end),
        // Adds (x − b) · stepSize_k · g: the sum is the attribution.
        accumulate: (sum, gradients, start) =>
          path.accumulate(sum, gradients, xNHWC, baselineNHWC, stepSizes, start),
      })
      : tf.tidy(() => {
        // With an affine prefix P the path runs from P(b) to P(x) and the summed gradient goes
        // back through P once (module doc of `graph/affine_prefix.ts`).
        const prefix = AffinePrefix.of(model);
        const [endX, endB] = prefix
          ? tf.split(prefix.apply(tf.concat([xNHWC, baselineNHWC])), 2) as tf.Tensor4D[]
          : [xNHWC, baselineNHWC];
        const alphasF32 = Float32Array.from(alphas);
        const difference = tf.sub(endX, endB) as tf.Tensor4D;
        const from = prefix?.output ?? model.inputs[0];
        // MPRT (`reuse`): the path rows are the same at every randomisation step, so the
        // unchanged model's values on them are kept, in what the budget leaves beside a chunk's
        // gradient pass, and the layers below the randomised ones run no forward pass again.
        const reuse = options.reuse;
        const keepBytes = heapBudgetBytes() -
          (passBytes(model, "gradient", internalBatchSize) ?? Infinity);
        const integral = sumGradientsOverRows(model, targets, endX.shape, {
          ...rows,
          from: prefix?.output,
          makeRows: (start, end) => scaledInputRows(endB, difference, alphasF32, start, end),
          reuse: reuse &&
            ((made, start, end) =>
              reuse.rows(`${this.name} ${start}-${end}`, from, made, keepBytes)),
        });
        const inputIntegral = prefix ? prefix.transpose(integral, xNHWC.shape) : integral;
        return tf.mul(inputIntegral, tf.sub(xNHWC, baselineNHWC)) as tf.Tensor4D;
      });
    try {
      const delta = await convergenceDelta(model, xNHWC, baselineNHWC, targets, attributionsNHWC);
      const attribution = await inputAttribution(this.name, attributionsNHWC, options);
      return { ...attribution, convergenceDelta: delta };
    } finally {
      tf.dispose([baselineNHWC, attributionsNHWC]);
    }
  },
};
