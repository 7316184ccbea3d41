/**
 * The one shape every explanation metric has: a definition (name, category, which direction is
 * better, paper, defaults) and an `evaluate` that turns a batch of inputs, targets and
 * attributions into one score per image — NaN with a reason where the score is undefined — and
 * {@link defineMetric}, which builds that `evaluate` around a metric's own scoring.
 *
 * Layouts: inputs are NHWC; attributions and masks are one value per pixel, NHW (Quantus's
 * `[N, 1, H, W]` holds the same numbers). Perturbing pixel p perturbs every channel of p, as
 * Quantus does when the attribution has fewer channels than the input.
 *
 * Adding a metric: write `metrics/<category>/<name>.ts` exporting `defineMetric({ ... })` with
 * the definition's fields (names, paper, `needs`, `defaults`, `fromQuantus`, `toQuantus`) and
 * `score(context, prepared, params)`, the paper's formula. {@link defineMetric} builds the
 * `evaluate` every metric shares: it checks the batch against `needs` and prepares the
 * attributions (normalise, then abs, as the params ask), so `score` reads each image's map as
 * `prepared.map(i)`. `prepared.batch` still holds the unprepared maps; maps the metric makes
 * itself (re-explanations) it prepares explicitly with `prepareAttributions`. An invalid
 * parameter throws an InputError that names it; an image whose score is undefined gets NaN and
 * a reason ({@link scorePerImage}, {@link scoreEachMap}). Then append the metric to `METRICS` in
 * `registry.ts` and test it, against a Quantus fixture where Quantus has the metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { InputError } from "../core/errors.ts";
 * import { SeededDraws } from "./functions/draws.ts";
 * import { commonFromQuantus, type CommonParams, defineMetric, scoreEachMap } from "./metric.ts";
 *
 * interface TopShareParams extends CommonParams {
 *   k: number; // how many of the largest attributions count
 * }
 * // The share of the attribution mass held by the k largest attributions.
 * const TOP_SHARE = defineMetric<TopShareParams>({
 *   name: "top_share",
 *   quantusName: "TopShare",
 *   category: "complexity",
 *   direction: "higher",
 *   paper: "an example without a paper",
 *   description: "Share of the attribution mass held by the k largest attributions",
 *   needs: [],
 *   defaults: { abs: true, normalise: true, softmax: false, quantusCompat: false, k: 1 },
 *   fromQuantus: (init, call) => ({ ...commonFromQuantus(init, call), k: Number(init.k ?? 1) }),
 *   score(_context, prepared, params) {
 *     if (!Number.isInteger(params.k) || params.k < 1) {
 *       throw new InputError(`${this.name}: k ${params.k} must be an integer >= 1`);
 *     }
 *     return scoreEachMap(prepared, (map) => {
 *       const total = map.reduce((sum, v) => sum + v, 0);
 *       if (total === 0) return { score: NaN, reason: "the map is all zero: no mass to share" };
 *       const top = map.slice().sort().reverse().subarray(0, params.k);
 *       return top.reduce((sum, v) => sum + v, 0) / total;
 *     });
 *   },
 *   toQuantus: (result) => Array.from(result.scores),
 * });
 *
 * const batch = {
 *   xNHWC: new Float32Array(8), shapeNHWC: [2, 2, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(-2, 1, 1, 0, 0, 0, 0, 0),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await TOP_SHARE.evaluate(context, batch, TOP_SHARE.defaults);
 * // Image 0 prepared: |[-2, 1, 1, 0] / 2| = [1, 0.5, 0.5, 0], so the top pixel holds 1 of 2.
 * assert(r.scores[0] === 0.5 && Number.isNaN(r.scores[1]) && r.reasons[1] !== undefined);
 * assert(batch.attributionsNHW[0] === -2); // the caller's maps are never modified
 * const k0 = { ...TOP_SHARE.defaults, k: 0 };
 * await assert.rejects(TOP_SHARE.evaluate(context, batch, k0), InputError);
 * await assert.rejects(
 *   TOP_SHARE.evaluate(context, { ...batch, targets: Int32Array.of(0) }, TOP_SHARE.defaults),
 *   InputError,
 * );
 * ```
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { ForwardCache } from "../graph/input_gradients.ts";
import type { Draws } from "./functions/draws.ts";
import type { LayerRandomiser } from "./randomisation/layer_randomisation.ts";
import type { MetricModel } from "./metric_model.ts";
import { type NormaliseParams, prepareAttributions } from "./functions/normalise.ts";

/** The families of Quantus's taxonomy. */
export type MetricCategory =
  | "faithfulness"
  | "robustness"
  | "localisation"
  | "complexity"
  | "randomisation"
  | "axiomatic";

