/**
 * The Web Worker behind `deno task xai --workers N`: answers `XaiChunkJob`s with
 * {@link xaiChunkHandler} (its own backend and model, see `serveGridJobs`), writing each chunk's
 * files itself.
 *
 * @module
 */
import { serveGridJobs } from "./grid_job.ts";
import { xaiChunkHandler } from "./xai_chunk.ts";

serveGridJobs(xaiChunkHandler);
