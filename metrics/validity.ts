/**
 * Does a metric rank the methods as the ground truth does? Where the evidence is known (the
 * synthetic set's masks, `data/synth/`), a localisation metric that scores against the masks is
 * the reference ranking, in the spirit of CLEVR-XAI's ground-truth evaluation (Arras et al.
 * 2022); every metric's ranking of the model's methods, controls included, is compared with it
 * by Kendall's τ-b (Kendall 1938), both sides oriented so that larger is better.
 *
 * The images are those where the reference scores at least two methods: an image without
 * evidence (the synthetic Normal class, an empty mask) cannot rank anything, so it is left out
 * of both sides. Overall, the methods are ranked by their means over those images, with a
 * percentile bootstrap 95 % interval over the images (each resample re-ranks the methods by
 * their means over the resampled images); per image, the τ of that image's scores, averaged
 * over the images where it is defined, with its own bootstrap interval.
 *
 * The default reference is Relevance Mass Accuracy: the share of the whole map's mass inside the
 * evidence, so it is continuous (few ties on one image, where the pointing game ties every
 * method whose maximum lies inside, and its tie rule gives the constant map 1), it judges all of
 * the map rather than its top pixels (Relevance Rank Accuracy, Top-K), and Arras et al. found it
 * the ground-truth measure that best tells methods apart. `deno task compare
 * --validity-reference` picks another of {@link GROUND_TRUTH_METRICS}.
 *
 * @module
 */
import type { Random } from "../core/random.ts";
import { InputError } from "../core/errors.ts";
import { bootstrapInterval, bootstrapMeanInterval } from "../statistics/bootstrap.ts";
import { overallTau, perImageTaus } from "./agreement.ts";
import { finiteMean, type ModelScores } from "./comparisons.ts";
import { METRICS } from "./registry.ts";
import { BOOTSTRAP_RESAMPLES } from "./summary.ts";

/** The reference ranking unless `--validity-reference` names another (see the module note). */
export const DEFAULT_VALIDITY_REFERENCE = "relevance_mass_accuracy";

/** The metrics that score a map against the evidence masks: the possible references. */
export const GROUND_TRUTH_METRICS: readonly string[] = METRICS
  .filter((m) => m.category === "localisation" && m.needs.includes("masks"))
  .map((m) => m.name);

/** The columns of `quantus_validity.csv`: one row per model and metric. */
export const QUANTUS_VALIDITY_COLUMNS = [
  "model",
  "metric",
  "reference",
  "methods",
  "tau_overall",
  "ci_low",
  "ci_high",
  "images",
  "tau_per_image",
  "per_image_ci_low",
  "per_image_ci_high",
] as const;

/** One row of `quantus_validity.csv`. */
export interface MetricValidity {
  model: string;
  metric: string;
  /** The ground-truth metric whose ranking is the reference. */
  reference: string;
  /** Methods with a finite mean on both the metric and the reference (those ranked overall). */
  methods: number;
  /** τ-b between the rankings by mean; NaN below two methods or when a side is all equal. */
  tauOverall: number;
  /** Percentile bootstrap 95 % interval of `tauOverall` over the images. */
  ciLow: number;
  ciHigh: number;
  /** Images whose per-image τ is defined. */
  images: number;
  /** Mean of the per-image τ-b; NaN when no image has one. */
  tauPerImage: number;
  /** Bootstrap 95 % interval of `tauPerImage`. */
  perImageCiLow: number;
  perImageCiHigh: number;
}

/** One model's validity: its rows, or why it has none. */
export type ModelValidity = { rows: MetricValidity[] } | { absent: string };

/**
 * The reference metric's registered name, checked to be a ground-truth metric; the default
 * when `name` is undefined.
 *
 * @throws {InputError} naming the flag and the metrics it accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { validityReference } from "./validity.ts";
 * assert(validityReference(undefined) === "relevance_mass_accuracy");
 * assert(validityReference("pointing_game") === "pointing_game");
 * assert.throws(() => validityReference("sparseness"), /--validity-reference/);
 * ```
 */
