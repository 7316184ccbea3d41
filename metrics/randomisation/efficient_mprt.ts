/**
 * Efficient Model Parameter Randomisation Test (Hedström et al., "Sanity Checks Revisited: An
 * Exploration to Repair the Model Parameter Randomisation Test", XAI in Action workshop 2023).
 *
 * Instead of comparing explanations layer by layer (MPRT), eMPRT explains each image only twice:
 * on the unchanged model and on the fully randomised one (all parameterised layers, cascading),
 * and scores the relative rise of the explanation's complexity, (H_random − H) / H with H the
 * discrete entropy of the map's histogram. An explanation that depends on what the model learnt
 * should become noisier as the model is destroyed: higher is better.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { percentile } from "../../statistics/percentile.ts";
import { type CommonParams, defineMetric, imageSlice, type MetricResult } from "../metric.ts";
import { prepareAttributions } from "../functions/normalise.ts";
import { MPRT_ORIGINAL, type MprtParams } from "./mprt.ts";
import { cascadingRandomisation } from "./layer_randomisation.ts";

/**
 * How many histogram bins: `fixed` uses `nBins`; the others are the classic rules on the whole
 * batch's prepared maps (Freedman–Diaconis 2·IQR/∛n, Scott 3.5·σ/∛n, √n, Sturges log₂n + 1,
 * Rice 2∛n), clamped to [10, 200].
 */
export type BinRule = "fixed" | "freedman_diaconis" | "scotts" | "square_root" | "sturges" | "rice";

/** Parameters of {@link EFFICIENT_MPRT}. */
export interface EfficientMprtParams extends CommonParams {
  layerOrder: MprtParams["layerOrder"];
  /** Seed of the layers' fresh parameters (as MPRT). */
  seed: number;
  /** Explain only the unchanged and the fully randomised model (the score needs no others). */
  skipLayers: boolean;
  binRule: BinRule;
  /** The bins of `binRule` `fixed`. */
  nBins: number;
}

/** Quantus's rule names (`complexity_func_kwargs.rule`). */
const QUANTUS_RULES: Record<string, BinRule> = {
  "Freedman Diaconis": "freedman_diaconis",
  "Scotts": "scotts",
  "Square Root": "square_root",
  "Sturges Formula": "sturges",
  "Rice": "rice",
};

/**
 * eMPRT with Quantus's defaults: bottom-up cascade, 100 bins, maps as given (no abs or
 * normalisation).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededDraws } from "../functions/draws.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { EFFICIENT_MPRT } from "./efficient_mprt.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 4, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2, name: "fc" }).apply(flat) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const batch = {
 *   xNHWC: new Float32Array(4), shapeNHWC: [1, 1, 4, 1] as const, targets: Int32Array.of(0),
 *   attributionsNHW: Float32Array.of(0, 0, 0, 1), // two occupied bins, 3:1
 * };
 * // The randomised model's map spreads over four bins: entropy ln 4 against H(3:1).
 * const explain = () => Promise.resolve(Float32Array.of(0, 1, 2, 3));
 * const r = await EFFICIENT_MPRT.evaluate(
 *   { model, explain, draws: new SeededDraws(0) },
 *   batch,
 *   { ...EFFICIENT_MPRT.defaults, nBins: 4 },
 * );
 * const h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
 * assert(Math.abs(r.scores[0] - (Math.log(4) - h) / h) < 1e-12);
 * ```
 */
export const EFFICIENT_MPRT = defineMetric<EfficientMprtParams>({
  name: "efficient_mprt",
  quantusName: "EfficientMPRT",
  category: "randomisation",
  direction: "higher",
  paper: "Hedström et al. 2023, Sanity Checks Revisited (eMPRT)",
  description: "relative rise of explanation entropy from the model to its fully randomised copy",
  needs: ["model", "explain"],
  defaults: {
    abs: false,
    normalise: false,
    normaliseBy: "second_moment",
    softmax: true,
    quantusCompat: false,
    layerOrder: "bottom_up",
    seed: 42,
    skipLayers: true,
    binRule: "fixed",
    nBins: 100,
  },
  fromQuantus(init, call) {
    const layerOrder = init.layer_order ?? "bottom_up";
    if (layerOrder !== "top_down" && layerOrder !== "bottom_up") {
      throw new InputError(`EfficientMPRT layer_order ${layerOrder}: choose top_down or bottom_up`);
    }
    const complexity = String(init.complexity_func ?? "discrete_entropy");
    if (!complexity.endsWith("discrete_entropy")) {
      throw new InputError(`EfficientMPRT complexity_func ${complexity}: only discrete_entropy`);
    }
    const kwargs = (init.complexity_func_kwargs ?? {}) as Record<string, unknown>;
    // Quantus: an explicit n_bins wins; an unknown or absent rule falls back to n_bins_default.
    const rule = kwargs.n_bins === undefined ? QUANTUS_RULES[String(kwargs.rule)] : undefined;
    return {
      ...commonFromQuantusSecondMoment(init, call),
      layerOrder,
      seed: Number(init.seed ?? 42),
      skipLayers: Boolean(init.skip_layers ?? true),
      binRule: rule ?? "fixed",
      nBins: Number(kwargs.n_bins ?? kwargs.n_bins_default ?? 100),
    };
  },
  async score(context, prepared, params) {
    const explain = context.explain;
    if (!explain) {
      throw new InputError(`${this.name}: re-explains randomised models; pass the explainer`);
    }
    const { batch, pixels } = prepared;
    const { xNHWC, shapeNHWC, targets } = batch;
    const n = shapeNHWC[0];
    const bins = binCount(prepared.attributionsNHW, pixels, params);
    const entropies = (maps: Float32Array) =>
      Float64Array.from(
        { length: n },
        (_, i) => discreteEntropy(imageSlice(maps, i, pixels), bins),
      );
    const series: Record<string, Float64Array> = {};
    // The maps given are the unchanged model's explanations; Quantus explains it afresh.
    series[MPRT_ORIGINAL] = entropies(
      params.quantusCompat
        ? prepareAttributions(
          await explain(context.model.layers, xNHWC, shapeNHWC, targets),
          pixels,
          params,
        )
        : prepared.attributionsNHW,
    );
    let last = series[MPRT_ORIGINAL];
    const states = cascadingRandomisation(context.model.layers, xNHWC, shapeNHWC, {
      layerOrder: params.layerOrder,
      seed: params.seed,
      randomise: context.randomiseLayer,
    });
    for await (const state of states) {
      if (params.skipLayers && !state.last) continue;
      const maps = await explain(state.model, xNHWC, shapeNHWC, targets, state.cache);
      last = series[state.layer] = entropies(prepareAttributions(maps, pixels, params));
    }
    return relativeRise(series[MPRT_ORIGINAL], last, series);
  },
  toQuantus: (result) => Array.from(result.scores),
});

