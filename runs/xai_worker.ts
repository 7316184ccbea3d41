/**
 * The Web Worker behind `deno task xai --workers N`: starts its own tfjs backend, loads the
 * job's checkpoint once (again when a job names another), and answers {@link XaiChunkJob}s
 * with {@link explainXaiChunk}, writing the chunk's files itself.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { serveJobs } from "../core/worker_pool.ts";
import { startBackend } from "../backends/backend.ts";
import { loadCheckpointModel } from "./model_source.ts";
import { explainXaiChunk, type XaiChunkJob, type XaiChunkResult } from "./xai_chunk.ts";

let started: Promise<unknown> | undefined;
let loaded: { checkpoint: string; model: tf.LayersModel } | undefined;

serveJobs<XaiChunkJob, XaiChunkResult>(async (job) => {
  started ??= startBackend(job.backend, { openBlas: job.openBlas });
  await started;
  if (loaded?.checkpoint !== job.checkpoint) {
    loaded?.model.dispose();
    loaded = undefined;
    const { model } = await loadCheckpointModel(job.checkpoint);
    loaded = { checkpoint: job.checkpoint, model };
  }
  return explainXaiChunk(loaded.model, job);
});
