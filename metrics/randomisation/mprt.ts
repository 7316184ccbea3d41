/**
 * Model Parameter Randomisation Test (Adebayo et al., "Sanity Checks for Saliency Maps",
 * NeurIPS 2018).
 *
 * Randomise the model's parameterised layers one after another, cascading from the output layer
 * (top-down) or from the input (bottom-up), re-explain the images after each step and measure
 * how similar each new explanation still is to the original one (Spearman rank correlation by
 * default). An explanation that depends on what the model learnt must change as the model is
 * destroyed: lower is better.
 *
 * Per image, the score is the mean correlation over the randomised layers (or, with
 * `returnLastCorrelation`, the correlation after the last one); the per-layer correlations are
 * kept as the result's `series`, with `original` (the unchanged model's re-explanation) first.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import type { ForwardCache } from "../../graph/input_gradients.ts";
import { cascadingRandomisation } from "./layer_randomisation.ts";
import {
  commonFromQuantus,
  type CommonParams,
  defineMetric,
  imageSlice,
  type MetricContext,
  type MetricResult,
  type PreparedBatch,
} from "../metric.ts";
import { prepareAttributions } from "../functions/normalise.ts";
import { pearson } from "../functions/similarity.ts";
import { averageRanks } from "../../statistics/ranks.ts";

/** Parameters of {@link MPRT}. */
export interface MprtParams extends CommonParams {
  /** `top_down`: randomise from the output layer towards the input (the paper's cascade). */
  layerOrder: "top_down" | "bottom_up";
  /** Seed of the layers' fresh parameters (layer k uses seed + 1, as Quantus reseeds). */
  seed: number;
  /** Score = the correlation after the last randomised layer instead of the mean. */
  returnLastCorrelation: boolean;
  /**
   * Return the per-image average as Quantus's result (`toQuantus`); without it or
   * `returnLastCorrelation`, Quantus returns the per-layer dict. `scores` always hold the average
   * (or the last correlation).
   */
  returnAverageCorrelation: boolean;
}

/** The series key of the unchanged model's re-explanation. */
export const MPRT_ORIGINAL = "original";

/**
 * MPRT with the reference pipeline's settings: top-down cascade, average correlation, Quantus's
 * defaults abs and normalise on.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MPRT } from "./mprt.ts";
 * assert(MPRT.direction === "lower" && MPRT.defaults.layerOrder === "top_down");
 * ```
 */
export const MPRT = defineMetric<MprtParams>({
  name: "mprt",
  quantusName: "MPRT",
  category: "randomisation",
  direction: "lower",
  paper: "Adebayo et al. 2018, Sanity Checks for Saliency Maps",
  description: "rank correlation of explanations before and after cascading layer randomisation",
  needs: ["model", "explain"],
  defaults: {
    abs: true,
    normalise: true,
    softmax: false,
    quantusCompat: false,
    layerOrder: "top_down",
    seed: 42,
    returnLastCorrelation: false,
    returnAverageCorrelation: true,
  },
  fromQuantus(init, call) {
    const layerOrder = init.layer_order ?? "top_down";
    if (layerOrder !== "top_down" && layerOrder !== "bottom_up") {
      throw new InputError(`MPRT layer_order ${layerOrder}: choose top_down or bottom_up`);
    }
    const similarity = String(init.similarity_func ?? "correlation_spearman");
    if (!similarity.endsWith("correlation_spearman") && similarity !== "null") {
      throw new InputError(`MPRT similarity_func ${similarity}: only Spearman is supported`);
    }
    if (init.skip_layers) throw new InputError("MPRT skip_layers=True is not supported");
    return {
      ...commonFromQuantus(init, call),
      layerOrder,
      seed: Number(init.seed ?? 42),
      returnLastCorrelation: Boolean(init.return_last_correlation),
      returnAverageCorrelation: Boolean(init.return_average_correlation),
    };
  },
  score(context, prepared, params) {
    const explain = context.explain;
    if (!explain) {
      throw new InputError(`${this.name}: re-explains randomised models; pass the explainer`);
    }
    // Quantus's normalisation spans the whole batch (quantusCompat): one cascade for all images.
    const groupImages = params.quantusCompat
      ? undefined
      : explain.imagesPerCascade?.(context.model.layers);
    return correlationCascade(
      context,
      prepared,
      params,
      (model, cache, group) => explain(model, group.xNHWC, group.shapeNHWC, group.targets, cache),
      { groupImages },
    );
  },
  toQuantus(result, params) {
    if (params.returnAverageCorrelation || params.returnLastCorrelation) {
      return Array.from(result.scores);
    }
    return Object.fromEntries(
      Object.entries(result.series ?? {}).map(([k, v]) => [k, Array.from(v)]),
    );
  },
});

/** The images of one cascade: the batch's images `first` .. `first + shapeNHWC[0] − 1`. */
export interface ImageGroup {
  first: number;
  xNHWC: Float32Array;
  shapeNHWC: readonly [number, number, number, number];
  targets: Int32Array;
}

/**
 * Re-explains a group of the batch's images on one model state: raw [N, H, W] maps of the
 * group. `cache` holds those images and the unchanged model's activations (absent for the
 * unchanged model itself).
 */