/** Which scores are better: tables and charts orient every axis by it. */
export type ScoreDirection = "higher" | "lower";

/** A batch as metrics read it. Metrics never modify any of these arrays. */
export interface MetricBatch {
  /** [N, H, W, C] model inputs, already normalised as the model expects. */
  xNHWC: Float32Array;
  shapeNHWC: readonly [number, number, number, number];
  /** [N] the class each attribution explains (Quantus's `y_batch`). */
  targets: Int32Array;
  /** [N, H, W] one attribution per pixel (Quantus's `a_batch`). */
  attributionsNHW: Float32Array;
  /** [N, H, W] ground-truth evidence masks, 1 inside (Quantus's `s_batch`); localisation only. */
  masksNHW?: Uint8Array;
  /**
   * [N, 4] for 2x2 mosaics (Focus): per image its top-left, top-right, bottom-left and
   * bottom-right quadrant, 1 where that quadrant holds an image of the target class (Quantus's
   * `custom_batch`).
   */
  mosaicQuadrantsN4?: Uint8Array;
}

/**
 * Re-explains inputs with the method under evaluation (robustness and randomisation metrics):
 * [N, H, W] maps for `xNHWC` and `targets`, computed on `model`. The inputs come as values or
 * as a tensor already on the backend (perturbed copies a kernel built), which stays the
 * caller's. `reuse`, when given, holds `xNHWC` as a tensor and the activations of an unchanged
 * copy of `model` on it (MPRT); an explain function may use them or ignore them, but must give
 * the same maps either way.
 */
export type ExplainFunction = {
  (
    model: tf.LayersModel,
    xNHWC: Float32Array | tf.Tensor4D,
    shapeNHWC: readonly [number, number, number, number],
    targets: Int32Array,
    reuse?: ForwardCache,
  ): Promise<Float32Array>;
  /**
   * How many images MPRT re-explains at a time (one cascade of randomised models per group) so
   * that the method's `reuse` rows all fit the heap budget (Integrated Gradients:
   * `Explainer.imagesPerCascade`); absent: the whole batch at once.
   */
  imagesPerCascade?: (model: tf.LayersModel) => number;
};

/**
 * The order of one image's attribution values: pixel indices sorted by value, descending or
 * ascending. The default is a stable sort (equal values keep pixel order); a Quantus replay passes
 * numpy's recorded orders, since numpy's sort is not stable.
 */
export type RankOrder = (
  sample: number,
  valuesHW: Float32Array,
  direction: "descending" | "ascending",
) => Int32Array;

/**
 * Superpixels of one image for segment-based metrics (IROF): [H, W] labels, one per pixel.
 * A parity replay passes the segments Quantus's SLIC produced.
 */
export type Segmenter = (
  sample: number,
  imageHWC: Float32Array,
  shapeHWC: readonly [number, number, number],
) => Int32Array;

/** What a metric may use besides the batch. */
export interface MetricContext {
  /** The classifier, with logits as outputs. */
  model: MetricModel;
  /** Needed by metrics that re-explain perturbed inputs or randomised models. */
  explain?: ExplainFunction;
  /** Every random draw goes through here: seeded by default, replayed in parity tests. */
  draws: Draws;
  /** Sort order of attributions; defaults to {@link stableRankOrder}. */
  rankOrder?: RankOrder;
  /** Superpixels for segment-based metrics; each metric documents its fallback. */
  segment?: Segmenter;
  /**
   * How randomisation metrics re-initialise a layer; defaults to PyTorch's `reset_parameters`
   * rule (`torchLikeReset`). Parity tests load the parameters Quantus drew instead.
   */
  randomiseLayer?: LayerRandomiser;
}

/** A metric's answer for one batch. */
export interface MetricResult {
  /** [N] the score of each image, the number tables show; NaN where undefined. */
  scores: Float64Array;
  /** [N] why `scores[i]` is NaN (undefined where it is a number). */
  reasons: (string | undefined)[];
  /** Per-image curves the score summarises (perturbation curves), when the metric has them. */
  curves?: Float64Array[];
  /** Named per-image series (MPRT's per-layer correlations, ROAD's per-percentage results). */
  series?: Record<string, Float64Array>;
}

