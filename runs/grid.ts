/**
 * The sharded grid runner behind `deno task xai` and `deno task quantus`: every model x method x
 * chunk of the test split is one job, and the runner owns everything around the jobs, so both
 * stages shard, resume, spread over workers and merge the same way.
 *
 * For each model it loads the checkpoint's test split and cuts it into chunks; work item `k`
 * (model x method x chunk, in this order) is shard `k mod n`'s (`runs/shard.ts`). A model with
 * an owned item is loaded once, predicts its owned chunks once ({@link testPredictions}), and
 * for each method the runner fingerprints the inputs, skips the chunks whose part file exists
 * (resume), and runs the rest: in this thread, or on one pool of `--workers` Web Workers that
 * serves every model and method of the run. Each finished chunk's part is written atomically;
 * an unsharded run then merges each method's parts into its final files.
 *
 * A stage describes its job type as a {@link GridJobType}: the worker module and handler that
 * run a job (`runs/grid_job.ts`), where a method's files go, and per model what a job carries
 * beyond {@link GridJob}, what its part rows are, and how a finished folder merges.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { statOrUndefined } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { inProcessRunner, type JobRunner, WorkerPool } from "../core/worker_pool.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { type CheckpointMeta, readCheckpointMeta } from "../training/checkpoint_io.ts";
import type { GridJob, JobHandler, JobHandlerFactory } from "./grid_job.ts";
import { loadCheckpointModel, type ModelBuilder, requireBestCheckpoints } from "./model_source.ts";
import {
  outputPath,
  type PlannedRecord,
  projectVersion,
  readProvenance,
  type RecordedStage,
} from "./provenance.ts";
import {
  fingerprint,
  ownsItem,
  preparePartsDir,
  readPartsState,
  type Shard,
  writePart,
} from "./shard.ts";
import { type StageData, stageData } from "./stage_data.ts";
import {
  checkpointTestSplit,
  type TargetChoice,
  type TestPredictions,
  testPredictions,
} from "./test_predictions.ts";

/** How a grid stage was asked to run: its parsed flags. */
export interface GridRun {
  /** The stage's config: out, models, data, backend, convolutions, ... */
  config: Config;
  /** The attribution methods' registry names, in the order their work items are counted. */
  methods: readonly string[];
  /** Which class each image's explanation is for. */
  target: TargetChoice;
  /** Images per chunk: per job, per part file, per prediction batch. */
  chunkSize: number;
  shard: Shard;
  /** Jobs at a time; above 1, on a pool of Web Workers. */
  workers: number;
  /** A test's own model builder; its jobs then run in this thread (workers use the registry). */
  buildModel?: ModelBuilder;
  /**
   * Whether `config.data` was given (`--data`, a config file, a caller's config); when false,
   * each model runs on the data its checkpoint was trained on. Default true.
   */
  dataGiven?: boolean;
}

/** One model as a job type sees it: its checkpoint's test split and the predictions. */
export interface GridModel {
  /** The model's name, as `--models` gives it. */
  name: string;
  meta: CheckpointMeta;
  /** The data set the model runs on (`--data`, else its training data). */
  data: StageData;
  /** The checkpoint's fingerprint (`runs/provenance.ts`). */
  checkpointDigest: string;
  /** The test split at the checkpoint's input size and classes. */
  loaded: LoadedImages;
  /** The chunks' sample indices, in chunk order. */
  chunks: number[][];
  /** Predictions of every chunk this run owns. */
  test: TestPredictions;
}

/** One job's place in the grid. */
export interface GridCell {
  method: string;
  /** The method's output folder. */
  folder: string;
  /** The chunk's number, counted over the whole test split. */
  chunk: number;
  /** The chunk's sample indices. */
  indices: readonly number[];
}

/** What a method's outputs depend on, beyond the checkpoint and the data set. */
export interface MethodWork {
  /**
   * The settings that decide the outputs, keyed by the flag that sets them (`--target`) or by
   * what they are (`test images`: a hash of the image list). They are hashed with the checkpoint
   * and the data into the parts' fingerprint, so parts of other inputs are never reused, and a
   * shard started with other settings is refused naming the ones that differ.
   */
  settings: Record<string, unknown>;
  /** Per output column, the fingerprint of its inputs, for the provenance record (quantus). */
  columns?: Record<string, string>;
}

/** What a job type does for one model. */
export interface GridModelJobs<Job extends GridJob, Result> {
  /**
   * What `method`'s outputs depend on, or undefined when its merged outputs already hold
   * everything this run asks for (a finished method is not redone).
   */
  work(method: string): MethodWork | undefined;
  /** The job of `cell`, from the fields every job carries. */
  job(base: GridJob, cell: GridCell): Job;
  /** The part file's rows of a finished job, header first. */
  partRows(cell: GridCell, result: Result): string[][];
  /** Merges a method folder whose parts are all done; returns what it wrote, for the log. */
  merge(folder: string): Promise<string>;
}

