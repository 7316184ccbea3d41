/**
 * One job of the `quantus` stage: explain one batch of images and score it with every metric.
 * The grid runner (`runs/grid.ts`) runs these jobs in this thread or in Web Workers
 * (`runs/quantus_worker.ts`) through {@link quantusBatchHandler}; the job carries everything that decides its numbers (inputs, targets, method, parameters, and
 * each metric's seed), so where it runs cannot change them.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { heapFailure } from "../backends/heap.ts";
import { SeededRandom } from "../core/random.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import { type MosaicBatch, spreadOverRows } from "../metrics/functions/mosaics.ts";
import type {
  CommonParams,
  ExplainFunction,
  MetricBatch,
  MetricContext,
  MetricResult,
} from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric } from "../metrics/registry.ts";
import { getExplainer } from "../xai/registry.ts";
import type { GridJob, JobHandler } from "./grid_job.ts";

/** Everything one batch's scores depend on; plain data, so it can be posted to a worker. */
export interface QuantusBatchJob extends GridJob {
  /** Each metric's registry name and parameters, in column order. */
  metrics: [string, CommonParams][];
  /** Each metric's seed for its random draws, same order as `metrics`. */
  drawsSeeds: number[];
  /** [N, H, W] the images' localisation masks, when the data set has them. */
  masksNHW?: Uint8Array;
  /**
   * The images' Focus mosaics, when a metric that needs them (`needs: mosaics`) is run: such
   * a metric scores the method's explanations of the mosaics, explained here, not the images'.
   */
  mosaics?: MosaicBatch;
}

/** A batch's scores: `scores[m][i]` of metric m for image i, with the reason where NaN. */
export interface QuantusBatchScores {
  scores: Float64Array[];
  reasons: (string | undefined)[][];
}

/**
 * The seed of metric `metric`'s draws on batch `batchNumber` of `model` x `method`: forked from
 * the run's seed, so each batch's randomness is its own however batches are spread over workers.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { batchDrawsSeed } from "./quantus_batch.ts";
 * const a = batchDrawsSeed(42, "ecgnet", "gradcam", "mprt", 0);
 * assert(a === batchDrawsSeed(42, "ecgnet", "gradcam", "mprt", 0));
 * assert(a !== batchDrawsSeed(42, "ecgnet", "gradcam", "mprt", 1));
 * ```
 */
export function batchDrawsSeed(
  seed: number,
  model: string,
  method: string,
  metric: string,
  batchNumber: number,
): number {
  return new SeededRandom(seed).fork(`${model}/${method}/${metric}/${batchNumber}`).seed;
}

/**
 * Explains the job's images with its method on `model` and scores them with each metric; a
 * metric that needs mosaics scores the method's explanations of the job's mosaics instead (a row
 * without a mosaic gets NaN with the reason). A metric that rejects the batch (an
 * {@link InputError}) gives NaN with its message as reason.
 * A heap failure (`backends/heap.ts`) is thrown: the grid marks the whole batch failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { MetricModel } from "../metrics/metric_model.ts";
 * import { getMetric } from "../metrics/registry.ts";
 * import { scoreQuantusBatch } from "./quantus_batch.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const metricModel = new MetricModel(model);
 * const sparseness = getMetric("sparseness");
 * const { scores } = await scoreQuantusBatch(model, metricModel, {
 *   checkpoint: "unused", backend: "cpu", openBlas: false, method: "saliency",
 *   metrics: [["sparseness", sparseness.defaults]], drawsSeeds: [1],
 *   xNHWC: new Float32Array(2 * 32 * 32 * 3).fill(0.5), shapeNHWC: [2, 32, 32, 3],
 *   targets: Int32Array.of(0, 1),
 * });
 * assert(scores[0].length === 2);
 * metricModel.dispose();
 * model.dispose();
 * ```
 */