/** Parameters every metric has, as in Quantus's base class (`abs`, `normalise` and more). */
export interface CommonParams extends NormaliseParams {
  /** Score model outputs as softmax probabilities instead of logits. */
  softmax: boolean;
  /**
   * Reproduce Quantus 0.6.0 where it has a defect (docs/metrics.md, "Differences from Quantus 0.6.0"), e.g.
   * normalising by the largest |a| of the whole batch instead of each image's. Default false.
   */
  quantusCompat: boolean;
}

/** Everything about a metric except how to run it. */
export interface MetricInfo {
  /** Registry name, snake_case (`faithfulness_correlation`): `--metrics` and CSV columns. */
  readonly name: string;
  /** Quantus's class name (`FaithfulnessCorrelation`): labels and parity fixtures. */
  readonly quantusName: string;
  readonly category: MetricCategory;
  readonly direction: ScoreDirection;
  /** Authors, year and title of the paper that defines it. */
  readonly paper: string;
  /** One line for `--help`. */
  readonly description: string;
  /**
   * What the metric needs beyond x, y and a. `mosaics`: the batch is 2x2 mosaics with
   * `mosaicQuadrantsN4` (Focus), which a pipeline builds from the test split
   * (`metrics/functions/mosaics.ts`); the metric itself gives NaN without them.
   */
  readonly needs: readonly ("model" | "explain" | "masks" | "mosaics")[];
}

/** A metric: its description, defaults and evaluation. */
export interface MetricDefinition<P extends CommonParams = CommonParams> extends MetricInfo {
  /** The parameters in force when none are given (the reference pipeline's where it sets them). */
  readonly defaults: P;
  /**
   * Parameters from Quantus's constructor and call arguments (`init_effective`/`call_effective`
   * of a parity fixture, or a Quantus script's settings), with `quantusCompat` on.
   *
   * @throws {InputError} for a setting Quantus accepts that this metric does not support.
   */
  fromQuantus(init: Record<string, unknown>, call: Record<string, unknown>): P;
  /** Scores one batch. One image's failure gives that image NaN and a reason, never a throw. */
  evaluate(context: MetricContext, batch: MetricBatch, params: P): Promise<MetricResult>;
  /**
   * The structure Quantus's `__call__` returns for this result (a list per sample, nested
   * curves, a dict), so parity tests and users porting Quantus scripts compare like with like.
   */
  toQuantus(result: MetricResult, params: P): unknown;
}

/**
 * A batch as a metric scores it: the attributions prepared once (normalised and made absolute
 * as the parameters ask), beside the batch as it was given.
 */
export interface PreparedBatch {
  /** The batch as the caller gave it; its `attributionsNHW` are the unprepared maps. */
  readonly batch: MetricBatch;
  /** [N, H, W] the prepared attributions: a copy, normalised and/or absolute per the params. */
  readonly attributionsNHW: Float32Array;
  /** H·W, the values of one image's map. */
  readonly pixels: number;
  /** Image i's prepared map (a view into `attributionsNHW`). */
  map(i: number): Float32Array;
}

/**
 * A metric as its file writes it: the definition's fields and `score`, which reads a batch
 * already checked against `needs` and prepared. {@link defineMetric} turns it into a
 * {@link MetricDefinition}.
 */
export interface MetricSpec<P extends CommonParams = CommonParams>
  extends Omit<MetricDefinition<P>, "evaluate"> {
  /**
   * Scores one batch whose arrays match its shape (and masks, when `needs` names them). One
   * image's failure gives that image NaN and a reason; invalid parameters throw an InputError.
   */
  score(
    context: MetricContext,
    prepared: PreparedBatch,
    params: P,
  ): MetricResult | Promise<MetricResult>;
}

/**
 * The attributions of `batch` prepared as `params` ask ({@link prepareAttributions}), with the
 * batch beside them. Metrics built with {@link defineMetric} receive it ready; outside a metric
 * (tests, examples) it hands a helper such as {@link scoreEachMap} a prepared batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { prepareBatch } from "./metric.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [2, 1, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(-4, 2, 1, 0.5),
 * };
 * const prepared = prepareBatch(batch, { abs: true, normalise: true, quantusCompat: false });
 * assert(prepared.pixels === 2 && prepared.map(1).join() === "1,0.5");
 * assert(prepared.map(0).join() === "1,0.5" && batch.attributionsNHW[0] === -4);
 * ```
 */