export type StateExplainer = (
  model: tf.LayersModel,
  cache: ForwardCache | undefined,
  group: ImageGroup,
) => Promise<Float32Array>;

/** How {@link correlationCascade} walks the states. */
export interface CascadeRun {
  /** Explain only the unchanged and the fully randomised model (the cascade still runs). */
  skipLayers?: boolean;
  /**
   * Images per cascade (default the whole batch): each group of this many images goes through
   * all the states before the next, so that what an explainer keeps across states
   * (`Explainer.imagesPerCascade`) is kept for all of a group's images. The scores do not
   * depend on it.
   */
  groupImages?: number;
}

/**
 * The MPRT family's scoring (MPRT, SmoothMPRT): the Spearman correlation of each prepared map
 * with its re-explanation on the unchanged model (`original`) and after each step of the
 * cascading randomisation (only the last step with `skipLayers`), summarised per image as the
 * params ask. Each re-explanation is prepared as the given maps were, on its own (Quantus's
 * order); with `groupImages`, group by group, so normalising over the whole batch
 * (`quantusCompat`) needs one group.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { prepareBatch } from "../metric.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { correlationCascade, MPRT } from "./mprt.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 2, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2, name: "fc" }).apply(flat) as tf.SymbolicTensor;
 * const batch = {
 *   xNHWC: Float32Array.of(1, 2), shapeNHWC: [1, 1, 2, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(1, 2),
 * };
 * const context = { model: new MetricModel(tf.model({ inputs: input, outputs: out })), draws: new SeededDraws(0) };
 * // An explanation that ignores the model correlates perfectly with every state.
 * const r = await correlationCascade(context, prepareBatch(batch, MPRT.defaults), MPRT.defaults, () =>
 *   Promise.resolve(Float32Array.of(3, 5)), { groupImages: 1 });
 * assert(r.scores[0] === 1 && Object.keys(r.series!).join() === "original,fc");
 * ```
 */
export async function correlationCascade(
  context: MetricContext,
  prepared: PreparedBatch,
  params: MprtParams,
  explainState: StateExplainer,
  { skipLayers = false, groupImages }: CascadeRun = {},
): Promise<MetricResult> {
  const { batch, pixels } = prepared;
  const [n, h, w, c] = batch.shapeNHWC;
  const group = Math.max(1, Math.min(n, groupImages ?? n));
  if (params.quantusCompat && group < n) {
    throw new InputError("MPRT: quantusCompat normalises over the whole batch; pass no groups");
  }
  // Spearman = Pearson on average ranks; the original maps' ranks are the same for every state.
  const aRanks = Array.from({ length: n }, (_, i) => averageRanks(prepared.map(i)));
  const series: Record<string, Float64Array> = {};
  /** Adds the correlations of images first.. (their re-explanations `mapsNHW`) to `key`. */
  const record = (key: string, mapsNHW: Float32Array, first: number) => {
    const maps = prepareAttributions(mapsNHW, pixels, params);
    const correlations = (series[key] ??= new Float64Array(n));
    for (let i = 0; i < maps.length / pixels; i++) {
      correlations[first + i] = pearson(
        aRanks[first + i],
        averageRanks(imageSlice(maps, i, pixels)),
      );
    }
  };
  const imageValues = h * w * c;
  for (let first = 0; first < n; first += group) {
    const count = Math.min(group, n - first);
    const images: ImageGroup = {
      first,
      xNHWC: batch.xNHWC.subarray(first * imageValues, (first + count) * imageValues),
      shapeNHWC: [count, h, w, c],
      targets: batch.targets.subarray(first, first + count),
    };
    record(MPRT_ORIGINAL, await explainState(context.model.layers, undefined, images), first);
    const states = cascadingRandomisation(context.model.layers, images.xNHWC, images.shapeNHWC, {
      layerOrder: params.layerOrder,
      seed: params.seed,
      randomise: context.randomiseLayer,
    });
    for await (const state of states) {
      if (skipLayers && !state.last) continue;
      record(state.layer, await explainState(state.model, state.cache, images), first);
    }
  }
  return summarise(series, params);
}

/** One score per image from the per-layer correlations. */
function summarise(series: Record<string, Float64Array>, params: MprtParams): MetricResult {
  // Quantus 0.6.0 averages the unchanged model's correlation in as well (it skips a key named
  // "orig" that never exists); the corrected average is over randomised layers only.
  const keys = Object.keys(series).filter((k) => params.quantusCompat || k !== MPRT_ORIGINAL);
  const n = series[MPRT_ORIGINAL].length;
  const scores = new Float64Array(n);
  const reasons: (string | undefined)[] = Array(n).fill(undefined);
  for (let i = 0; i < n; i++) {
    if (params.returnLastCorrelation) {
      scores[i] = series[keys[keys.length - 1]][i];
    } else {
      const values = keys.map((k) => series[k][i]);
      const finite = params.quantusCompat ? values : values.filter((v) => !Number.isNaN(v));
      scores[i] = finite.reduce((s, v) => s + v, 0) / finite.length;
    }
    if (Number.isNaN(scores[i])) {
      reasons[i] = "the explanation was constant after randomisation (no rank correlation)";
    }
  }
  return { scores, reasons, series };
}
