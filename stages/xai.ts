/**
 * `deno task xai`: explain each model's test-split predictions with each attribution method,
 * writing the maps (`.npy`), jet heatmaps and overlays (`.png`) and an index per method.
 *
 * @module
 */
import { join } from "node:path";
import { png, stringifyCsv, tf } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { readImageFile } from "../data/decode_image.ts";
import type { RgbaImage } from "../data/image.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import { writeNpyFile } from "../data/npy.ts";
import { describeBackend, startBackend } from "../models/backend.ts";
import { argmaxRows, predictLogits } from "../evaluation/inference.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";
import type { Explainer } from "../xai/explainer.ts";
import { normaliseMinMax } from "../xai/normalise.ts";
import { explanationPictures } from "../xai/overlay.ts";
import { type ExplainerOptions, EXPLAINERS, getExplainer } from "../xai/registry.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadCheckpointModel, type ModelBuilder, requireBestCheckpoints } from "./model_source.ts";
import { checkpointTestSplit, parseTargetChoice, type TargetChoice } from "./test_predictions.ts";
import { type CheckpointMeta } from "../training/checkpoint_io.ts";
import {
  fingerprint,
  ownsItem,
  preparePartsDir,
  SHARD_FLAGS,
  shardFromCommandLine,
  writePart,
} from "./shard.ts";
import {
  mergeXaiMethod,
  XAI_INDEX_COLUMNS,
  XAI_PART_COLUMNS,
  xaiImageFiles,
  xaiMethodDir,
} from "./xai_merge.ts";

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
  shared: ["data", "out", "models", "limit", "seed", "config", "backend", "on-bad-image"],
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
    "--shard, run `deno task merge` after all shards. Only timings.csv differs between runs.\n" +
    "Example: deno task xai --models ecgnet --methods gradcam,saliency --limit 16",
};

/**
 * The `--chunk-size` flag, or {@link XAI_CHUNK_SIZE}.
 *
 * @throws {InputError} for anything but a positive whole number.
 *
 * @example
 * ```ts
 * import { parseChunkSize } from "./xai.ts";
 * console.assert(parseChunkSize("2") === 2 && parseChunkSize(undefined) === 8);
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
 * import { parseMethods } from "./xai.ts";
 * console.assert(parseMethods("saliency, gradcam").map((e) => e.name).join() === "saliency,gradcam");
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
 * Where a sample id's files go, relative to `heatmap/` and `overlay/`: the id itself, so that
 * `test/MI/MI(12)` becomes the nested `test/MI/MI(12).npy` and the path minus its ending is the
 * id again.
 *
 * @throws {InputError} for an id with an empty, `.` or `..` part, which would not map back.
 *
 * @example
 * ```ts
 * import { explanationStem } from "./xai.ts";
 * console.assert(explanationStem("test/MI/MI(12)") === "test/MI/MI(12)");
 * ```
 */
export function explanationStem(id: string): string {
  const parts = id.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\"))) {
    throw new InputError(`sample id "${id}" cannot name a file; rename the image`);
  }
  return id;
}

/** An explain call's maps: raw, normalised, and how long the call took. */
export interface ExplainedBatch {
  /** [N, H, W] the method's maps as it returned them. */
  rawNHW: Float32Array;
  /** [N, H, W] each map min-max normalised to [0, 1] (a constant map gives zeros). */
  normalisedNHW: Float32Array;
  /** Seconds the explain call took. */
  seconds: number;
}

/**
 * Runs one explainer on one NHWC batch and normalises its maps.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { getExplainer } from "../xai/registry.ts";
 * import { explainBatch } from "./xai.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = new Float32Array(32 * 32 * 3).map((_, i) => Math.sin(i));
 * const maps = await explainBatch(getExplainer("saliency"), model, x, [1, 32, 32, 3], Int32Array.of(2));
 * console.assert(maps.normalisedNHW.every((v) => v >= 0 && v <= 1));
 * model.dispose();
 * ```
 */
export async function explainBatch(
  explainer: Explainer<ExplainerOptions>,
  model: tf.LayersModel,
  xNHWC: Float32Array,
  shape: readonly [number, number, number, number],
  targets: Int32Array,
): Promise<ExplainedBatch> {
  const x = tf.tensor4d(xNHWC, [...shape]);
  try {
    const start = performance.now();
    const { mapsNHW } = await explainer.explain(model, x, targets);
    const seconds = (performance.now() - start) / 1000;
    return { rawNHW: mapsNHW, normalisedNHW: normaliseMinMax(mapsNHW, shape[0]), seconds };
  } finally {
    x.dispose();
  }
}

function encodePng(image: RgbaImage): Uint8Array {
  return png.encode({
    width: image.widthPx,
    height: image.heightPx,
    data: image.data,
    channels: 4,
  });
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
  const shard = shardFromCommandLine(flags);
  const chunkSize = parseChunkSize(flags["chunk-size"]);
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  console.log(describeBackend(await startBackend(config.backend)));
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
      await explainModel(name, model, meta, loaded, chunks, {
        explainers,
        owned,
        targetChoice,
        checkpointDigest,
        out: config.out,
        chunkSize,
        merge: shard.count === 1,
      });
    } finally {
      model.dispose();
    }
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
    const todo = chunks.map((_, c) => c).filter((c) => run.owned[m][c] && !done.includes(c));
    const progress = new Progress(
      `${name} ${explainer.name}`,
      todo.reduce((sum, c) => sum + chunks[c].length, 0),
    );
    for (const c of todo) {
      const chunk = chunks[c];
      const batch = assembleBatch(loaded, chunk);
      const [, heightPx, widthPx] = batch.shape;
      const mapSize = heightPx * widthPx;
      const explained = await explainBatch(
        explainer,
        model,
        batch.xNHWC,
        batch.shape,
        Int32Array.from(chunk, (i) => targets[i]),
      );
      const rows: string[][] = [[...XAI_PART_COLUMNS]];
      for (const [row, i] of chunk.entries()) {
        const sample = loaded.samples[i];
        const stem = explanationStem(sample.id);
        const map = explained.normalisedNHW.subarray(row * mapSize, (row + 1) * mapSize);
        const raw = explained.rawNHW.subarray(row * mapSize, (row + 1) * mapSize);
        const [npy, rawNpy, heatmapPng, overlayPng] = xaiImageFiles(stem).map((f) => join(dir, f));
        await writeNpyFile(npy, [heightPx, widthPx], map);
        await writeNpyFile(rawNpy, [heightPx, widthPx], raw);
        const pictures = explanationPictures(
          map,
          widthPx,
          heightPx,
          await readImageFile(sample.file),
        );
        await writeFileAtomic(heatmapPng, encodePng(pictures.heatmap));
        await writeFileAtomic(overlayPng, encodePng(pictures.overlay));
        rows.push([
          sample.id,
          sample.file,
          meta.classes[actual[i]],
          meta.classes[predicted[i]],
          probability[i].toFixed(6),
          meta.classes[targets[i]],
          (explained.seconds / chunk.length).toFixed(4),
        ]);
      }
      await writePart(dir, fp, c, chunks.length, stringifyCsv(rows));
      progress.tick(chunk.length);
    }
    progress.done();
    if (run.merge) {
      const n = await mergeXaiMethod(dir);
      console.log(`${name} ${explainer.name}: ${n} explanations -> ${dir}`);
    } else {
      console.log(`${name} ${explainer.name}: ${todo.length} chunk(s) explained -> ${dir}/parts`);
    }
  }
}

if (import.meta.main) Deno.exit(await runStage(xaiSpec, Deno.args, xai));