export function prepareBatch(batch: MetricBatch, params: NormaliseParams): PreparedBatch {
  const pixels = batch.shapeNHWC[1] * batch.shapeNHWC[2];
  const attributionsNHW = prepareAttributions(batch.attributionsNHW, pixels, params);
  return { batch, attributionsNHW, pixels, map: (i) => imageSlice(attributionsNHW, i, pixels) };
}

/**
 * A {@link MetricDefinition} from a {@link MetricSpec}: its `evaluate` checks the batch against
 * the metric's `needs` ({@link checkMetricBatch}), prepares the attributions
 * ({@link prepareBatch}) and returns what `score` gives for them. Like the metrics' own methods,
 * `evaluate` reads `name`, `needs` and `score` from the object it is called on. A variant of a
 * metric is `defineMetric({ ...BASE, name, quantusName, score })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "./functions/draws.ts";
 * import { commonFromQuantus, defineMetric, scoreEachMap } from "./metric.ts";
 * const PEAK = defineMetric({
 *   name: "peak", quantusName: "Peak", category: "complexity", direction: "higher",
 *   paper: "none", description: "The largest prepared attribution", needs: [],
 *   defaults: { abs: true, normalise: false, softmax: false, quantusCompat: false },
 *   fromQuantus: commonFromQuantus,
 *   score: (_context, prepared) => scoreEachMap(prepared, (map) => Math.max(...map)),
 *   toQuantus: (result) => Array.from(result.scores),
 * });
 * const batch = {
 *   xNHWC: new Float32Array(2), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(1, -3),
 * };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * assert((await PEAK.evaluate(context, batch, PEAK.defaults)).scores[0] === 3);
 * await assert.rejects(PEAK.evaluate(context, { ...batch, targets: Int32Array.of() }, PEAK.defaults));
 * ```
 */
export function defineMetric<P extends CommonParams>(spec: MetricSpec<P>): MetricDefinition<P> {
  const definition: MetricDefinition<P> & MetricSpec<P> = {
    ...spec,
    async evaluate(context, batch, params) {
      checkMetricBatch(this.name, batch, this.needs);
      return await this.score(context, prepareBatch(batch, params), params);
    },
  };
  return definition;
}

/**
 * The common parameters from Quantus's arguments: `abs`, `normalise`, `softmax`.
 *
 * @throws {InputError} for a normalise function other than `normalise_by_max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { commonFromQuantus } from "./metric.ts";
 * const p = commonFromQuantus({ abs: true, normalise: false }, { softmax: true });
 * assert(p.abs && !p.normalise && p.softmax && p.quantusCompat);
 * ```
 */
export function commonFromQuantus(
  init: Record<string, unknown>,
  call: Record<string, unknown>,
): CommonParams {
  const normaliseFunc = init.normalise_func;
  if (
    normaliseFunc !== undefined && normaliseFunc !== null &&
    !String(normaliseFunc).endsWith("normalise_by_max")
  ) {
    throw new InputError(
      `normalise_func ${String(normaliseFunc)}: only normalise_by_max is supported`,
    );
  }
  return {
    abs: Boolean(init.abs),
    normalise: Boolean(init.normalise),
    softmax: Boolean(call.softmax),
    quantusCompat: true,
  };
}

/**
 * Checks a batch's arrays against its shape and the metric's needs.
 *
 * @throws {InputError} naming the metric, the array and both sizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkMetricBatch } from "./metric.ts";
 * const batch = {
 *   xNHWC: new Float32Array(8), shapeNHWC: [2, 2, 2, 1] as const,
 *   targets: Int32Array.of(0, 1), attributionsNHW: new Float32Array(8),
 * };
 * checkMetricBatch("sparseness", batch, []);
 * let threw = false;
 * try { checkMetricBatch("pointing_game", batch, ["masks"]); } catch { threw = true; }
 * assert(threw);
 * ```
 */
