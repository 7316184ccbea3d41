/**
 * `deno task xai`: explain each model's test-split predictions with each attribution method,
 * writing the maps (`.npy`), heatmaps and overlays (`.png`) and an index per method.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { COLORMAP_CHOICES, type ColormapChoice, ROBUST_PERCENTILE } from "../xai/colour_scale.ts";
import type { Explainer } from "../xai/explainer.ts";
import { type ExplainerOptions, EXPLAINERS, getExplainer, readsMasks } from "../xai/registry.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { type GridJobType, type GridRun, runGrid } from "../runs/grid.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import { SHARD_FLAGS, shardFromCommandLine } from "../runs/shard.ts";
import { parseTargetChoice } from "../runs/test_predictions.ts";
import { chunkMasks, methodMasks } from "../runs/test_masks.ts";
import { xaiChunkHandler, type XaiChunkJob, type XaiChunkResult } from "../runs/xai_chunk.ts";
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
    "heap-budget-mb",
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
    colormap: {
      type: "string",
      valueName: COLORMAP_CHOICES.join("|"),
      help: "auto (default): signed maps diverging RdBu_r around 0, unsigned ones sequential " +
        "Reds; jet: the reference project's min-max jet, for comparison with its figures",
    },
  },
  details: "Writes, per model and method, under <out>/explanations/<model>/<method>/:\n" +
    "  heatmap/<id>.npy      float32 [H, W] at the model's input size, min-max normalised to " +
    "[0, 1]\n" +
    "  heatmap/<id>.raw.npy  the method's raw signed map\n" +
    "  heatmap/<id>.png      the map's colours at the source image's size, its colour bar below\n" +
    "  overlay/<id>.png      the map over the image, likewise with its colour bar below\n" +
    `  index.csv             ${XAI_INDEX_COLUMNS.join(", ")}\n` +
    "  timings.csv           id, seconds (the image's share of its chunk's explain call)\n" +
    "Colours (--colormap auto): a map with a negative value is signed and drawn in RdBu_r, " +
    `blue negative, white 0, red positive, limits ±${ROBUST_PERCENTILE}th percentile of |a|; ` +
    "any other in Reds from 0 to that percentile of a; the colour covers the image in " +
    "proportion to |a|. --colormap jet: the min-max normalised map in jet, overlay 0.55 x " +
    "image + 0.45 x heatmap. Each PNG's bar gives its limits, what the colours mean and how the " +
    "limits were chosen; its text chunks record the scale and the picture's height, so viz and " +
    "the dashboard show the picture without the bar and draw their own.\n" +
    "<id> is the sample id <split>/<Class>/<file stem>, e.g. test/MI/MI(12), kept as nested " +
    "folders. probability is the predicted class's softmax probability.\n" +
    `Work is split into chunks of ${XAI_CHUNK_SIZE} images; each finished chunk leaves a part ` +
    "file under parts/, so a killed run resumes where it stopped. An unsharded run merges the " +
    "parts into index.csv at the end and removes files of images no longer in it; with " +
    "--shard, run `deno task merge` after all shards. Chunks, over all methods, are spread " +
    "over --workers, which write the files themselves. Only timings.csv differs between runs, " +
    "whatever the shards or workers.\n" +
    "A chunk that runs out of wasm heap fails alone: one line names it and what to do, the " +
    "other chunks go on (a worker whose backend aborted is replaced), its method is not " +
    "merged, status shows why, the run ends with the list and exit status 1, and a rerun " +
    "(e.g. with a lower --heap-budget-mb or --chunk-size) redoes only the failed chunks.\n" +
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
 * The `xai` stage's job type for `run` (its target choice and chunk size): a job explains one
 * chunk with one method and writes its images' files itself; its part rows are the chunk's
 * `index.csv` rows with each image's seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { parseGridRun, xaiJobType } from "./xai.ts";
 * const type = xaiJobType(parseGridRun({ config: DEFAULT_CONFIG, flags: {} }));
 * assert(type.folder("outputs", "ecgnet", "gradcam") === "outputs/explanations/ecgnet/gradcam");
 * ```
 */
export function xaiJobType(
  { target, chunkSize, methods }: GridRun,
  colormap: ColormapChoice = "auto",
): GridJobType<XaiChunkJob, XaiChunkResult> {
  return {
    stage: "xai",
    worker: new URL("../runs/xai_worker.ts", import.meta.url),
    handler: xaiChunkHandler,
    folder: xaiMethodDir,
    output: (folder) => folder,
    open: ({ meta, loaded: { samples }, test }) =>
      // The evidence masks are loaded only for a method that reads them (ground_truth).
      methodMasks(methods, samples, meta.imgSizePx).then((masks) => ({
        work: () => ({
          settings: { "--target": target, "--chunk-size": chunkSize, "--colormap": colormap },
        }),
        job: (base, { folder, indices }) => ({
          ...base,
          dir: folder,
          colormap,
          images: indices.map((i) => ({
            id: samples[i].id,
            file: samples[i].file,
            trueClass: meta.classes[test.actual[i]],
            predictedClass: meta.classes[test.predicted[i]],
            probability: test.probability[i],
            targetClass: meta.classes[test.targets[i]],
          })),
          ...(masks && readsMasks(base.method) ? { masksNHW: chunkMasks(masks, indices) } : {}),
        }),
        partRows: (_, { partRows }) => partRows,
        merge: async (folder) => `${await mergeXaiMethod(folder)} explanations -> ${folder}`,
      })),
  };
}

/**
 * The grid run that a grid stage's (`xai`'s, `quantus`'s) shared flags ask for: `--methods`,
 * `--target`, `--workers`, `--shard`/`--shards` and `--chunk-size`, checked in this order.
 *
 * @throws {InputError} for the first flag that does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { parseGridRun } from "./xai.ts";
 * const run = parseGridRun({ config: DEFAULT_CONFIG, flags: { methods: "saliency", shard: "1/2" } });
 * assert(run.methods.join() === "saliency" && run.shard.index === 1 && run.chunkSize === 8);
 * ```
 */
export function parseGridRun(
  { config, flags, defaulted }: StageArgs,
  buildModel?: ModelBuilder,
): GridRun {
  return {
    config,
    dataGiven: !defaulted?.includes("data"),
    methods: parseMethods(flags.methods).map((e) => e.name),
    target: parseTargetChoice(flags.target),
    workers: parseWorkers(flags.workers),
    shard: shardFromCommandLine(flags),
    chunkSize: parseChunkSize(flags["chunk-size"]),
    buildModel,
  };
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
  args: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const run = parseGridRun(args, hooks.buildModel);
  await runGrid(xaiJobType(run, parseColormap(args.flags.colormap)), run);
}

/**
 * The `--colormap` flag, or `auto`.
 *
 * @throws {InputError} for anything but a {@link COLORMAP_CHOICES} name.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseColormap } from "./xai.ts";
 * assert(parseColormap(undefined) === "auto" && parseColormap("jet") === "jet");
 * ```
 */
export function parseColormap(flag: unknown): ColormapChoice {
  if (flag === undefined) return "auto";
  const choice = COLORMAP_CHOICES.find((c) => c === flag);
  if (!choice) {
    throw new InputError(`--colormap ${flag}: choose one of ${COLORMAP_CHOICES.join(", ")}`);
  }
  return choice;
}

if (import.meta.main) Deno.exit(await runStage(xaiSpec, Deno.args, xai));
