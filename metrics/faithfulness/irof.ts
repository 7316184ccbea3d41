/**
 * Iterative Removal of Features, IROF (Rieger & Hansen, "IROF: a Low Resource Evaluation Metric
 * for Explanation Methods", ICLR 2020 workshop).
 *
 * The image is split into superpixels, ranked by their MEAN attribution. They are replaced by
 * the image's mean value one after another, most relevant first, cumulatively, and after each
 * removal the target output relative to the original is recorded: curve_k = f(x_{(k)})_y / f(x)_y,
 * k = 1..K. The score is the area over that curve, IROF = K − Σ_k (curve_k + curve_{k+1}) / 2
 * (trapezoidal, unit spacing): a faithful map makes the output collapse early. Higher is better.
 *
 * Superpixels come from `context.segment` when given (a Quantus replay passes the SLIC segments
 * Quantus recorded); otherwise IROF computes them itself: SLIC (`xai/perturbation/segmentation/slic.ts`, about
 * `nSegments` superpixels, skimage's other defaults) as Quantus does, or a square grid of about
 * `nSegments` cells with `segmentation: "grid"`. An image of 3 channels is segmented in L*a*b*, as
 * skimage does; a grey one on its single channel.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import {
  commonFromQuantus,
  type CommonParams,
  defineMetric,
  scorePerImage,
  stableRankOrder,
} from "../metric.ts";
import { gridLabels } from "../functions/patches.ts";
import { slicSegments } from "../../xai/perturbation/segmentation/slic.ts";
import {
  type Baseline,
  batchBaselines,
  parseBaseline,
  requireDefaultPerturbFunc,
} from "../functions/perturb.ts";
import { cumulativeCurves, markConstantMaps, trapezoid } from "./perturbation_curve.ts";

/** Parameters of {@link IROF}. */
export interface IrofParams extends CommonParams {
  /** What removed superpixels become (the paper: the image mean). */
  perturbBaseline: Baseline;
  /** How superpixels are made when the context has no segmenter. */
  segmentation: "slic" | "grid";
  /** About how many superpixels (SLIC's `n_segments`, or grid cells). */
  nSegments: number;
  /** `toQuantus` gives the mean over images (Quantus's default `return_aggregate=True`). */
  returnAggregate: boolean;
}

/**
 * One image's superpixels as pixel lists, labels renumbered 0..K−1 in increasing order (as
 * `np.unique` numbers them).
 */
function segmentPixels(labelsHW: Int32Array): Int32Array[] {
  const labels = Int32Array.from(new Set(labelsHW)).sort();
  const index = new Map<number, number>();
  labels.forEach((label, k) => index.set(label, k));
  const lists: number[][] = Array.from({ length: labels.length }, () => []);
  labelsHW.forEach((label, p) => lists[index.get(label)!].push(p));
  return lists.map((list) => Int32Array.from(list));
}

/**
 * SLIC superpixels of one HWC image as skimage computes them on Quantus's channel-last image:
 * 3 channels in L*a*b*, one grey channel as it is (spread over 3 equal channels scaled by 1/√3,
 * which leaves the colour distance unchanged).
 */
function slicLabels(
  imageHWC: Float32Array,
  heightPx: number,
  widthPx: number,
  channels: number,
  nSegments: number,
): Int32Array {
  if (channels !== 3 && channels !== 1) {
    throw new InputError(
      `irof: SLIC segments images of 1 or 3 channels, not ${channels}; use segmentation "grid"`,
    );
  }
  const rgb = channels === 3
    ? imageHWC
    : Float32Array.from({ length: imageHWC.length * 3 }, (_, j) =>
      imageHWC[Math.floor(j / 3)] / Math.sqrt(3));
  return slicSegments(rgb, heightPx, widthPx, { nSegments, convert2lab: channels === 3 }).labelsHW;
}

/** Quantus 0.6.0's baseline: one value from the whole current batch, not from each image. */
function wholeBatchBaseline(baseline: Baseline, statesNHWC: Float32Array, n: number): Float64Array {
  let value: number;
  if (typeof baseline === "number") value = baseline;
  else if (baseline === "mean") {
    let sum = 0;
    for (const v of statesNHWC) sum += v;
    value = Math.fround(sum / statesNHWC.length);
  } else {
    value = statesNHWC.reduce(
      (best, v) => baseline === "black" ? Math.min(best, v) : Math.max(best, v),
      statesNHWC[0],
    );
  }
  return new Float64Array(n).fill(value);
}

/**
 * IROF: area over the relative target output as superpixels are removed, most relevant first.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { IROF } from "./irof.ts";
 * assert(IROF.direction === "higher" && IROF.defaults.perturbBaseline === "mean");
 * ```
 */
