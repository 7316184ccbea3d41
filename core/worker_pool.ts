/**
 * Running independent jobs on several cores: a pool of Web Workers, each serving one job at a
 * time, or the same interface in this thread. tfjs's wasm threads do not work under Deno, so
 * processes-worth of parallelism come from workers, each with its own tfjs and model.
 *
 * Workers inherit the parent's Deno permissions (Deno's default for `new Worker`), so a stage
 * run with `--allow-read=. --allow-write=outputs` gives its workers exactly that.
 *
 * @module
 */
import { InputError } from "./errors.ts";

/** Runs jobs by index; results arrive through `onResult`, in completion order. */
export interface JobRunner<Request, Result> {
  /** Jobs that run at the same time. */
  readonly size: number;
  /**
   * Runs jobs 0..count − 1, making each request only when a runner is free (so requests that
   * hold large arrays do not pile up), and calls `onResult` as each finishes. On the first
   * failure no new job starts; the running ones finish, then the error is thrown.
   */
  map(
    count: number,
    request: (index: number) => Request | Promise<Request>,
    onResult: (index: number, result: Result) => void | Promise<void>,
  ): Promise<void>;
  /** Stops the workers; the runner cannot be used afterwards. */
  close(): void;
}

/** A worker's reply to job `id`. */
type Reply<Result> =
  | { id: number; result: Result }
  | { id: number; error: { name: string; message: string; stack?: string } };

/**
 * Runs jobs one after another in this thread with `handle`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { inProcessRunner } from "./worker_pool.ts";
 * const runner = inProcessRunner((n: number) => Promise.resolve(n * n));
 * const out: number[] = [];
 * await runner.map(3, (i) => i + 1, (i, r) => { out[i] = r; });
 * assert(out.join() === "1,4,9" && runner.size === 1);
 * ```
 */
export function inProcessRunner<Request, Result>(
  handle: (request: Request) => Promise<Result>,
): JobRunner<Request, Result> {
  return {
    size: 1,
    async map(count, request, onResult) {
      for (let i = 0; i < count; i++) await onResult(i, await handle(await request(i)));
    },
    close() {},
  };
}

/**
 * Answers jobs inside a worker module: call once at its top level with the job handler. A
 * thrown error goes back to the pool, which rethrows it (an {@link InputError} as one).
 *
 * @example
 * ```ts ignore
 * // my_worker.ts
 * serveJobs(async (n: number) => n * n);
 * ```
 */
export function serveJobs<Request, Result>(handle: (request: Request) => Promise<Result>): void {
  const scope = self as unknown as {
    onmessage: ((event: MessageEvent<{ id: number; request: Request }>) => void) | null;
    postMessage(message: Reply<Result>): void;
  };
  // Jobs are answered one at a time: the pool sends a worker its next job only after a reply.
  scope.onmessage = async ({ data: { id, request } }) => {
    try {
      scope.postMessage({ id, result: await handle(request) });
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      scope.postMessage({
        id,
        error: { name: error.name, message: error.message, stack: error.stack },
      });
    }
  };
}

/** The error a worker reported, as this thread throws it. */
function revive(error: { name: string; message: string; stack?: string }): Error {
  if (error.name === "InputError") return new InputError(error.message);
  const revived = new Error(`in a worker: ${error.message}`);
  revived.stack = `${revived.message}\n--- worker stack ---\n${error.stack ?? ""}`;
  return revived;
}

/**
 * Runs `work(slot, index)` for the indices 0..count-1 in order of start, `slots` at a time: each
 * slot takes the next index when its previous one is done. After the first failure no new index
 * starts; the running ones finish, then that failure is thrown. The scheduling of every pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { serveIndices } from "./worker_pool.ts";
 * const seen: number[] = [];
 * await serveIndices(2, 5, async (_slot, index) => { seen.push(index); });
 * assert(seen.toSorted().join() === "0,1,2,3,4");
 * await assert.rejects(serveIndices(2, 5, (_s, i) => i === 1 ? Promise.reject(new Error("x")) : Promise.resolve()), /x/);
 * ```
 */
export async function serveIndices(
  slots: number,
  count: number,
  work: (slot: number, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const serve = async (slot: number) => {
    while (next < count && !failure) {
      const index = next++;
      try {
        await work(slot, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: slots }, (_, slot) => serve(slot)));
  if (failure) throw failure.error;
}

/**
 * A pool of `size` module workers running `moduleUrl`, a module that calls {@link serveJobs}.
 * Each worker starts with the parent's permissions and loads what it needs itself.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool<number, number>(new URL("./square_worker.ts", import.meta.url), 2);
 * try {
 *   await pool.map(4, (i) => i, (i, r) => console.log(i, r));
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class WorkerPool<Request, Result> implements JobRunner<Request, Result> {
  readonly size: number;
  readonly #workers: Worker[];
  #nextId = 0;

  /**
   * @param moduleUrl the worker module.
   * @param size workers to start (an integer >= 1).
   * @throws {InputError} for a size that is not an integer >= 1.
   */
  constructor(moduleUrl: URL, size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new InputError(`workers: ${size} must be an integer >= 1`);
    }
    this.size = size;
    this.#workers = Array.from({ length: size }, () => new Worker(moduleUrl, { type: "module" }));
  }

  /** Sends one job to `worker` and resolves with its reply. */
  #send(worker: Worker, request: Request): Promise<Result> {
    const id = this.#nextId++;
    return new Promise<Result>((resolve, reject) => {
      worker.onmessage = ({ data }: MessageEvent<Reply<Result>>) => {
        if (data.id !== id) return;
        if ("error" in data) reject(revive(data.error));
        else resolve(data.result);
      };
      worker.onerror = (event: ErrorEvent) => {
        // The worker's module failed (an import, an uncaught error): report it here instead of
        // letting it end the process.
        event.preventDefault();
        reject(new Error(`a worker failed: ${event.message}`));
      };
      worker.postMessage({ id, request });
    });
  }

  async map(
    count: number,
    request: (index: number) => Request | Promise<Request>,
    onResult: (index: number, result: Result) => void | Promise<void>,
  ): Promise<void> {
    await serveIndices(this.#workers.length, count, async (slot, index) => {
      await onResult(index, await this.#send(this.#workers[slot], await request(index)));
    });
  }

  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