/** `commonFromQuantus` with eMPRT's default normalisation, the root mean square. */
function commonFromQuantusSecondMoment(
  init: Record<string, unknown>,
  call: Record<string, unknown>,
): CommonParams {
  const normaliseFunc = String(init.normalise_func ?? "second_moment_estimate");
  if (!normaliseFunc.endsWith("second_moment_estimate")) {
    throw new InputError(
      `EfficientMPRT normalise_func ${normaliseFunc}: only ` +
        "normalise_by_average_second_moment_estimate (its default) is supported",
    );
  }
  return {
    abs: Boolean(init.abs),
    normalise: Boolean(init.normalise),
    normaliseBy: "second_moment",
    softmax: Boolean(call.softmax),
    quantusCompat: true,
  };
}

/** (H_last − H) / H per image; NaN with a reason where H is 0 or undefined. */
function relativeRise(
  original: Float64Array,
  last: Float64Array,
  series: Record<string, Float64Array>,
): MetricResult {
  const reasons: (string | undefined)[] = [];
  const scores = original.map((h, i) => {
    if (Number.isNaN(h) || Number.isNaN(last[i])) {
      reasons[i] = "an explanation holds NaN or infinite values (no histogram)";
      return NaN;
    }
    if (h === 0) {
      reasons[i] = "the original explanation falls in one bin (entropy 0): no relative change";
      return NaN;
    }
    return (last[i] - h) / h;
  });
  return { scores, reasons: Array.from({ length: original.length }, (_, i) => reasons[i]), series };
}

/**
 * The number of bins `params` asks for, from the whole batch's prepared maps. The rules' n is the
 * number of values one histogram counts (a map's pixels); Quantus 0.6.0 uses the number of axes
 * of one sample, 3, instead (`quantusCompat`).
 */
function binCount(mapsNHW: Float32Array, pixels: number, params: EfficientMprtParams): number {
  if (params.binRule === "fixed") {
    if (!Number.isInteger(params.nBins) || params.nBins < 1) {
      throw new InputError(`efficient_mprt: nBins ${params.nBins} must be an integer >= 1`);
    }
    return params.nBins;
  }
  const n = params.quantusCompat ? 3 : pixels;
  const sorted = Float64Array.from(mapsNHW).sort();
  const range = sorted[sorted.length - 1] - sorted[0];
  // A bin narrower than 1e-6 would only count float noise (Quantus's floor for Freedman–Diaconis).
  const byWidth = (width: number) => Math.trunc(range / Math.max(width, 1e-6));
  const rules: Record<Exclude<BinRule, "fixed">, () => number> = {
    freedman_diaconis: () =>
      byWidth(2 * (percentile(sorted, 75) - percentile(sorted, 25)) / Math.cbrt(n)),
    scotts: () => byWidth(3.5 * standardDeviation(sorted) / Math.cbrt(n)),
    square_root: () => Math.trunc(Math.sqrt(n)),
    sturges: () => Math.trunc(Math.log2(n) + 1),
    rice: () => Math.trunc(2 * Math.cbrt(n)),
  };
  return Math.max(Math.min(rules[params.binRule](), 200), 10);
}

/** Population standard deviation. */
function standardDeviation(values: Float64Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

/**
 * Shannon entropy (natural log) of the histogram of `values` in `bins` equal bins over their own
 * [min, max] (numpy's `histogram`: a constant map gets [v − 0.5, v + 0.5], the last bin includes
 * its right edge; edges in float32 as numpy makes them for float32 data). NaN for non-finite
 * values.
 */
function discreteEntropy(values: Float32Array, bins: number): number {
  let min = Infinity, max = -Infinity;
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  if (!Number.isFinite(min) || !Number.isFinite(max)) return NaN;
  if (min === max) [min, max] = [Math.fround(min - 0.5), Math.fround(max + 0.5)];
  const step = (max - min) / bins;
  const edges = Float32Array.from(
    { length: bins + 1 },
    (_, k) => k === bins ? max : min + k * step,
  );
  const counts = new Float64Array(bins);
  for (const v of values) {
    let k = Math.min(Math.floor(((v - min) / (max - min)) * bins), bins - 1);
    // The edges decide, as numpy corrects its first guess against them.
    if (v < edges[k]) k--;
    else if (k < bins - 1 && v >= edges[k + 1]) k++;
    counts[k]++;
  }
  let entropy = 0;
  for (const count of counts) {
    if (count > 0) entropy -= (count / values.length) * Math.log(count / values.length);
  }
  return entropy;
}