export const IROF = defineMetric<IrofParams>({
  name: "irof",
  quantusName: "IROF",
  category: "faithfulness",
  direction: "higher",
  paper: "Rieger & Hansen 2020, IROF: a Low Resource Evaluation Metric for Explanation Methods",
  description: "area over the relative target probability as the most relevant superpixels go",
  needs: ["model"],
  defaults: {
    abs: false,
    normalise: true,
    softmax: true,
    quantusCompat: false,
    perturbBaseline: "mean",
    segmentation: "slic",
    nSegments: 100,
    returnAggregate: false,
  },
  fromQuantus(init, call) {
    requireDefaultPerturbFunc(this.name, init);
    const method = init.segmentation_method ?? "slic";
    if (method !== "slic") {
      throw new InputError(`irof: segmentation_method ${String(method)}: only slic is supported`);
    }
    const perturbBaseline = parseBaseline(init.perturb_baseline ?? "mean");
    if (perturbBaseline === "uniform") {
      throw new InputError(
        "irof: perturb_baseline uniform is not supported (Quantus draws one value per pixel " +
          "of the batch here); choose mean, black, white or a number",
      );
    }
    return {
      ...commonFromQuantus(init, call),
      perturbBaseline,
      segmentation: "slic",
      nSegments: 100,
      returnAggregate: Boolean(init.return_aggregate ?? true),
    };
  },
  async score(context, prepared, params) {
    const { batch, pixels } = prepared;
    const [n, h, w, c] = batch.shapeNHWC;
    if (!Number.isInteger(params.nSegments) || params.nSegments < 1) {
      throw new InputError(`${this.name}: nSegments ${params.nSegments} must be an integer >= 1`);
    }
    if (params.segmentation !== "slic" && params.segmentation !== "grid") {
      throw new InputError(
        `${this.name}: segmentation ${params.segmentation}: choose slic or grid`,
      );
    }
    const cellPx = Math.max(1, Math.min(h, w, Math.round(Math.sqrt(pixels / params.nSegments))));
    const ownSegments = (image: Float32Array) =>
      params.segmentation === "grid"
        ? gridLabels(h, w, cellPx)
        : slicLabels(image, h, w, c, params.nSegments);
    const rank = context.rankOrder ?? stableRankOrder;
    const steps = Array.from({ length: n }, (_, i) => {
      const image = batch.xNHWC.subarray(i * pixels * c, (i + 1) * pixels * c);
      const labels = context.segment?.(i, image, [h, w, c]) ?? ownSegments(image);
      if (labels.length !== pixels) {
        throw new InputError(
          `${this.name}: the segmenter gave ${labels.length} labels for image ${i}; needs ${pixels} (H x W)`,
        );
      }
      const segments = segmentPixels(labels);
      const ai = prepared.map(i);
      const means = Float32Array.from(segments, (s) => {
        let sum = 0;
        for (const p of s) sum += ai[p];
        return sum / s.length;
      });
      return Array.from(rank(i, means, "descending"), (k) => segments[k]);
    });
    const options = { softmax: params.softmax };
    const original = await context.model.targetScores(
      batch.xNHWC,
      batch.shapeNHWC,
      batch.targets,
      options,
    );
    const perturbed = await cumulativeCurves(context.model, batch, {
      steps,
      baselines: (states) =>
        params.quantusCompat
          ? wholeBatchBaseline(params.perturbBaseline, states, n)
          : batchBaselines(params.perturbBaseline, states, batch.shapeNHWC, context.draws),
      ...options,
    });
    const curves = perturbed.map((curve, i) =>
      Float64Array.from(curve, (score) => Math.fround(score / original[i]))
    );
    // Quantus pads shorter curves with zeros up to the batch's largest segment count, and the
    // trapezoid then also spans the drop from the last value to 0.
    const longest = Math.max(...curves.map((curve) => curve.length));
    const result = await scorePerImage(n, (i) => {
      if (original[i] === 0) {
        return { score: NaN, reason: "the target output of the unperturbed image is 0" };
      }
      const curve = params.quantusCompat
        ? Float64Array.from({ length: longest }, (_, k) => curves[i][k] ?? 0)
        : curves[i];
      return curves[i].length - trapezoid(curve);
    });
    markConstantMaps(result, prepared, params.quantusCompat);
    return { ...result, curves };
  },
  toQuantus(result, params) {
    const scores = Array.from(result.scores);
    return params.returnAggregate ? [scores.reduce((s, v) => s + v, 0) / scores.length] : scores;
  },
});
