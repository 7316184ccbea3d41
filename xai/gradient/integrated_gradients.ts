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
 * the changed layers forward (`ForwardCache.rows`, `graph/cached_backward.ts`). For that it
 * takes chunks small enough that all of an image's rows fit the heap budget beside one, and tells
 * MPRT how many images to cascade at a time ({@link keptPathRowsPlan}): on resnet18 at 224 px the
 * default 2,560 MB budget keeps 32 of 50 rows beside a chunk of 16, all 50 beside chunks of 13
 * (13, 13, 13, 11: as many passes). Without it, a batch of 8 images (400 rows) kept 32.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { AffinePrefix } from "../../graph/affine_prefix.ts";
import { heapBudgetBytes } from "../../backends/heap.ts";
import { passBytes, rowsWithinBudget } from "../../graph/footprint.ts";
import { ForwardCache } from "../../graph/input_gradients.ts";
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
 * The smallest chunk {@link keptPathRowsPlan} takes to keep all of an image's path rows: below
 * it, the extra passes' fixed costs (about a hundred kernel calls each) outweigh what keeping
 * saves.
 */
const MIN_KEEPING_CHUNK = 4;

/** The default chunk of path rows: Captum's `internal_batch_size`, 16. */
const DEFAULT_CHUNK = 16;

/**
 * How Integrated Gradients runs under MPRT's `reuse` cache (`ForwardCache.rows`), for `nSteps`
 * path rows per image and the heap budget: the rows per pass (the largest chunk up to the usual
 * one, {@link rowsWithinBudget} of 16, that leaves room for all of one image's rows beside it,
 * down to {@link MIN_KEEPING_CHUNK}) and how many images' rows that room keeps (MPRT cascades that
 * many at a time). Where no such chunk leaves room: the usual chunk and one image, of whose rows
 * as many as fit are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { keptPathRowsPlan } from "./integrated_gradients.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [32, 32, 3] });
 * const h = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: "relu" }).apply(x);
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * // Plenty of room: the usual 16 rows per pass, many images at a time.
 * const roomy = keptPathRowsPlan(model, 50, 2 ** 30);
 * assert(roomy.internalBatchSize === 16 && roomy.images > 8);
 * // 3 MB: smaller chunks so that one image's 50 rows (25 KB each) fit beside them.
 * const tight = keptPathRowsPlan(model, 50, 3e6);
 * assert(tight.internalBatchSize < 16 && tight.images === 1);
 * ```
 */
export function keptPathRowsPlan(
  model: tf.LayersModel,
  nSteps: number,
  budgetBytes: number = heapBudgetBytes(),
): { internalBatchSize: number; images: number } {
  const usual = rowsWithinBudget(model, "gradient", DEFAULT_CHUNK, budgetBytes);
  const from = AffinePrefix.of(model)?.output ?? model.inputs[0];
  const imageBytes = nSteps * (ForwardCache.keptBytesPerRow(model, from) ?? NaN);
  for (let chunk = usual; chunk >= Math.min(usual, MIN_KEEPING_CHUNK); chunk--) {
    const room = budgetBytes - (passBytes(model, "gradient", chunk) ?? NaN);
    if (room >= imageBytes) {
      return { internalBatchSize: chunk, images: Math.floor(room / imageBytes) };
    }
  }
  return { internalBatchSize: usual, images: 1 };
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
 * // MPRT's image groups: at 32 px the default budget keeps many images' path rows.
 * assert(INTEGRATED_GRADIENTS.imagesPerCascade!(model) > 1);
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
    const nSteps = options.nSteps ?? 50;
    const { alphas, stepSizes } = pathQuadrature(options.method ?? "gausslegendre", nSteps);
    const internalBatchSize = requireInteger(
      this.name,
      "internalBatchSize",
      options.internalBatchSize ??
        (options.reuse
          ? keptPathRowsPlan(model, nSteps).internalBatchSize
          : rowsWithinBudget(model, "gradient", DEFAULT_CHUNK)),
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
  imagesPerCascade(model: tf.LayersModel, options: IntegratedGradientsOptions = {}): number {
    // The accelerated path keeps no rows: the whole batch at once.
    if (IG_PATH.implementation()) return Infinity;
    return keptPathRowsPlan(model, options.nSteps ?? 50).images;
  },
};