export async function scoreQuantusBatch(
  model: tf.LayersModel,
  metricModel: MetricModel,
  job: QuantusBatchJob,
): Promise<QuantusBatchScores> {
  // Every method gets the masks; only the ground-truth control reads them.
  const explain = explainerFunction(
    getExplainer(job.method),
    job.masksNHW && { masksNHW: job.masksNHW },
  );
  const batch: MetricBatch = {
    xNHWC: job.xNHWC,
    shapeNHWC: job.shapeNHWC,
    targets: job.targets,
    attributionsNHW: await explain(model, job.xNHWC, job.shapeNHWC, job.targets),
    masksNHW: job.masksNHW,
  };
  const mosaics = job.mosaics && await explainMosaics(model, job.method, job.mosaics);
  const out: QuantusBatchScores = { scores: [], reasons: [] };
  for (const [k, [name, params]] of job.metrics.entries()) {
    const draws = new SeededDraws(job.drawsSeeds[k]);
    const result = mosaics && getMetric(name).needs.includes("mosaics")
      ? spreadOverRows(
        await evaluateOrNaN(name, params, { ...mosaics, model: metricModel, draws }, mosaics.batch),
        job.mosaics!.reasons,
      )
      : await evaluateOrNaN(name, params, { model: metricModel, explain, draws }, batch);
    out.scores.push(result.scores);
    out.reasons.push(result.reasons);
  }
  return out;
}

/**
 * The metric batch of a chunk's mosaics, explained with `method` for each mosaic's target class
 * (the ground-truth control draws the mosaics' masks), with the explain function a metric that
 * re-explains would use on them.
 */
async function explainMosaics(
  model: tf.LayersModel,
  method: string,
  mosaics: MosaicBatch,
): Promise<{ batch: MetricBatch; explain: ExplainFunction }> {
  const explain = explainerFunction(
    getExplainer(method),
    mosaics.masksNHW && { masksNHW: mosaics.masksNHW },
  );
  const { xNHWC, shapeNHWC, targets, quadrantsN4, masksNHW } = mosaics;
  const attributionsNHW = targets.length === 0
    ? new Float32Array(0)
    : await explain(model, xNHWC, shapeNHWC, targets);
  return {
    batch: { xNHWC, shapeNHWC, targets, attributionsNHW, masksNHW, mosaicQuadrantsN4: quadrantsN4 },
    explain,
  };
}

/**
 * Metric `name`'s result for `batch`; a metric that rejects the batch (an {@link InputError})
 * gives every image NaN with its message as reason. A heap failure (`backends/heap.ts`) is
 * thrown: it is no property of the explanation, so the whole batch fails and is redone.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "../metrics/functions/draws.ts";
 * import { getMetric } from "../metrics/registry.ts";
 * import { evaluateOrNaN } from "./quantus_batch.ts";
 * const batch = { xNHWC: new Float32Array(2), shapeNHWC: [1, 1, 2, 1] as const,
 *   targets: Int32Array.of(0), attributionsNHW: Float32Array.of(1, 0) };
 * // deno-lint-ignore no-explicit-any
 * const context = { model: undefined as any, draws: new SeededDraws(0) };
 * const r = await evaluateOrNaN("pointing_game", getMetric("pointing_game").defaults, context, batch);
 * assert(Number.isNaN(r.scores[0]) && r.reasons[0]!.includes("masks"));
 * ```
 */
export async function evaluateOrNaN(
  name: string,
  params: CommonParams,
  context: MetricContext,
  batch: MetricBatch,
): Promise<MetricResult> {
  try {
    return await getMetric(name).evaluate(context, batch, params);
  } catch (e) {
    if (!(e instanceof InputError) || heapFailure(e) !== undefined) throw e;
    const n = batch.targets.length;
    return { scores: new Float64Array(n).fill(NaN), reasons: Array(n).fill(e.message) };
  }
}

/**
 * The `quantus` stage's job handler for `model`: {@link scoreQuantusBatch} with a
 * {@link MetricModel} of `model`, made once per model and freed by `dispose`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { quantusBatchHandler } from "./quantus_batch.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const handler = quantusBatchHandler(model);
 * assert(typeof handler.run === "function");
 * handler.dispose();
 * model.dispose();
 * ```
 */
export function quantusBatchHandler(
  model: tf.LayersModel,
): JobHandler<QuantusBatchJob, QuantusBatchScores> {
  const metricModel = new MetricModel(model);
  return {
    run: (job) => scoreQuantusBatch(model, metricModel, job),
    dispose: () => metricModel.dispose(),
  };
}
