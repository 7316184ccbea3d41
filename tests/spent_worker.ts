/**
 * A worker for the restarting pool's test: answers each request with how many jobs this worker
 * has served so far, and says it is spent (as a worker whose wasm backend aborted would) when
 * asked to.
 *
 * @module
 */
import { serveJobs } from "../core/worker_pool.ts";

let served = 0;
serveJobs((request: { spend: boolean }) => {
  served++;
  return Promise.resolve({ served, spent: request.spend });
});