/** A stage's job type: how its jobs run, where their files go, what each model's jobs are. */
export interface GridJobType<Job extends GridJob, Result> {
  /** The stage's name, for messages and its provenance records. */
  stage: RecordedStage;
  /** The worker module answering this type's jobs (a `serveGridJobs` call with `handler`). */
  worker: URL;
  /** Runs jobs on a loaded model; the runner's in-thread jobs use it as the workers do. */
  handler: JobHandlerFactory<Job, Result>;
  /** The output folder of one model and method under the outputs folder `out` (its parts). */
  folder(out: string, model: string, method: string): string;
  /** What a method folder's merge writes (the folder itself, or a file beside it). */
  output(folder: string): string;
  /** Prepares one model's jobs (called once per model that has work in this shard). */
  open(model: GridModel): Promise<GridModelJobs<Job, Result>>;
}

/**
 * Runs a stage's grid: every owned, unfinished model x method x chunk job of `run`, then, when
 * unsharded, each method's merge. Checkpoints are checked before the backend starts.
 *
 * @throws {InputError} for a missing checkpoint, data that does not load, or a job's input
 * error (from this thread or a worker).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { png } from "../deps.ts";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { modelPaths, writeCheckpoint } from "../training/checkpoint_io.ts";
 * import { runGrid } from "./grid.ts";
 * import { readAllParts, UNSHARDED } from "./shard.ts";
 * // A test split of one 40 x 30 image per class and an untrained checkpoint.
 * const root = await Deno.makeTempDir();
 * const classes = ["A", "B", "C"];
 * for (const c of classes) {
 *   await Deno.mkdir(`${root}/ds/test/${c}`, { recursive: true });
 *   const pixels = new Uint8Array(40 * 30 * 4).fill(200);
 *   await Deno.writeFile(`${root}/ds/test/${c}/${c}1.png`, png.encode({ width: 40, height: 30, data: pixels, channels: 4 }));
 * }
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 3, imgSizePx: 32, seed: 1 });
 * const meta = { model: "ecgnet", classes, imgSizePx: 32, epoch: 1, valAccuracy: 0, config: {} };
 * await writeCheckpoint(modelPaths(`${root}/out`, "ecgnet").best, model, meta);
 * model.dispose();
 * // A job type whose jobs count their images; each method's merged file lists its chunks.
 * const config = { ...DEFAULT_CONFIG, data: `${root}/ds`, out: `${root}/out`, backend: "cpu" as const };
 * await runGrid({
 *   stage: "xai",
 *   worker: new URL("./no_such_worker.ts", import.meta.url), // one worker runs in this thread
 *   handler: () => ({ run: (job) => Promise.resolve(job.targets.length), dispose() {} }),
 *   folder: (out, model, method) => `${out}/count/${model}/${method}`,
 *   output: (folder) => `${folder}.csv`,
 *   open: () => Promise.resolve({
 *     work: () => ({ settings: {} }),
 *     job: (base) => base,
 *     partRows: ({ chunk }, images) => [["chunk", "images"], [String(chunk), String(images)]],
 *     merge: async (folder) => {
 *       const rows = await readAllParts(folder);
 *       await Deno.writeTextFile(`${folder}.csv`, rows.map((row) => row.join()).join("\n"));
 *       return `${rows.length - 1} chunks -> ${folder}.csv`;
 *     },
 *   }),
 * }, { config, methods: ["saliency"], target: "pred", chunkSize: 2, shard: UNSHARDED, workers: 1 });
 * const merged = await Deno.readTextFile(`${root}/out/count/ecgnet/saliency.csv`);
 * assert(merged === "chunk,images\n0,2\n1,1");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function runGrid<Job extends GridJob, Result>(
  type: GridJobType<Job, Result>,
  run: GridRun,
): Promise<void> {
  const { config, shard } = run;
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  const backend = await startBackend(config.backend, {
    openBlas: config.convolutions === "openblas",
  });
  console.log(describeBackend(backend));
  // Workers build models from the registry; a caller's own builder runs in this thread. One
  // pool serves every model and method (a worker reloads when a job names another
  // checkpoint), started on first use.
  const pooled = run.workers > 1 && !run.buildModel;
  let pool: WorkerPool<Job, Result> | undefined;
  try {
    let item = 0;
    for (const { name, paths } of checkpoints) {
      const data = await stageData({
        stage: type.stage,
        model: name,
        meta: await readCheckpointMeta(paths.best),
        given: run.dataGiven === false ? undefined : config.data,
        fallback: config.data,
      });
      const split = await checkpointTestSplit(
        { ...config, data: data.root },
        paths.best,
        run.chunkSize,
        type.stage,
      );
      const owned = run.methods.map(() => split.chunks.map(() => ownsItem(shard, item++)));
      if (!owned.flat().includes(true)) continue;
      const { model } = await loadCheckpointModel(paths.best, run.buildModel);
      let handler: JobHandler<Job, Result> | undefined;
      try {
        if (!pooled) handler = type.handler(model);
        const inThread = handler;
        const test = await testPredictions(
          model,
          split.loaded,
          split.meta.classes.length,
          split.chunks.filter((_, c) => owned.some((byChunk) => byChunk[c])),
          run.target,
        );
        const gridModel: GridModel = { name, ...split, data, test };
        await runModelJobs(type, run, {
          model: gridModel,
          owned,
          jobs: await type.open(gridModel),
          backend: backend.name,
          base: {
            checkpoint: paths.best,
            backend: backend.name,
            openBlas: backend.openBlas !== undefined,
          },
          runner: inThread
            ? inProcessRunner((job: Job) => inThread.run(job))
            : (pool ??= new WorkerPool(type.worker, run.workers)),
        });
      } finally {
        handler?.dispose();
        model.dispose();
      }
    }
  } finally {
    pool?.close();
  }
  if (shard.count > 1) {
    console.log(
      `shard ${shard.index}/${shard.count} done; after every shard, run: deno task merge --out ${config.out}`,
    );
  }
}

/** A job still to run, with its folder's fingerprint. */
interface PendingCell extends GridCell {
  fp: string;
}

