/**
 * One job of the `meta` stage: one batch of images through MetaQuantus's perturbation tests for
 * one metric (`metrics/meta/meta_evaluation.ts`). The grid runner (`runs/grid.ts`) runs these
 * jobs in this thread or in Web Workers (`runs/meta_worker.ts`) through
 * {@link metaBatchHandler}; the job carries everything its numbers depend on (inputs, targets,
 * metric and parameters, methods, settings and seeds), so where it runs cannot change them.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import type { CommonParams } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import {
  type MetaBatchScores,
  metaEvaluateBatch,
  type MetaSeeds,
} from "../metrics/meta/meta_evaluation.ts";
import type { MetaSettings } from "../metrics/meta/perturbation_tests.ts";
import { getExplainer } from "../xai/registry.ts";
import type { GridJob, JobHandler } from "./grid_job.ts";
import { evaluateOrNaN } from "./quantus_batch.ts";

/**
 * A batch for one metric; plain data, so it can be posted to a worker. The grid's per-folder
 * axis is the metric here, so {@link GridJob.method} holds the metric's registry name.
 */
export interface MetaBatchJob extends GridJob {
  /** The metric's parameters. */
  params: CommonParams;
  /** The explanation methods compared, in column order. */
  methods: string[];
  /** [N] the images' ids (their input noise is drawn from them). */
  imageIds: string[];
  settings: MetaSettings;
  seeds: MetaSeeds;
  /** [N, H, W] the images' evidence masks, when the data set has them. */
  masksNHW?: Uint8Array;
}

/**
 * The `meta` stage's job handler for `model`: {@link metaEvaluateBatch} with a
 * {@link MetricModel} of `model` made once, each method's maps from the `xai` registry, and the
 * job's metric scored with `evaluateOrNaN` (a metric that rejects a batch gives NaN).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { getMetric } from "../metrics/registry.ts";
 * import { META_DEFAULTS } from "../metrics/meta/perturbation_tests.ts";
 * import { metaBatchHandler } from "./meta_batch.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 2, imgSizePx: 32, seed: 1 });
 * const handler = metaBatchHandler(model);
 * const scores = await handler.run({
 *   checkpoint: "unused", backend: "cpu", openBlas: false, method: "sparseness",
 *   params: getMetric("sparseness").defaults, methods: ["saliency"], imageIds: ["a"],
 *   settings: { ...META_DEFAULTS, iterations: 1, perturbations: 1 }, seeds: { noise: 1, draws: 2 },
 *   xNHWC: new Float32Array(32 * 32 * 3).fill(0.5), shapeNHWC: [1, 32, 32, 3], targets: Int32Array.of(0),
 * });
 * assert(scores.qStarMN.length === 1 && scores.perturbations.length === 4);
 * handler.dispose();
 * model.dispose();
 * ```
 */
export function metaBatchHandler(
  model: tf.LayersModel,
): JobHandler<MetaBatchJob, MetaBatchScores> {
  const metricModel = new MetricModel(model);
  return {
    run: (job) => {
      // Every method gets the masks; only the ground-truth control reads them.
      const methods = job.methods.map((name) => ({
        name,
        explain: explainerFunction(getExplainer(name), job.masksNHW && { masksNHW: job.masksNHW }),
      }));
      return metaEvaluateBatch(
        model,
        metricModel,
        methods,
        {
          xNHWC: job.xNHWC,
          shapeNHWC: job.shapeNHWC,
          targets: job.targets,
          imageIds: job.imageIds,
          masksNHW: job.masksNHW,
        },
        async ({ model, explain, drawsSeed }, batch) =>
          (await evaluateOrNaN(
            job.method,
            job.params,
            { model, explain, draws: new SeededDraws(drawsSeed) },
            batch,
          )).scores,
        job.settings,
        job.seeds,
      );
    },
    dispose: () => metricModel.dispose(),
  };
}