export function checkMetricBatch(
  metric: string,
  batch: MetricBatch,
  needs: MetricInfo["needs"],
): void {
  const [n, h, w, c] = batch.shapeNHWC;
  const expect = (what: string, actual: number, expected: number) => {
    if (actual !== expected) {
      throw new InputError(
        `${metric}: ${what} has ${actual} values, but the batch shape [${n}, ${h}, ${w}, ${c}] ` +
          `needs ${expected}; pass one attribution per pixel ([N, H, W]) and one target per image`,
      );
    }
  };
  expect("xNHWC", batch.xNHWC.length, n * h * w * c);
  expect("targets", batch.targets.length, n);
  expect("attributionsNHW", batch.attributionsNHW.length, n * h * w);
  if (needs.includes("masks")) {
    if (!batch.masksNHW) {
      throw new InputError(
        `${metric}: needs ground-truth masks (masks/<split>/<Class>/<stem>.png, as the ` +
          "synthetic data set writes); this data set has none",
      );
    }
    expect("masksNHW", batch.masksNHW.length, n * h * w);
  }
}

/**
 * A result with every image NaN for `reason`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allNaN } from "./metric.ts";
 * const r = allNaN(2, "no model");
 * assert(Number.isNaN(r.scores[1]) && r.reasons[1] === "no model");
 * ```
 */
export function allNaN(n: number, reason: string): MetricResult {
  return { scores: new Float64Array(n).fill(NaN), reasons: Array(n).fill(reason) };
}

/**
 * Runs `scoreOne` for every image, turning a throw for one image into NaN with the error's
 * message, so one image's failure never loses the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { scorePerImage } from "./metric.ts";
 * const r = await scorePerImage(3, (i) => {
 *   if (i === 1) throw new Error("boom");
 *   return i;
 * });
 * assert(r.scores[2] === 2 && Number.isNaN(r.scores[1]) && r.reasons[1] === "boom");
 * ```
 */
export async function scorePerImage(
  n: number,
  scoreOne: (i: number) => number | { score: number; reason?: string } | Promise<number>,
): Promise<MetricResult> {
  const scores = new Float64Array(n);
  const reasons: (string | undefined)[] = Array(n).fill(undefined);
  for (let i = 0; i < n; i++) {
    try {
      const value = await scoreOne(i);
      if (typeof value === "number") scores[i] = value;
      else {
        scores[i] = value.score;
        reasons[i] = value.reason;
      }
    } catch (e) {
      scores[i] = NaN;
      reasons[i] = e instanceof Error ? e.message : String(e);
    }
    if (Number.isNaN(scores[i]) && reasons[i] === undefined) {
      reasons[i] = "the score is undefined for this image (NaN)";
    }
  }
  return { scores, reasons };
}

/**
 * The loop of every metric computed from the prepared maps alone: `score` each image's map, a
 * failure becoming NaN with its reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { prepareBatch, scoreEachMap } from "./metric.ts";
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [2, 1, 2, 1] as const, targets: Int32Array.of(0, 0),
 *   attributionsNHW: Float32Array.of(1, -3, 2, 2),
 * };
 * const params = { abs: true, normalise: false, quantusCompat: false };
 * const r = await scoreEachMap(prepareBatch(batch, params), (map) => Math.max(...map));
 * assert(r.scores.join() === "3,2");
 * ```
 */
export function scoreEachMap(
  prepared: PreparedBatch,
  score: (mapHW: Float32Array, i: number) => number | { score: number; reason?: string },
): Promise<MetricResult> {
  return scorePerImage(prepared.batch.shapeNHWC[0], (i) => score(prepared.map(i), i));
}

/**
 * The pixel indices of one image sorted by value, stably (equal values keep pixel order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stableRankOrder } from "./metric.ts";
 * const order = stableRankOrder(0, Float32Array.of(1, 3, 1, 2), "descending");
 * assert(order.join() === "1,3,0,2");
 * ```
 */
export function stableRankOrder(
  _sample: number,
  valuesHW: Float32Array,
  direction: "descending" | "ascending",
): Int32Array {
  const order = Int32Array.from(valuesHW.keys());
  const sign = direction === "descending" ? -1 : 1;
  // Int32Array.prototype.sort is not guaranteed stable for a comparator; break ties by index.
  return order.sort((a, b) => sign * (valuesHW[a] - valuesHW[b]) || a - b);
}

/**
 * One image's slice of an NHW array.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imageSlice } from "./metric.ts";
 * assert(imageSlice(Float32Array.of(1, 2, 3, 4), 1, 2).join() === "3,4");
 * ```
 */
export function imageSlice<T extends Float32Array | Uint8Array>(
  arrayNHW: T,
  i: number,
  pixelsPerImage: number,
): T {
  return arrayNHW.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage) as T;
}
