/**
 * A pool of Web Workers that replaces a worker whose result says it cannot go on: after a wasm
 * abort the tfjs wasm backend of that worker is dead for good (its heap may be corrupted), but
 * the other jobs of a grid should still run, on a fresh worker with a fresh heap.
 *
 * Each of its `size` slots is a one-worker `WorkerPool` (`core/worker_pool.ts`); a slot whose
 * job's result is `spent` is closed and started again before it takes the next job. Errors
 * behave as in `WorkerPool`: on the first one no new job starts, the running ones finish, then
 * it is thrown.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { type JobRunner, serveIndices, WorkerPool } from "../core/worker_pool.ts";

/**
 * Runs jobs on `size` workers of `moduleUrl` (a module that calls `serveJobs`), replacing a
 * worker after a result for which `spent` is true.
 *
 * @example
 * ```ts ignore
 * const pool = new RestartingWorkerPool<Job, GridOutcome<R>>(url, 2, (o) => "failure" in o && o.failure.backendLost);
 * try {
 *   await pool.map(jobs.length, (i) => jobs[i], (i, outcome) => record(i, outcome));
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class RestartingWorkerPool<Request, Result> implements JobRunner<Request, Result> {
  readonly size: number;
  readonly #moduleUrl: URL;
  readonly #spent: (result: Result) => boolean;
  readonly #slots: WorkerPool<Request, Result>[];
  /** Workers started again after a spent result, for messages and tests. */
  restarts = 0;

  /**
   * @param moduleUrl the worker module.
   * @param size workers to run at once (an integer >= 1).
   * @param spent whether a result leaves its worker unusable.
   * @throws {InputError} for a size that is not an integer >= 1.
   */
  constructor(moduleUrl: URL, size: number, spent: (result: Result) => boolean) {
    if (!Number.isInteger(size) || size < 1) {
      throw new InputError(`workers: ${size} must be an integer >= 1`);
    }
    this.size = size;
    this.#moduleUrl = moduleUrl;
    this.#spent = spent;
    this.#slots = Array.from({ length: size }, () => new WorkerPool(moduleUrl, 1));
  }

  async map(
    count: number,
    request: (index: number) => Request | Promise<Request>,
    onResult: (index: number, result: Result) => void | Promise<void>,
  ): Promise<void> {
    await serveIndices(this.#slots.length, count, async (slot, index) => {
      let result: { value: Result } | undefined;
      await this.#slots[slot].map(1, () => request(index), (_, value) => {
        result = { value };
      });
      if (this.#spent(result!.value)) {
        this.#slots[slot].close();
        this.#slots[slot] = new WorkerPool(this.#moduleUrl, 1);
        this.restarts++;
      }
      await onResult(index, result!.value);
    });
  }

  close(): void {
    for (const slot of this.#slots) slot.close();
  }
}
