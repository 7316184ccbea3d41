/**
 * `deno task xai`: explain each model's test-split predictions with each attribution method,
 * writing the maps (`.npy`), jet heatmaps and overlays (`.png`) and an index per method.
 *
 * @module
 */
import { stringifyCsv, tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { inProcessRunner, type JobRunner, WorkerPool } from "../core/worker_pool.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import { type BackendName, describeBackend, startBackend } from "../backends/backend.ts";
import { argmaxRows, predictLogits } from "../evaluation/inference.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";
import type { Explainer } from "../xai/explainer.ts";
import { type ExplainerOptions, EXPLAINERS, getExplainer } from "../xai/registry.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import {
  loadCheckpointModel,
  type ModelBuilder,
  requireBestCheckpoints,
} from "../runs/model_source.ts";
import {
  checkpointTestSplit,
  parseTargetChoice,
  type TargetChoice,
} from "../runs/test_predictions.ts";
import { type CheckpointMeta } from "../training/checkpoint_io.ts";
import {
  fingerprint,
  ownsItem,
  preparePartsDir,
  SHARD_FLAGS,
  shardFromCommandLine,
  writePart,
} from "../runs/shard.ts";
import { explainXaiChunk, type XaiChunkJob, type XaiChunkResult } from "../runs/xai_chunk.ts";
import { mergeXaiMethod, XAI_INDEX_COLUMNS, xaiMethodDir } from "../runs/xai_merge.ts";
import { parseWorkers, workersFlag } from "../runs/workers_flag.ts";

/** The reference pipeline's methods that exist here (LIME does not yet), plus Saliency. */
export const XAI_DEFAULT_METHODS: readonly string[] = [
  "gradcam",
  "gradcam_plus_plus",
  "integrated_gradients",
  "saliency",
];

/**
 * Images per explain call, and per chunk (the unit of sharding and resume): enough to fill the
 * backend, small enough for IG's path batches.
 */
export const XAI_CHUNK_SIZE = 8;

/** Command-line description of `xai`. */
export const xaiSpec: StageSpec = {
  name: "xai",
  summary:
    "Explain each model's test-split predictions with each method: maps, heatmaps, overlays.",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "seed",
    "config",
    "backend",
    "convolutions",
    "on-bad-image",
  ],
  flags: {
    ...SHARD_FLAGS,
    "chunk-size": {
      type: "string",
      valueName: "N",
      help: `images per explain call and per part file (default ${XAI_CHUNK_SIZE}); ` +
        "the same for every shard",
    },
    methods: {
      type: "string",
      valueName: "a,b",
      help: `attribution methods (default ${XAI_DEFAULT_METHODS.join(",")}); any of ` +
        EXPLAINERS.map((e) => e.name).join(", "),
    },
    target: {
      type: "string",
      valueName: "pred|true",
      help: "class to explain: the predicted one (default) or the true one",
    },
    workers: workersFlag("explaining chunks"),
  },
  details: "Writes, per model and method, under <out>/explanations/<model>/<method>/:\n" +
    "  heatmap/<id>.npy      float32 [H, W] at the model's input size, min-max normalised to " +
    "[0, 1]\n" +
    "  heatmap/<id>.raw.npy  the method's raw signed map\n" +
    "  heatmap/<id>.png      the map in matplotlib's jet, at the source image's size\n" +
    "  overlay/<id>.png      0.55 x image + 0.45 x heatmap, at the source image's size\n" +
    `  index.csv             ${XAI_INDEX_COLUMNS.join(", ")}\n` +
    "  timings.csv           id, seconds (the image's share of its chunk's explain call)\n" +
    "<id> is the sample id <split>/<Class>/<file stem>, e.g. test/MI/MI(12), kept as nested " +
    "folders. probability is the predicted class's softmax probability.\n" +
    `Work is split into chunks of ${XAI_CHUNK_SIZE} images; each finished chunk leaves a part ` +
    "file under parts/, so a killed run resumes where it stopped. An unsharded run merges the " +
    "parts into index.csv at the end and removes files of images no longer in it; with " +
    "--shard, run `deno task merge` after all shards. Chunks, over all methods, are spread " +
    "over --workers, which write the files themselves. Only timings.csv differs between runs, " +
    "whatever the shards or workers.\n" +
    "Example: deno task xai --models ecgnet --methods gradcam,saliency --limit 16",
};

