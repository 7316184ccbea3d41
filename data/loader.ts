/**
 * From samples to model input: load every image once (decoded, gray, resized, cached), then
 * assemble NHWC float batches, with seeded augmentation for training.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { type Random, shuffle } from "../core/random.ts";
import type { Sample } from "./dataset.ts";
import type { GrayImage } from "./image.ts";
import { loadResizedGray } from "./image_cache.ts";
import { augmentGray, type AugmentOptions, REFERENCE_AUGMENTATION } from "./augment.ts";
import { writeNormalizedHWC } from "./preprocess.ts";

/** A file left out under `--on-bad-image skip`, and why. */
export interface SkippedImage {
  file: string;
  reason: string;
}

/** Images loaded for a list of samples; `images[i]` belongs to `samples[i]`. */
export interface LoadedImages {
  samples: Sample[];
  images: GrayImage[];
  skipped: SkippedImage[];
}

/** Options of {@link loadImages}. */
export interface LoadImagesOptions {
  /** Square size the images are resized to. */
  sizePx: number;
  /** Folder of the decoded-image cache; `undefined` disables caching. */
  cacheDir: string | undefined;
  /**
   * `fail` throws once every image was tried, listing every unreadable one; `skip` leaves them
   * out and lists them.
   */
  onBadImage: "fail" | "skip";
  /** Called after each image. */
  onLoaded?: (done: number, total: number) => void;
}

/**
 * The error for unreadable images: how many, every one with its reason (each names its file),
 * and the two ways out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { unreadableImagesError } from "./loader.ts";
 * const e = unreadableImagesError([{ file: "a.jpg", reason: "a.jpg: zero-byte file" }]);
 * assert(e.message.startsWith("1 unreadable image;") && e.message.endsWith("\n  a.jpg: zero-byte file"));
 * ```
 */
export function unreadableImagesError(bad: readonly SkippedImage[]): InputError {
  return new InputError(
    `${bad.length} unreadable image${bad.length === 1 ? "" : "s"}; fix or remove ` +
      `${bad.length === 1 ? "it" : "them"}, or pass --on-bad-image skip to leave ` +
      `${bad.length === 1 ? "it" : "them"} out:\n` + bad.map((b) => `  ${b.reason}`).join("\n"),
  );
}

/**
 * Loads (decodes, converts to gray, resizes, caches) the images of `samples`.
 *
 * @throws {InputError} under `fail`, once every image was tried: {@link unreadableImagesError}.
 *
 * @example
 * ```ts ignore
 * const loaded = await loadImages(dataset.samples, { sizePx: 224, cacheDir: "outputs/cache/images", onBadImage: "fail" });
 * ```
 */
export async function loadImages(
  samples: readonly Sample[],
  options: LoadImagesOptions,
): Promise<LoadedImages> {
  const result: LoadedImages = { samples: [], images: [], skipped: [] };
  for (const [i, sample] of samples.entries()) {
    try {
      result.images.push(await loadResizedGray(sample.file, options.sizePx, options.cacheDir));
      result.samples.push(sample);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      result.skipped.push({ file: sample.file, reason: e.message });
    }
    options.onLoaded?.(i + 1, samples.length);
  }
  if (options.onBadImage === "fail" && result.skipped.length > 0) {
    throw unreadableImagesError(result.skipped);
  }
  return result;
}

/** A batch of model inputs. */
export interface Batch {
  /** Pixels in NHWC layout, ImageNet-normalised, gray replicated to 3 channels. */
  xNHWC: Float32Array;
  /** `[n, sizePx, sizePx, 3]`. */
  shape: [number, number, number, 3];
  /** Class index per image. */
  labels: Int32Array;
  /** Sample ids, in batch order. */
  ids: string[];
}

/**
 * Assembles the images at `indices` into one batch; with `augment`, each image gets the
 * training augmentation drawn from that stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { assembleBatch } from "./loader.ts";
 * const image = { widthPx: 2, heightPx: 2, data: new Uint8Array([0, 255, 0, 255]) };
 * const sample = { id: "train/A/a", file: "a.png", label: 1, className: "A", split: "train" as const };
 * const batch = assembleBatch({ samples: [sample], images: [image], skipped: [] }, [0]);
 * assert(batch.shape.join() === "1,2,2,3" && batch.labels[0] === 1);
 * ```
 */
export function assembleBatch(
  loaded: LoadedImages,
  indices: readonly number[],
  augment?: Random,
  augmentOptions: AugmentOptions = REFERENCE_AUGMENTATION,
): Batch {
  const first = loaded.images[indices[0]];
  const { widthPx, heightPx } = first;
  const pixels = widthPx * heightPx * 3;
  const xNHWC = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  const ids: string[] = [];
  indices.forEach((index, row) => {
    const image = loaded.images[index];
    writeNormalizedHWC(
      augment ? augmentGray(image, augment, augmentOptions) : image,
      xNHWC,
      row * pixels,
    );
    labels[row] = loaded.samples[index].label;
    ids.push(loaded.samples[index].id);
  });
  return { xNHWC, shape: [indices.length, heightPx, widthPx, 3], labels, ids };
}

/**
 * Splits `0..n-1` into batches of `batchSize` (the last may be smaller), shuffled when a
 * stream is given (one shuffle per call, e.g. per epoch).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { batchIndices } from "./loader.ts";
 * assert(JSON.stringify(batchIndices(5, 2)) === "[[0,1],[2,3],[4]]");
 * ```
 */
export function batchIndices(n: number, batchSize: number, random?: Random): number[][] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (random) shuffle(random, order);
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}
