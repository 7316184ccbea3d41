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
 * A job that runs out of heap (or whose wasm backend aborts, `backends/heap.ts`) fails alone:
 * the runner prints one line naming the model, the method, the chunk and what to do, records
 * the reason beside the parts (`status` and `merge` show it; the chunk stays pending, so a
 * rerun tries it again), replaces the worker whose backend was lost, goes on with the other
 * jobs, leaves a method with a failed chunk unmerged, and ends by listing what failed (an
 * {@link InputError}: exit status 1, no stack trace). In this thread a lost backend cannot be
 * replaced: the jobs after it are recorded as not run and the remaining models wait for a rerun.
 *
 * A stage describes its job type as a {@link GridJobType}: the worker module and handler that
 * run a job (`runs/grid_job.ts`), where a method's files go, and per model what a job carries
 * beyond {@link GridJob}, what its part rows are, and how a finished folder merges.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import type { Config } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { inProcessRunner, type JobRunner } from "../core/worker_pool.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { type CheckpointMeta, readCheckpointMeta } from "../training/checkpoint_io.ts";
import {
  type GridJob,
  type GridOutcome,
  type JobHandler,
  type JobHandlerFactory,
  runGridJob,
} from "./grid_job.ts";
import { RestartingWorkerPool } from "./restarting_pool.ts";
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
  writePartFailure,
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
 * @throws {GridJobsFailed} after every other job ran, when jobs failed for want of heap (listed
 * on stderr).
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
    heapBudgetMb: config.heapBudgetMb,
  });
  console.log(describeBackend(backend));
  // Workers build models from the registry; a caller's own builder runs in this thread. One
  // pool serves every model and method (a worker reloads when a job names another
  // checkpoint), started on first use.
  const pooled = run.workers > 1 && !run.buildModel;
  let pool: RestartingWorkerPool<Job, GridOutcome<Result>> | undefined;
  const failures: GridFailures = { lines: [], jobs: 0 };
  try {
    let item = 0;
    for (const { name, paths } of checkpoints) {
      // This thread's backend is gone: the models left run on the next try.
      if (failures.lostHere) break;
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
        const runHere = (job: Job): Promise<GridOutcome<Result>> =>
          failures.lostHere
            ? Promise.resolve({
              failure: {
                reason:
                  `not run: the wasm backend of this process was lost on ${failures.lostHere}`,
                backendLost: false,
              },
            })
            : runGridJob(inThread!, job);
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
            heapBudgetMb: config.heapBudgetMb,
          },
          runner: inThread ? inProcessRunner(runHere) : (pool ??= new RestartingWorkerPool(
            type.worker,
            run.workers,
            (outcome) => "failure" in outcome && outcome.failure.backendLost,
          )),
          failures,
          inThread: inThread !== undefined,
        });
      } finally {
        // After an abort the backend's memory cannot be freed (nor needs to be).
        if (!failures.lostHere) {
          handler?.dispose();
          model.dispose();
        }
      }
    }
  } finally {
    pool?.close();
  }
  if (failures.lines.length > 0) reportFailures(failures, run);
  if (shard.count > 1) {
    console.log(
      `shard ${shard.index}/${shard.count} done; after every shard, run: deno task merge --out ${config.out}`,
    );
  }
}

/**
 * A grid run ended with jobs that failed for want of heap, after every other job ran (its
 * message says what to do); a stage may still write what the finished jobs allow (a summary).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { InputError } from "../core/errors.ts";
 * import { GridJobsFailed } from "./grid.ts";
 * assert(new GridJobsFailed("2 job(s) failed") instanceof InputError);
 * ```
 */
export class GridJobsFailed extends InputError {
  /** @param message how many failed and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "GridJobsFailed";
  }
}

/** The jobs of a run that failed for want of heap. */
interface GridFailures {
  /** One line per failed job: model, method, chunk, reason. */
  lines: string[];
  /** Jobs the run started, failed or not. */
  jobs: number;
  /** The failed job whose wasm abort lost this thread's backend. */
  lostHere?: string;
}

/** What to do about a heap failure, with the run's values of the flags that help. */
function heapAdvice(run: GridRun): string {
  return `rerun with a lower --heap-budget-mb (now ${run.config.heapBudgetMb}) or ` +
    `--chunk-size (now ${run.chunkSize})`;
}

/**
 * Lists the failed jobs on stderr and throws one line saying what to do (the finished jobs'
 * outputs are written, the failed chunks are pending).
 */
function reportFailures(failures: GridFailures, run: GridRun): never {
  console.error(`${failures.lines.length} of ${failures.jobs} job(s) failed:`);
  for (const line of failures.lines) console.error(`  ${line}`);
  const lost = failures.lostHere
    ? "; this process's wasm backend was lost, so the jobs after it did not run (with " +
      "--workers 2 or more a lost worker is replaced and the others go on)"
    : "";
  throw new GridJobsFailed(
    `${failures.lines.length} job(s) failed for want of heap (listed above)${lost}: ` +
      `${heapAdvice(run)}; the finished chunks are kept and only the others run again`,
  );
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
    base: Pick<GridJob, "checkpoint" | "backend" | "openBlas" | "heapBudgetMb">;
    runner: JobRunner<Job, GridOutcome<Result>>;
    /** Where failed jobs are recorded. */
    failures: GridFailures;
    /** Whether the jobs run in this thread (a lost backend is then this process's). */
    inThread: boolean;
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
  const { failures } = model;
  failures.jobs += todo.length;
  const failedFolders = new Set<string>();
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
    async (j, outcome) => {
      // Parts are per chunk, so completion order does not matter.
      const cell = todo[j];
      if ("failure" in outcome) {
        const { reason, backendLost } = outcome.failure;
        const what = `${name} ${cell.method}, chunk ${cell.chunk} of ${chunks.length} ` +
          `(${cell.indices.length} image(s) of ${meta.imgSizePx} px)`;
        await writePartFailure(cell.folder, cell.fp, cell.chunk, chunks.length, reason);
        failedFolders.add(cell.folder);
        failures.lines.push(`${what}: ${reason}`);
        if (backendLost && model.inThread) failures.lostHere ??= what;
        console.error(`failed: ${what}: ${reason}; ${heapAdvice(run)}`);
      } else {
        const rows = jobs.partRows(cell, outcome.result);
        await writePart(cell.folder, cell.fp, cell.chunk, chunks.length, stringifyCsv(rows));
      }
      progress.tick(cell.indices.length);
    },
  );
  progress.done();
  for (const { method, folder, ran } of folders) {
    if (failedFolders.has(folder)) {
      console.log(
        `${name} ${method}: not merged, chunks failed (listed at the end); the finished ` +
          `ones are kept in ${folder}/parts`,
      );
    } else if (run.shard.count === 1) {
      console.log(`${name} ${method}: ${await jobs.merge(folder)}`);
    } else {
      console.log(`${name} ${method}: ${ran} chunk(s) done -> ${folder}/parts`);
    }
  }
}