/**
 * The `--chunk-size` flag, or {@link XAI_CHUNK_SIZE}.
 *
 * @throws {InputError} for anything but a positive whole number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseChunkSize } from "./xai.ts";
 * assert(parseChunkSize("2") === 2 && parseChunkSize(undefined) === 8);
 * ```
 */
export function parseChunkSize(flag: unknown): number {
  if (flag === undefined) return XAI_CHUNK_SIZE;
  const n = Number(flag);
  if (typeof flag !== "string" || !/^\d+$/.test(flag) || n < 1) {
    throw new InputError(`--chunk-size ${flag}: expected a positive whole number, e.g. 8`);
  }
  return n;
}

/**
 * The explainers `--methods` names (comma-separated), or the defaults.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseMethods } from "./xai.ts";
 * assert(parseMethods("saliency, gradcam").map((e) => e.name).join() === "saliency,gradcam");
 * ```
 */
export function parseMethods(flag: unknown): Explainer<ExplainerOptions>[] {
  const names = typeof flag === "string"
    ? [...new Set(flag.split(",").map((s) => s.trim()).filter((s) => s !== ""))]
    : XAI_DEFAULT_METHODS;
  if (names.length === 0) throw new InputError("--methods: name at least one method");
  return names.map(getExplainer);
}

/**
 * Runs `xai` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { xai, xaiSpec } from "./xai.ts";
 * await xai((await parseStageArgs(xaiSpec, ["--methods", "gradcam", "--limit", "8"]))!);
 * ```
 */
