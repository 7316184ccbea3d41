/**
 * One job of a sharded grid stage (`runs/grid.ts`): what every job carries so that it can run
 * anywhere, and how a job type's handler runs jobs in a Web Worker.
 *
 * A job is plain data (posted to a worker as is): the model's checkpoint folder and the backend,
 * so that a worker loads the same model on the same backend, and the chunk's inputs and target
 * classes. A job type adds what else its results depend on and supplies a
 * {@link JobHandlerFactory}; the runner uses that handler in this thread, and a worker module
 * is one {@link serveGridJobs} call with the same handler, so where a job runs cannot change
 * its result.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { serveJobs } from "../core/worker_pool.ts";
import { type BackendName, startBackend } from "../backends/backend.ts";
import { loadCheckpointModel } from "./model_source.ts";

/** The fields every grid job carries; a job type's job adds its own. */
export interface GridJob {
  /** The best-checkpoint folder of the model (workers load it from there). */
  checkpoint: string;
  /** The backend the stage runs on (workers start the same one). */
  backend: BackendName;
  /** Whether the stage's convolutions run on OpenBLAS (workers do the same). */
  openBlas: boolean;
  /** The attribution method's registry name. */
  method: string;
  /** The chunk's images, [N, H, W, 3]. */
  xNHWC: Float32Array;
  shapeNHWC: [number, number, number, number];
  /** [N] the class index each image's explanation is for. */
  targets: Int32Array;
}

/** Runs one job type's jobs on one loaded model; {@link JobHandler.dispose} frees what it made. */
export interface JobHandler<Job extends GridJob, Result> {
  run(job: Job): Promise<Result>;
  dispose(): void;
}

/** Makes a job type's handler for a loaded model, in this thread or in a worker. */
export type JobHandlerFactory<Job extends GridJob, Result> = (
  model: tf.LayersModel,
) => JobHandler<Job, Result>;

/**
 * Answers grid jobs inside a worker module with `handlerFor`'s handler: starts the job's
 * backend once, loads the job's checkpoint with the registry's builder once (again when a job
 * names another, as one pool serves every model of a run) and passes each job to the handler.
 *
 * @example
 * ```ts ignore
 * // my_worker.ts
 * serveGridJobs((model) => ({ run: (job) => explainOn(model, job), dispose() {} }));
 * ```
 */
export function serveGridJobs<Job extends GridJob, Result>(
  handlerFor: JobHandlerFactory<Job, Result>,
): void {
  let started: Promise<unknown> | undefined;
  let loaded:
    | { checkpoint: string; model: tf.LayersModel; handler: JobHandler<Job, Result> }
    | undefined;
  serveJobs<Job, Result>(async (job) => {
    started ??= startBackend(job.backend, { openBlas: job.openBlas });
    await started;
    if (loaded?.checkpoint !== job.checkpoint) {
      loaded?.handler.dispose();
      loaded?.model.dispose();
      loaded = undefined;
      const { model } = await loadCheckpointModel(job.checkpoint);
      try {
        loaded = { checkpoint: job.checkpoint, model, handler: handlerFor(model) };
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    return loaded.handler.run(job);
  });
}
