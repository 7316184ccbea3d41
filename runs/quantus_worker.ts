/**
 * The Web Worker behind `deno task quantus --workers N`: answers `QuantusBatchJob`s with
 * {@link quantusBatchHandler} (its own backend, model and metric model, see `serveGridJobs`).
 *
 * @module
 */
import { serveGridJobs } from "./grid_job.ts";
import { quantusBatchHandler } from "./quantus_batch.ts";

serveGridJobs(quantusBatchHandler);
