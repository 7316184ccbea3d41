/**
 * A Web Worker of `writeSyntheticDataset`'s pool: renders and encodes the images it is sent
 * (`renderSyntheticImageFiles`).
 *
 * @module
 */
import { serveJobs } from "../../core/worker_pool.ts";
import { renderSyntheticImageFiles, type SyntheticImageJob } from "./synthetic_dataset.ts";

serveJobs((job: SyntheticImageJob) => Promise.resolve(renderSyntheticImageFiles(job)));
