/**
 * A worker for the pool's tests: squares a number, and rejects a negative one with an
 * InputError.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { serveJobs } from "../core/worker_pool.ts";

serveJobs((n: number) => {
  if (n < 0) return Promise.reject(new InputError(`square: ${n} is negative`));
  return Promise.resolve(n * n);
});