export async function xai(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const explainers = parseMethods(flags.methods);
  const targetChoice = parseTargetChoice(flags.target);
  const workers = parseWorkers(flags.workers);
  const shard = shardFromCommandLine(flags);
  const chunkSize = parseChunkSize(flags["chunk-size"]);
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  const backend = await startBackend(config.backend, {
    openBlas: config.convolutions === "openblas",
  });
  console.log(describeBackend(backend));
  // Workers build models from the registry; a caller's own builder runs in this thread. One
  // pool serves every model (a worker reloads when a job names another checkpoint), started
  // on first use.
  let pool: WorkerPool<XaiChunkJob, XaiChunkResult> | undefined;
  try {
    // Work item k (model x method x chunk, in this order) is shard k mod n's.
    let item = 0;
    for (const { name, paths } of checkpoints) {
      const { meta, loaded, chunks, checkpointDigest } = await checkpointTestSplit(
        config,
        paths.best,
        chunkSize,
        "xai",
      );
      const owned = explainers.map(() => chunks.map(() => ownsItem(shard, item++)));
      if (!owned.flat().includes(true)) continue;
      const { model } = await loadCheckpointModel(paths.best, hooks.buildModel);
      try {
        const runner: JobRunner<XaiChunkJob, XaiChunkResult> = workers > 1 && !hooks.buildModel
          ? (pool ??= new WorkerPool(new URL("../runs/xai_worker.ts", import.meta.url), workers))
          : inProcessRunner((job) => explainXaiChunk(model, job));
        await explainModel(name, model, meta, loaded, chunks, {
          explainers,
          owned,
          targetChoice,
          checkpointDigest,
          checkpoint: paths.best,
          backend: backend.name,
          openBlas: backend.openBlas !== undefined,
          runner,
          out: config.out,
          chunkSize,
          merge: shard.count === 1,
        });
      } finally {
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

async function explainModel(
  name: string,
  model: tf.LayersModel,
  meta: CheckpointMeta,
  loaded: LoadedImages,
  chunks: number[][],
  run: {
    explainers: Explainer<ExplainerOptions>[];
    /** [method][chunk]: whether this shard explains it. */
    owned: boolean[][];
    targetChoice: TargetChoice;
    checkpointDigest: string;
    /** The best-checkpoint folder, for workers to load. */
    checkpoint: string;
    backend: BackendName;
    openBlas: boolean;
    runner: JobRunner<XaiChunkJob, XaiChunkResult>;
    out: string;
    chunkSize: number;
    merge: boolean;
  },
): Promise<void> {
  const k = meta.classes.length;
  const actual = loaded.samples.map((s) => s.label);
  // Logits of the owned chunks, one chunk per batch: a chunk's numbers never depend on which
  // other chunks a shard has, so shards and resumed runs agree with one process bit for bit.
  const ownedChunks = chunks.filter((_, c) => run.owned.some((byChunk) => byChunk[c]));
  const indices = ownedChunks.flat();
  const logits = await predictLogits(model, loaded, indices, run.chunkSize);
  const predicted = new Int32Array(loaded.samples.length);
  const probability = new Float64Array(loaded.samples.length);
  const predictedRows = argmaxRows(logits, k);
  const { probabilities } = softmaxCrossEntropyRows(logits, indices.map((i) => actual[i]), k);
  for (const [row, i] of indices.entries()) {
    predicted[i] = predictedRows[row];
    probability[i] = probabilities[row * k + predictedRows[row]];
  }
  const targets = run.targetChoice === "pred" ? predicted : Int32Array.from(actual);
  // Every method's pending chunks form one job list, so that workers share out a model's work
  // even when each method has a single chunk.
  const methods: {
    explainer: Explainer<ExplainerOptions>;
    dir: string;
    fp: string;
    /** Chunks this run explains. */
    chunks: number;
  }[] = [];
  const todo: { method: number; chunk: number }[] = [];
  for (const [m, explainer] of run.explainers.entries()) {
    const dir = xaiMethodDir(run.out, name, explainer.name);
    const fp = await fingerprint({
      checkpoint: run.checkpointDigest,
      method: explainer.name,
      target: run.targetChoice,
      images: loaded.samples.map((s) => [s.id, s.file]),
      chunkSize: run.chunkSize,
    });
    const { done } = await preparePartsDir(dir, fp, chunks.length);
    const pending = chunks.map((_, c) => c).filter((c) => run.owned[m][c] && !done.includes(c));
    methods.push({ explainer, dir, fp, chunks: pending.length });
    todo.push(...pending.map((chunk) => ({ method: m, chunk })));
  }
  const progress = new Progress(
    `${name} ${run.explainers.map((e) => e.name).join(",")}`,
    todo.reduce((sum, { chunk }) => sum + chunks[chunk].length, 0),
  );
  await run.runner.map(
    todo.length,
    (j): XaiChunkJob => {
      const chunk = chunks[todo[j].chunk];
      const { xNHWC, shape } = assembleBatch(loaded, chunk);
      return {
        checkpoint: run.checkpoint,
        backend: run.backend,
        openBlas: run.openBlas,
        method: methods[todo[j].method].explainer.name,
        dir: methods[todo[j].method].dir,
        xNHWC,
        shapeNHWC: [...shape],
        targets: Int32Array.from(chunk, (i) => targets[i]),
        images: chunk.map((i) => ({
          id: loaded.samples[i].id,
          file: loaded.samples[i].file,
          trueClass: meta.classes[actual[i]],
          predictedClass: meta.classes[predicted[i]],
          probability: probability[i],
          targetClass: meta.classes[targets[i]],
        })),
      };
    },
    async (j, { partRows }) => {
      // Parts are per chunk, so completion order does not matter.
      const { dir, fp } = methods[todo[j].method];
      await writePart(dir, fp, todo[j].chunk, chunks.length, stringifyCsv(partRows));
      progress.tick(chunks[todo[j].chunk].length);
    },
  );
  progress.done();
  for (const { explainer, dir, chunks: explained } of methods) {
    if (run.merge) {
      const n = await mergeXaiMethod(dir);
      console.log(`${name} ${explainer.name}: ${n} explanations -> ${dir}`);
    } else {
      console.log(`${name} ${explainer.name}: ${explained} chunk(s) explained -> ${dir}/parts`);
    }
  }
}

if (import.meta.main) Deno.exit(await runStage(xaiSpec, Deno.args, xai));
