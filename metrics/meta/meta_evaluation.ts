/**
 * One batch of MetaQuantus's meta-evaluation (Hedström et al. 2023) for one metric: the metric's
 * scores of each explanation method's maps without perturbation (Q*), then under every
 * perturbation of the four tests (`perturbation_tests.ts`), with the perturbed model's
 * predictions that decide which images each criterion reads (`consistency.ts`).
 *
 * As in MetaQuantus, every explanation is of the unperturbed model's predicted class. Under the
 * Model Perturbation Test the maps are explained again on the perturbed model and scored with
 * it; under the Input Perturbation Test the maps of the unperturbed inputs are scored on the
 * perturbed inputs (so they are explained once per method). The weight noise depends on the
 * run's seed and the perturbation alone, so every batch, worker and shard sees the same
 * perturbed model; the input noise of an image on its id; the metric's own draws are seeded per
 * batch, perturbation and method, so a stochastic metric's own randomness counts against its
 * resilience, as in MetaQuantus.
 *
 * @module
 */
import { argmaxRows } from "../../models/inference.ts";
import { tf } from "../../deps.ts";
import { SeededRandom } from "../../core/random.ts";
import type { ExplainFunction, MetricBatch } from "../metric.ts";
import { MetricModel } from "../metric_model.ts";
import type { PerturbationKind } from "./consistency.ts";
import {
  type MetaSettings,
  PERTURBATION_TESTS,
  type PerturbationSpace,
  perturbedInputs,
  perturbedModel,
} from "./perturbation_tests.ts";

/** The images of one batch. */
export interface MetaBatch {
  /** [N, H, W, C] the model's inputs. */
  xNHWC: Float32Array;
  shapeNHWC: [number, number, number, number];
  /** [N] the unperturbed model's predicted classes: what every map explains. */
  targets: Int32Array;
  /** [N] each image's id (its input noise is drawn from it). */
  imageIds: readonly string[];
  /** [N, H, W] evidence masks, for the localisation metrics. */
  masksNHW?: Uint8Array;
}

/** An explanation method under evaluation. */
export interface MetaMethod {
  name: string;
  explain: ExplainFunction;
}

/**
 * Scores a batch with the metric under meta-evaluation on `model`, its re-explanations (if any)
 * with `explain`, its random draws seeded by `drawsSeed`: `[N]`, NaN where undefined.
 */
export type MetaScorer = (
  context: { model: MetricModel; explain: ExplainFunction; drawsSeed: number },
  batch: MetricBatch,
) => Promise<Float64Array>;

/** One perturbation's outcome on a batch. */
export interface MetaPerturbation {
  space: PerturbationSpace;
  kind: PerturbationKind;
  /** 0-based iteration and perturbation within it. */
  iteration: number;
  perturbation: number;
  /** [N] the class the perturbed model (or model on perturbed inputs) predicts. */
  predictions: Int32Array;
  /** `[method][image]` the metric's scores under this perturbation. */
  qHatMN: Float64Array[];
}

/** A batch's scores: without perturbation and under each perturbation. */
export interface MetaBatchScores {
  /** `[method][image]` without perturbation. */
  qStarMN: Float64Array[];
  /** Tests in {@link PERTURBATION_TESTS} order, then iterations, then perturbations. */
  perturbations: MetaPerturbation[];
}

/** Seeds of one batch's randomness. */
export interface MetaSeeds {
  /** The run's seed for the weight and input noise (the same for every batch). */
  noise: number;
  /** This batch's seed for the metric's own draws. */
  draws: number;
}

