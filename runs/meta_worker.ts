/**
 * The Web Worker behind `deno task meta --workers N`: answers `MetaBatchJob`s with
 * {@link metaBatchHandler} (its own backend, model and metric model, see `serveGridJobs`).
 *
 * @module
 */
import { serveGridJobs } from "./grid_job.ts";
import { metaBatchHandler } from "./meta_batch.ts";

serveGridJobs(metaBatchHandler);