export function validityReference(name: string | undefined): string {
  if (name === undefined) return DEFAULT_VALIDITY_REFERENCE;
  const found = GROUND_TRUTH_METRICS.find((m) => m === name.trim().toLowerCase());
  if (!found) {
    throw new InputError(
      `--validity-reference ${name}: not a metric that scores against the evidence masks; ` +
        `choose one of ${GROUND_TRUTH_METRICS.join(", ")}`,
    );
  }
  return found;
}

/**
 * Every metric of `table` against the `reference` metric's ranking of the methods (the
 * reference's own row has τ = 1: a check, not a finding), or the one line saying why the model
 * has no validity: no reference scores (the data set has no evidence masks, or quantus ran
 * without the metric), or no image where the reference ranks two methods. Each row's bootstrap
 * streams are forked from `random` by model and metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../core/random.ts";
 * import { metricValidity } from "./validity.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const methods = ["a", "b", "c"];
 * const scores = (...perMethod: Float64Array[]) => new Map(perMethod.map((s, i) => [methods[i], s]));
 * const table = {
 *   model: "m", images: ["i", "j"], methods,
 *   metrics: [
 *     { metric: "truth", direction: "higher" as const, scores: scores(up(1, 1), up(2, 2), up(3, 3)) },
 *     // Lower is better and it puts c first: it agrees with the truth once flipped.
 *     { metric: "noise", direction: "lower" as const, scores: scores(up(9, 8), up(5, 4), up(1, 0)) },
 *   ],
 * };
 * const result = metricValidity(table, "truth", new SeededRandom(1));
 * assert("rows" in result && result.rows[1].tauOverall === 1 && result.rows[1].ciLow === 1);
 * assert("absent" in metricValidity(table, "pointing_game", new SeededRandom(1)));
 * ```
 */
export function metricValidity(
  table: ModelScores,
  reference: string,
  random: Random,
  resamples: number = BOOTSTRAP_RESAMPLES,
): ModelValidity {
  const truth = table.metrics.find((m) => m.metric === reference);
  if (!truth) {
    return {
      absent: `${table.model}: no ${reference} scores, so no validity against ground truth: ` +
        "the data set has no evidence masks (the synthetic set has them: deno task data:synth) " +
        `or quantus ran without --metrics ${reference}`,
    };
  }
  const ranked = table.images.flatMap((_, k) =>
    table.methods.filter((m) => !Number.isNaN(truth.scores.get(m)?.[k] ?? NaN)).length >= 2
      ? [k]
      : []
  );
  if (ranked.length === 0) {
    return {
      absent: `${table.model}: ${reference} scores fewer than two methods on every image ` +
        "(no image with evidence?), so no validity against ground truth",
    };
  }
  const rows = table.metrics.map((metric): MetricValidity => {
    const overall = overallTau(metric, truth, table.methods, ranked);
    const stream = random.fork(`validity/${table.model}/${metric.metric}`);
    const interval = bootstrapInterval(
      ranked.length,
      (draw) => overallTau(metric, truth, table.methods, Array.from(draw, (i) => ranked[i])).tau,
      stream.fork("overall"),
      resamples,
    );
    const taus = perImageTaus(metric, truth, table.methods, ranked)
      .filter((t) => !Number.isNaN(t));
    const perImage = bootstrapMeanInterval(taus, stream.fork("per image"), resamples);
    return {
      model: table.model,
      metric: metric.metric,
      reference,
      methods: overall.methods,
      tauOverall: overall.tau,
      ciLow: interval.low,
      ciHigh: interval.high,
      images: taus.length,
      tauPerImage: finiteMean(taus),
      perImageCiLow: perImage.low,
      perImageCiHigh: perImage.high,
    };
  });
  return { rows };
}
