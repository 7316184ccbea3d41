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
import { assembleBatch, batchIndices } from "../data/loader.ts";
import { writeNpyFile } from "../data/npy.ts";
import { describeBackend, startBackend } from "../models/backend.ts";
import type { Explainer } from "../xai/explainer.ts";
import { normaliseMinMax } from "../xai/normalise.ts";
import { explanationPictures } from "../xai/overlay.ts";
import { type ExplainerOptions, EXPLAINERS, getExplainer } from "../xai/registry.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadCheckpointModel, type ModelBuilder, requireBestCheckpoints } from "./model_source.ts";
import { parseTargetChoice, testPredictions } from "./test_predictions.ts";

/** The reference pipeline's methods that exist here (LIME does not yet), plus Saliency. */
export const XAI_DEFAULT_METHODS: readonly string[] = [
  "gradcam",
  "gradcam_plus_plus",
  "integrated_gradients",
  "saliency",
];

/** Images per explain call: enough to fill the backend, small enough for IG's path batches. */
export const XAI_BATCH_SIZE = 8;

/** The columns of `index.csv`. */
export const XAI_INDEX_COLUMNS = [
  "id",
  "file",
  "true_class",
  "predicted_class",
  "probability",
  "target_class",
  "seconds",
] as const;

/** Command-line description of `xai`. */
export const xaiSpec: StageSpec = {
  name: "xai",
  summary:
    "Explain each model's test-split predictions with each method: maps, heatmaps, overlays.",
  shared: ["data", "out", "models", "limit", "seed", "config", "backend", "on-bad-image"],
  flags: {
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
    "<id> is the sample id <split>/<Class>/<file stem>, e.g. test/MI/MI(12), kept as nested " +
    "folders. probability is the predicted class's softmax probability; seconds is the " +
    "image's share of its batch's explain call. Each run replaces the method's folder.\n" +
    "Example: deno task xai --models ecgnet --methods gradcam,saliency --limit 16",
};

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
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  console.log(describeBackend(await startBackend(config.backend)));
  for (const { name, paths } of checkpoints) {
    const { model, meta } = await loadCheckpointModel(paths.best, hooks.buildModel);
    try {
      const { loaded, actual, predicted, probabilities, targets } = await testPredictions(
        config,
        meta,
        model,
        targetChoice,
        "xai",
      );
      const n = loaded.samples.length;
      const k = meta.classes.length;
      for (const explainer of explainers) {
        const dir = join(config.out, "explanations", name, explainer.name);
        // Stale files of an earlier, larger run would otherwise sit beside this run's index.
        await Deno.remove(dir, { recursive: true }).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
        const progress = new Progress(`${name} ${explainer.name}`, n);
        const rows: string[][] = [];
        for (const indices of batchIndices(n, XAI_BATCH_SIZE)) {
          const batch = assembleBatch(loaded, indices);
          const [, heightPx, widthPx] = batch.shape;
          const mapSize = heightPx * widthPx;
          const explained = await explainBatch(
            explainer,
            model,
            batch.xNHWC,
            batch.shape,
            Int32Array.from(indices, (i) => targets[i]),
          );
          for (const [row, i] of indices.entries()) {
            const sample = loaded.samples[i];
            const stem = explanationStem(sample.id);
            const map = explained.normalisedNHW.subarray(row * mapSize, (row + 1) * mapSize);
            const raw = explained.rawNHW.subarray(row * mapSize, (row + 1) * mapSize);
            await writeNpyFile(join(dir, "heatmap", `${stem}.npy`), [heightPx, widthPx], map);
            await writeNpyFile(join(dir, "heatmap", `${stem}.raw.npy`), [heightPx, widthPx], raw);
            const pictures = explanationPictures(
              map,
              widthPx,
              heightPx,
              await readImageFile(sample.file),
            );
            await writeFileAtomic(join(dir, "heatmap", `${stem}.png`), encodePng(pictures.heatmap));
            await writeFileAtomic(join(dir, "overlay", `${stem}.png`), encodePng(pictures.overlay));
            rows.push([
              sample.id,
              sample.file,
              meta.classes[actual[i]],
              meta.classes[predicted[i]],
              probabilities[i * k + predicted[i]].toFixed(6),
              meta.classes[targets[i]],
              (explained.seconds / indices.length).toFixed(4),
            ]);
          }
          progress.tick(indices.length);
        }
        progress.done();
        await writeFileAtomic(
          join(dir, "index.csv"),
          stringifyCsv([[...XAI_INDEX_COLUMNS], ...rows]),
        );
        console.log(`${name} ${explainer.name}: ${n} explanations -> ${dir}`);
      }
    } finally {
      model.dispose();
    }
  }
}

if (import.meta.main) Deno.exit(await runStage(xaiSpec, Deno.args, xai));
