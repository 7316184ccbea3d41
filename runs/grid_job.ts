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
import { HeapExhaustedError, heapFailure } from "../backends/heap.ts";
import { loadCheckpointModel } from "./model_source.ts";

/** The fields every grid job carries; a job type's job adds its own. */
export interface GridJob {
  /** The best-checkpoint folder of the model (workers load it from there). */
  checkpoint: string;
  /** The backend the stage runs on (workers start the same one). */
  backend: BackendName;
  /** Whether the stage's convolutions run on OpenBLAS (workers do the same). */
  openBlas: boolean;
  /** The stage's heap budget in MiB (`--heap-budget-mb`; workers set the same); default 2560. */
  heapBudgetMb?: number;
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

/** Why a job stopped short: the heap ran out, or the wasm backend aborted. */
export interface GridJobFailure {
  /** One line, e.g. `the wasm heap is exhausted: 512.0 MiB more do not fit ...`. */
  reason: string;
  /**
   * Whether the backend of the process that ran the job is unusable now (a wasm abort: its
   * heap may be corrupted), so that a worker must be replaced before it takes another job.
   */
  backendLost: boolean;
}

/** What a job ends in: its result, or the heap failure that stopped it. */
export type GridOutcome<Result> = { result: Result } | { failure: GridJobFailure };

/**
 * Runs `job` with `handler`; a heap failure (`backends/heap.ts`) comes back as the job's
 * {@link GridJobFailure}, so that the grid marks that one job failed and goes on with the
 * others. Any other error is thrown (a bug keeps its stack, an input error its line).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HeapExhaustedError } from "../backends/heap.ts";
 * import { type GridJob, runGridJob } from "./grid_job.ts";
 * const job: GridJob = { checkpoint: "c", backend: "cpu", openBlas: false, method: "m",
 *   xNHWC: new Float32Array(0), shapeNHWC: [0, 1, 1, 3], targets: new Int32Array(0) };
 * const ran = await runGridJob({ run: () => Promise.resolve(7), dispose() {} }, job);
 * assert("result" in ran && ran.result === 7);
 * const full = await runGridJob({
 *   run: () => Promise.reject(new HeapExhaustedError("full")), dispose() {},
 * }, job);
 * assert("failure" in full && full.failure.reason === "full" && !full.failure.backendLost);
 * const aborted = await runGridJob({
 *   run: () => Promise.reject(new WebAssembly.RuntimeError("Aborted()")), dispose() {},
 * }, job);
 * assert("failure" in aborted && aborted.failure.backendLost);
 * ```
 */
export async function runGridJob<Job extends GridJob, Result>(
  handler: JobHandler<Job, Result>,
  job: Job,
): Promise<GridOutcome<Result>> {
  try {
    return { result: await handler.run(job) };
  } catch (error) {
    const reason = heapFailure(error);
    if (reason === undefined) throw error;
    // A guarded allocation that failed left the heap intact; a trap may have corrupted it.
    return { failure: { reason, backendLost: !(error instanceof HeapExhaustedError) } };
  }
}

/** Makes a job type's handler for a loaded model, in this thread or in a worker. */
export type JobHandlerFactory<Job extends GridJob, Result> = (
  model: tf.LayersModel,
) => JobHandler<Job, Result>;

/**
 * Answers grid jobs inside a worker module with `handlerFor`'s handler: starts the job's
 * backend once (with the job's heap budget), loads the job's checkpoint with the registry's
 * builder once (again when a job names another, as one pool serves every model of a run) and
 * passes each job to the handler through {@link runGridJob}, so a heap failure is a reply, not
 * an error (the pool replaces a worker whose backend it lost, `runs/restarting_pool.ts`).
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
  serveJobs<Job, GridOutcome<Result>>(async (job) => {
    started ??= startBackend(job.backend, {
      openBlas: job.openBlas,
      heapBudgetMb: job.heapBudgetMb,
    });
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
    return runGridJob(loaded.handler, job);
  });
}