/**
 * Scores one batch for the meta-evaluation of one metric (see the module comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { MetricModel } from "../metric_model.ts";
 * import { META_DEFAULTS } from "./perturbation_tests.ts";
 * import { metaEvaluateBatch } from "./meta_evaluation.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2, 2, 1] });
 * const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * const metricModel = new MetricModel(model);
 * // A "metric" that sums the map, and an "explainer" that returns the input.
 * const explain = (_m: tf.LayersModel, x: Float32Array | tf.Tensor4D) =>
 *   Promise.resolve(x instanceof Float32Array ? x.slice() : x.dataSync() as Float32Array);
 * const sum = (_c: unknown, b: { attributionsNHW: Float32Array }) =>
 *   Promise.resolve(Float64Array.of(b.attributionsNHW.reduce((a, v) => a + v, 0)));
 * const batch = { xNHWC: Float32Array.of(1, 2, 3, 4), shapeNHWC: [1, 2, 2, 1] as [number, number, number, number],
 *   targets: Int32Array.of(0), imageIds: ["a"] };
 * const settings = { ...META_DEFAULTS, iterations: 1, perturbations: 2 };
 * const scores = await metaEvaluateBatch(model, metricModel, [{ name: "identity", explain }],
 *   batch, sum, settings, { noise: 1, draws: 2 });
 * assert(scores.qStarMN[0][0] === 10 && scores.perturbations.length === 4 * 2);
 * // The input test scores the unperturbed maps: same sum; the model test re-explains the input.
 * assert(scores.perturbations.every((p) => p.qHatMN[0][0] === 10));
 * metricModel.dispose();
 * model.dispose();
 * ```
 */
export async function metaEvaluateBatch(
  model: tf.LayersModel,
  metricModel: MetricModel,
  methods: readonly MetaMethod[],
  batch: MetaBatch,
  score: MetaScorer,
  settings: MetaSettings,
  seeds: MetaSeeds,
): Promise<MetaBatchScores> {
  const { xNHWC, shapeNHWC, targets, masksNHW } = batch;
  const noise = new SeededRandom(seeds.noise);
  const draws = new SeededRandom(seeds.draws);
  const scoreWith = (
    scoringModel: MetricModel,
    method: MetaMethod,
    label: string,
    x: Float32Array,
    attributionsNHW: Float32Array,
  ) =>
    score(
      {
        model: scoringModel,
        explain: method.explain,
        drawsSeed: draws.fork(`${label}/${method.name}`).seed,
      },
      { xNHWC: x, shapeNHWC, targets, attributionsNHW, masksNHW },
    );
  const mapsOf: Float32Array[] = [];
  const qStarMN: Float64Array[] = [];
  for (const method of methods) {
    const maps = await method.explain(model, xNHWC, shapeNHWC, targets);
    mapsOf.push(maps);
    qStarMN.push(await scoreWith(metricModel, method, "unperturbed", xNHWC, maps));
  }
  const perturbations: MetaPerturbation[] = [];
  for (const { space, kind } of PERTURBATION_TESTS) {
    for (let iteration = 0; iteration < settings.iterations; iteration++) {
      for (let perturbation = 0; perturbation < settings.perturbations; perturbation++) {
        const label = `${space}/${kind}/${iteration}/${perturbation}`;
        const random = noise.fork(label);
        const qHatMN: Float64Array[] = [];
        let predictions: Int32Array;
        if (space === "model") {
          const noisy = perturbedModel(model, settings.noise.model[kind], random);
          const noisyMetricModel = new MetricModel(noisy);
          try {
            predictions = await predict(noisyMetricModel, xNHWC, shapeNHWC);
            for (const method of methods) {
              const maps = await method.explain(noisy, xNHWC, shapeNHWC, targets);
              qHatMN.push(await scoreWith(noisyMetricModel, method, label, xNHWC, maps));
            }
          } finally {
            noisyMetricModel.dispose();
            noisy.dispose();
          }
        } else {
          const xHat = perturbedInputs(
            xNHWC,
            shapeNHWC,
            settings.noise.input[kind],
            (i) => random.fork(batch.imageIds[i]),
          );
          predictions = await predict(metricModel, xHat, shapeNHWC);
          for (const [m, method] of methods.entries()) {
            qHatMN.push(await scoreWith(metricModel, method, label, xHat, mapsOf[m]));
          }
        }
        perturbations.push({ space, kind, iteration, perturbation, predictions, qHatMN });
      }
    }
  }
  return { qStarMN, perturbations };
}

/** The class `model` predicts for each image. */
async function predict(
  model: MetricModel,
  xNHWC: Float32Array,
  shapeNHWC: [number, number, number, number],
): Promise<Int32Array> {
  const logits = await model.scores(xNHWC, shapeNHWC, { softmax: false });
  return argmaxRows(logits, model.numClasses);
}
