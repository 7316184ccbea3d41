/**
 * One job of the `xai` stage: explain one chunk of images with one method, write each image's
 * maps (`.npy`, `.raw.npy`), heatmap and overlay (`.png`, coloured as `xai/colour_scale.ts`
 * says, with the colour bar below the picture, `xai/captioned_picture.ts`; the scale and the
 * picture's height recorded in the PNG's text), and return the chunk's part rows.
 * The grid runner (`runs/grid.ts`) runs these jobs in this thread or in Web Workers
 * (`runs/xai_worker.ts`) through {@link xaiChunkHandler}; the job
 * carries everything its files depend on (inputs, targets, method, the rows' labels), so where
 * it runs cannot change a byte of them.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { readImageFile } from "../data/decode_image.ts";
import { writeNpyFile } from "../data/npy.ts";
import { encodeRgbaPng } from "../data/png_file.ts";
import type { Explainer } from "../xai/explainer.ts";
import { normaliseMinMax } from "../xai/normalise.ts";
import type { ColormapChoice } from "../xai/colour_scale.ts";
import { captionPictures } from "../xai/captioned_picture.ts";
import { attributionPictures } from "../xai/overlay.ts";
import { type ExplainerOptions, getExplainer } from "../xai/registry.ts";
import type { GridJob, JobHandler } from "./grid_job.ts";
import { XAI_PART_COLUMNS, xaiImageFiles } from "./xai_merge.ts";

/** One image of a chunk: where it came from and its part row's labels. */
export interface XaiChunkImage {
  /** Sample id, e.g. `test/MI/MI(12)`; also the files' stem. */
  id: string;
  /** The source image (read again for the overlay at its own size). */
  file: string;
  trueClass: string;
  predictedClass: string;
  /** The predicted class's softmax probability. */
  probability: number;
  /** The class the map explains. */
  targetClass: string;
}

/** Everything one chunk's files depend on; plain data, so it can be posted to a worker. */
export interface XaiChunkJob extends GridJob {
  /** The method's output folder, `<out>/explanations/<model>/<method>`. */
  dir: string;
  /** How the pictures are coloured (`--colormap`). */
  colormap: ColormapChoice;
  /** [N] the images, in batch order. */
  images: XaiChunkImage[];
  /** [N, H, W] the images' evidence masks, for a method that reads them (ground_truth). */
  masksNHW?: Uint8Array;
}

