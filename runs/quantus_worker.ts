/**
 * The Web Worker behind `deno task quantus --workers N`: starts its own tfjs backend, loads the
 * job's checkpoint once, and answers {@link QuantusBatchJob}s with {@link scoreQuantusBatch}.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { serveJobs } from "../core/worker_pool.ts";
import { startBackend } from "../backends/backend.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { loadCheckpointModel } from "./model_source.ts";
import {
  type QuantusBatchJob,
  type QuantusBatchScores,
  scoreQuantusBatch,
} from "./quantus_batch.ts";

let started: Promise<unknown> | undefined;
let loaded: { checkpoint: string; model: tf.LayersModel; metricModel: MetricModel } | undefined;

serveJobs<QuantusBatchJob, QuantusBatchScores>(async (job) => {
  started ??= startBackend(job.backend, { openBlas: job.openBlas });
  await started;
  if (loaded?.checkpoint !== job.checkpoint) {
    loaded?.metricModel.dispose();
    loaded?.model.dispose();
    loaded = undefined;
    const { model } = await loadCheckpointModel(job.checkpoint);
    loaded = { checkpoint: job.checkpoint, model, metricModel: new MetricModel(model) };
  }
  return scoreQuantusBatch(loaded.model, loaded.metricModel, job);
});