/**
 * Runs one model's pending jobs of every method as one job list, then merges or reports. A
 * method whose merged outputs already hold this run's work is skipped.
 */
async function runModelJobs<Job extends GridJob, Result>(
  type: GridJobType<Job, Result>,
  run: GridRun,
  model: {
    model: GridModel;
    /** [method][chunk]: whether this shard runs it. */
    owned: boolean[][];
    jobs: GridModelJobs<Job, Result>;
    /** The backend's name, for the record. */
    backend: string;
    base: Pick<GridJob, "checkpoint" | "backend" | "openBlas">;
    runner: JobRunner<Job, Result>;
  },
): Promise<void> {
  const { jobs } = model;
  const { name, chunks, loaded, test, data, checkpointDigest, meta } = model.model;
  const { out } = run.config;
  const version = await projectVersion();
  // Every method's pending chunks form one job list, so that workers share out a model's work
  // even when each method has a single chunk.
  const folders: { method: string; folder: string; ran: number }[] = [];
  const todo: PendingCell[] = [];
  for (const [m, method] of run.methods.entries()) {
    const folder = type.folder(out, name, method);
    const work = jobs.work(method);
    const settings = {
      checkpoint: checkpointDigest,
      method,
      "--data": data.identity.fingerprint,
      "--limit": run.config.limit ?? null,
      "test images": await fingerprint(loaded.samples.map((s) => [s.id, s.file])),
      ...work?.settings,
    };
    const fp = await fingerprint(settings);
    const record = await readProvenance(out, type.stage, name, method);
    const merged = await statOrUndefined(type.output(folder));
    const started = (await readPartsState(folder).catch(() => undefined))?.fingerprint === fp;
    if (!started && merged && (!work || record?.fingerprint === fp)) {
      console.log(`${name} ${method}: already done -> ${type.output(folder)}`);
      continue;
    }
    if (!work) continue;
    const planned: PlannedRecord = {
      stage: type.stage,
      model: name,
      method,
      outputs: [outputPath(out, type.output(folder))],
      checkpoint: { fingerprint: checkpointDigest, epoch: meta.epoch },
      data: data.identity,
      ...(data.trainedOn ? { trainedOn: data.trainedOn } : {}),
      settings: { ...settings, "--backend": model.backend },
      fingerprint: fp,
      ...(work.columns ? { columns: work.columns } : {}),
      version,
    };
    const { done } = await preparePartsDir(folder, fp, chunks.length, {
      shards: run.shard.count,
      settings,
      record: planned,
    });
    const pending = chunks.flatMap((indices, chunk) =>
      model.owned[m][chunk] && !done.includes(chunk) ? [{ method, folder, chunk, indices, fp }] : []
    );
    if (done.length > 0) {
      console.log(
        `${name} ${method}: resuming, ${done.length} of ${chunks.length} chunk(s) already done`,
      );
    }
    folders.push({ method, folder, ran: pending.length });
    todo.push(...pending);
  }
  if (folders.length === 0) return;
  const progress = new Progress(
    `${name} ${folders.map((f) => f.method).join(",")}`,
    todo.reduce((sum, cell) => sum + cell.indices.length, 0),
  );
  await model.runner.map(
    todo.length,
    (j) => {
      const cell = todo[j];
      const { xNHWC, shape } = assembleBatch(loaded, cell.indices);
      const base: GridJob = {
        ...model.base,
        method: cell.method,
        xNHWC,
        shapeNHWC: [...shape],
        targets: Int32Array.from(cell.indices, (i) => test.targets[i]),
      };
      return jobs.job(base, cell);
    },
    async (j, result) => {
      // Parts are per chunk, so completion order does not matter.
      const cell = todo[j];
      const rows = jobs.partRows(cell, result);
      await writePart(cell.folder, cell.fp, cell.chunk, chunks.length, stringifyCsv(rows));
      progress.tick(cell.indices.length);
    },
  );
  progress.done();
  for (const { method, folder, ran } of folders) {
    if (run.shard.count === 1) {
      console.log(`${name} ${method}: ${await jobs.merge(folder)}`);
    } else {
      console.log(`${name} ${method}: ${ran} chunk(s) done -> ${folder}/parts`);
    }
  }
}