/** A finished chunk: its part file's rows (header first) and the explain call's seconds. */
export interface XaiChunkResult {
  partRows: string[][];
  seconds: number;
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
 * Where a sample id's files go, relative to `heatmap/` and `overlay/`: the id itself, so that
 * `test/MI/MI(12)` becomes the nested `test/MI/MI(12).npy` and the path minus its ending is the
 * id again.
 *
 * @throws {InputError} for an id with an empty, `.` or `..` part, which would not map back.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { explanationStem } from "./xai_chunk.ts";
 * assert(explanationStem("test/MI/MI(12)") === "test/MI/MI(12)");
 * ```
 */
export function explanationStem(id: string): string {
  const parts = id.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\"))) {
    throw new InputError(`sample id "${id}" cannot name a file; rename the image`);
  }
  return id;
}

/**
 * Runs one explainer on one NHWC batch (with `options`, e.g. the ground truth's masks) and
 * normalises its maps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { getExplainer } from "../xai/registry.ts";
 * import { explainBatch } from "./xai_chunk.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = new Float32Array(32 * 32 * 3).map((_, i) => Math.sin(i));
 * const maps = await explainBatch(getExplainer("saliency"), model, x, [1, 32, 32, 3], Int32Array.of(2));
 * assert(maps.normalisedNHW.every((v) => v >= 0 && v <= 1));
 * model.dispose();
 * ```
 */
export async function explainBatch(
  explainer: Explainer<ExplainerOptions>,
  model: tf.LayersModel,
  xNHWC: Float32Array,
  shape: readonly [number, number, number, number],
  targets: Int32Array,
  options?: ExplainerOptions,
): Promise<ExplainedBatch> {
  const x = tf.tensor4d(xNHWC, [...shape]);
  try {
    const start = performance.now();
    const { mapsNHW } = await explainer.explain(model, x, targets, options);
    const seconds = (performance.now() - start) / 1000;
    return { rawNHW: mapsNHW, normalisedNHW: normaliseMinMax(mapsNHW, shape[0]), seconds };
  } finally {
    x.dispose();
  }
}

/**
 * Explains the job's images with its method on `model`, writes each image's four files under
 * `job.dir` and returns the chunk's part rows (each image's seconds is its share of the call).
 *
 * @throws {InputError} for an unknown method, an id that cannot name a file, or a source
 * image that no longer decodes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { png } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { explainXaiChunk } from "./xai_chunk.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * await Deno.mkdir("outputs/tmp", { recursive: true });
 * const dir = await Deno.makeTempDir({ dir: "outputs/tmp" });
 * const file = `${dir}/a.png`;
 * const pixels = new Uint8Array(40 * 30 * 4).fill(200);
 * await Deno.writeFile(file, png.encode({ width: 40, height: 30, data: pixels, channels: 4 }));
 * const { partRows } = await explainXaiChunk(model, {
 *   checkpoint: "unused", backend: "cpu", openBlas: false, method: "saliency", dir, colormap: "auto",
 *   xNHWC: new Float32Array(32 * 32 * 3).fill(0.5), shapeNHWC: [1, 32, 32, 3],
 *   targets: Int32Array.of(2),
 *   images: [{
 *     id: "test/MI/a", file, trueClass: "MI", predictedClass: "MI", probability: 0.5,
 *     targetClass: "MI",
 *   }],
 * });
 * assert(partRows.length === 2 && partRows[1][0] === "test/MI/a");
 * const overlay = png.decode(await Deno.readFile(`${dir}/overlay/test/MI/a.png`));
 * assert(overlay.width === 40 && overlay.height > 30); // the picture, then its colour bar
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function explainXaiChunk(
  model: tf.LayersModel,
  job: XaiChunkJob,
): Promise<XaiChunkResult> {
  const [n, heightPx, widthPx] = job.shapeNHWC;
  const mapSize = heightPx * widthPx;
  const explained = await explainBatch(
    getExplainer(job.method),
    model,
    job.xNHWC,
    job.shapeNHWC,
    job.targets,
    job.masksNHW && { masksNHW: job.masksNHW },
  );
  const partRows: string[][] = [[...XAI_PART_COLUMNS]];
  for (const [row, image] of job.images.entries()) {
    const stem = explanationStem(image.id);
    const map = explained.normalisedNHW.subarray(row * mapSize, (row + 1) * mapSize);
    const raw = explained.rawNHW.subarray(row * mapSize, (row + 1) * mapSize);
    const [npy, rawNpy, heatmapPng, overlayPng] = xaiImageFiles(stem).map((f) => join(job.dir, f));
    await writeNpyFile(npy, [heightPx, widthPx], map);
    await writeNpyFile(rawNpy, [heightPx, widthPx], raw);
    const source = await readImageFile(image.file);
    const drawn = attributionPictures(raw, widthPx, heightPx, source, job.colormap);
    // The bar makes each PNG say what its colours mean on its own; the recorded scale and
    // picture height let the grids and the dashboard take the bare picture and draw their bar.
    const { heatmap, overlay, text } = await captionPictures(
      drawn.heatmap,
      drawn.overlay,
      drawn.scale,
    );
    await writeFileAtomic(heatmapPng, encodeRgbaPng(heatmap, text));
    await writeFileAtomic(overlayPng, encodeRgbaPng(overlay, text));
    partRows.push([
      image.id,
      image.file,
      image.trueClass,
      image.predictedClass,
      image.probability.toFixed(6),
      image.targetClass,
      (explained.seconds / n).toFixed(4),
    ]);
  }
  return { partRows, seconds: explained.seconds };
}

/**
 * The `xai` stage's job handler for `model`: {@link explainXaiChunk}, in this thread or in a
 * worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { xaiChunkHandler } from "./xai_chunk.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const handler = xaiChunkHandler(model);
 * assert(typeof handler.run === "function");
 * handler.dispose();
 * model.dispose();
 * ```
 */
export function xaiChunkHandler(
  model: tf.LayersModel,
): JobHandler<XaiChunkJob, XaiChunkResult> {
  return { run: (job) => explainXaiChunk(model, job), dispose() {} };
}
