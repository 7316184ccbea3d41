/**
 * Writes the built-in synthetic ECG report data set: an ImageFolder tree of JPEG reports
 * named like the real scans, a ground-truth evidence mask (PNG) per image and a
 * `synthetic.json` that records how everything was generated.
 *
 * Layout under `outDir`:
 * - `{train,val,test}/<Class>/<Prefix>(<n>).jpg` with Abnormal → `HB`, HistoryMI → `PMI`,
 *   MI → `MI`, Normal → `Normal`; n runs 1..perClass over the class, train first, then
 *   val, then test.
 * - `masks/{train,val,test}/<Class>/<Prefix>(<n>).png`: 8-bit gray, same size as the image,
 *   255 in the evidence regions: the page drawn without its finding differs from the image only
 *   there (see `renderSyntheticReport`). All 0 for Normal, which has no finding.
 * - `synthetic.json`: generator version, seed, sizes, split rule, mask rule per class and
 *   per-image metadata.
 *
 * Every image draws from its own stream `root.fork("<split>/<Class>/<n>")`, so an image's
 * bytes depend only on the seed and its name, not on how many images came before it.
 *
 * @module
 */
import { png } from "../../deps.ts";
import { writeFileAtomic } from "../../core/atomic_write.ts";
import { SeededRandom } from "../../core/random.ts";
import { inProcessRunner, type JobRunner, WorkerPool } from "../../core/worker_pool.ts";
import type { GrayImage, RgbaImage } from "../image.ts";
import { encodeRgbaJpeg } from "../jpeg_file.ts";
import { DEFAULT_SPLIT_FRACTIONS, type Split, splitCounts, SPLITS } from "../stratified_split.ts";
import { SYNTH_CLASSES, type SynthClass } from "./beat_model.ts";
import { MASK_MARGIN_MM, renderSyntheticReport, type ReportMeta } from "./render_report.ts";
import { reportHeightPx } from "./report_layout.ts";

/** Bumped whenever the same seed would give different bytes. */
export const GENERATOR_VERSION = 3;

/** File-name prefix per class, as in the real data set. */
export const FILE_PREFIXES: Readonly<Record<SynthClass, string>> = {
  Abnormal: "HB",
  HistoryMI: "PMI",
  MI: "MI",
  Normal: "Normal",
};

/**
 * What each class's mask marks; also written to `synthetic.json`. Every box spans the trace's
 * excursion in both twins, widened by `MASK_MARGIN_MM` beyond the stroke.
 */
export const MASK_RULES: Readonly<Record<SynthClass, string>> = {
  Abnormal: "boxes from each premature beat's onset to the end of its T wave or of the replaced " +
    "sinus beat's, in every lead panel and the rhythm strip",
  HistoryMI: "boxes round the QRS complexes (pathological Q waves) and the T waves (inverted) in " +
    "the affected lead group's panels (and the rhythm strip for an inferior group)",
  MI: "boxes from the J point to the end of the T wave of every beat in the affected lead " +
    "group's panels (and the rhythm strip for an inferior group): elevated ST, hyperacute T",
  Normal: "empty: no finding, so the localisation metrics score Normal images NaN (empty mask)",
};

/** Options of {@link writeSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Data set root to write. */
  outDir: string;
  /** Images per class, split 70/15/15 by `splitCounts` (as `data:split` does). */
  perClass: number;
  /** Seed of the root random stream; equal seeds give byte-identical data sets. */
  seed: number;
  /** Image width; default 640 px. The height follows the real scans' 2213x1572 aspect. */
  widthPx?: number;
  /** Called after each image with the number written so far and the total. */
  onImage?: (done: number, total: number) => void;
  /**
   * Web Workers rendering images in parallel (default 1: render in this thread). The bytes do
   * not depend on it: each image draws from its own stream.
   */
  workers?: number;
}

/** Where the data set went and how many images each split and class got. */
export interface SyntheticDatasetSummary {
  /** The data set root (`outDir`). */
  root: string;
  /** Images written per split and class. */
  counts: Record<Split, Record<string, number>>;
}

/** One entry of `synthetic.json`'s `images`. */
export interface SyntheticImageRecord extends ReportMeta {
  /** Image path relative to the root, `/`-separated. */
  readonly file: string;
  /** Mask path relative to the root. */
  readonly mask: string;
  /** The split the image belongs to. */
  readonly split: Split;
}

/** One image of the data set: where it goes and the random stream it is drawn from. */
export interface SyntheticImagePlan {
  /** The split the image belongs to. */
  readonly split: Split;
  /** The class drawn. */
  readonly className: SynthClass;
  /** File stem, e.g. `MI(3)`: the number runs 1..perClass over the class, train first. */
  readonly stem: string;
  /** Its stream's label, `"<split>/<Class>/<n>"`. */
  readonly label: string;
  /** The image's own stream, `new SeededRandom(seed).fork(label)`. */
  readonly random: SeededRandom;
}

/**
 * Every image of a data set of `perClass` images per class from `seed`, in writing order (class
 * by class, train then val then test). Render one with
 * `renderSyntheticReport(plan.className, plan.random)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { syntheticImagePlan } from "./synthetic_dataset.ts";
 * const plan = syntheticImagePlan(3, 1);
 * assert(plan.length === 12 && plan[0].stem === "HB(1)" && plan[2].split === "test");
 * ```
 */
export function syntheticImagePlan(perClass: number, seed: number): SyntheticImagePlan[] {
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new RangeError(`syntheticImagePlan: perClass must be a positive integer`);
  }
  const root = new SeededRandom(seed);
  const countsPerSplit = splitCounts(perClass, DEFAULT_SPLIT_FRACTIONS);
  return SYNTH_CLASSES.flatMap((className) => {
    let index = 0;
    return SPLITS.flatMap((split) =>
      Array.from({ length: countsPerSplit[split] }, () => {
        index++;
        const label = `${split}/${className}/${index}`;
        return {
          split,
          className,
          stem: `${FILE_PREFIXES[className]}(${index})`,
          label,
          random: root.fork(label),
        };
      })
    );
  });
}

/** One image for a renderer (maybe a worker): its class and its stream, by seed and label. */
export interface SyntheticImageJob {
  readonly className: SynthClass;
  /** The data set's seed. */
  readonly seed: number;
  /** The plan's stream label, `"<split>/<Class>/<n>"`. */
  readonly label: string;
  readonly widthPx: number;
}

/** One rendered image as written: the JPEG, the mask PNG and what was drawn. */
export interface SyntheticImageFiles {
  readonly jpeg: Uint8Array;
  readonly png: Uint8Array;
  readonly meta: ReportMeta;
}

/**
 * Renders and encodes one image of the data set: the bytes depend on the job alone, so any
 * worker gives the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderSyntheticImageFiles } from "./synthetic_dataset.ts";
 * const job = { className: "MI" as const, seed: 1, label: "test/MI/3", widthPx: 160 };
 * const files = renderSyntheticImageFiles(job);
 * assert(files.jpeg[0] === 0xff && files.meta.heightPx === 114);
 * assert(files.jpeg.join() === renderSyntheticImageFiles(job).jpeg.join());
 * ```
 */
export function renderSyntheticImageFiles(job: SyntheticImageJob): SyntheticImageFiles {
  const random = new SeededRandom(job.seed).fork(job.label);
  const report = renderSyntheticReport(job.className, random, { widthPx: job.widthPx });
  return {
    jpeg: encodeReportJpeg(report.image, report.meta.jpegQuality),
    png: encodeMaskPng(report.mask),
    meta: report.meta,
  };
}

/**
 * Encodes a report page as JPEG at `quality` (1–100), baseline with 4:2:0 chroma like the real
 * scans (`encodeRgbaJpeg`; version 3 of the generator, jpeg-js's 4:4:4 before).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeReportJpeg } from "./synthetic_dataset.ts";
 * const bytes = encodeReportJpeg({ widthPx: 1, heightPx: 1, data: new Uint8Array(4) }, 90);
 * assert(bytes[0] === 0xff && bytes[1] === 0xd8);
 * ```
 */
export function encodeReportJpeg(image: RgbaImage, quality: number): Uint8Array {
  return encodeRgbaJpeg(image, quality);
}

/**
 * Encodes a mask as an 8-bit grayscale PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeMaskPng } from "./synthetic_dataset.ts";
 * const bytes = encodeMaskPng({ widthPx: 2, heightPx: 1, data: new Uint8Array([0, 255]) });
 * assert(bytes[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export function encodeMaskPng(mask: GrayImage): Uint8Array {
  return png.encode({
    width: mask.widthPx,
    height: mask.heightPx,
    data: mask.data,
    channels: 1,
    depth: 8,
  });
}

/**
 * Renders and writes the whole synthetic data set; see the module doc for the layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeSyntheticDataset } from "./synthetic_dataset.ts";
 * const outDir = await Deno.makeTempDir();
 * const summary = await writeSyntheticDataset({ outDir, perClass: 3, seed: 1, widthPx: 320 });
 * assert(summary.counts.val.MI === 1);
 * await Deno.remove(outDir, { recursive: true });
 * ```
 */
export async function writeSyntheticDataset(
  options: SyntheticDatasetOptions,
): Promise<SyntheticDatasetSummary> {
  const { outDir, perClass, seed } = options;
  const widthPx = options.widthPx ?? 640;
  const plan = syntheticImagePlan(perClass, seed);
  const counts = Object.fromEntries(
    SPLITS.map((split) => [split, Object.fromEntries(SYNTH_CLASSES.map((c) => [c, 0]))]),
  ) as Record<Split, Record<string, number>>;
  const images: SyntheticImageRecord[] = new Array(plan.length);
  const workers = Math.min(options.workers ?? 1, plan.length);
  const runner: JobRunner<SyntheticImageJob, SyntheticImageFiles> = workers > 1
    ? new WorkerPool(new URL("./synth_worker.ts", import.meta.url), workers)
    : inProcessRunner((job) => Promise.resolve(renderSyntheticImageFiles(job)));
  let done = 0;
  try {
    await runner.map(
      plan.length,
      (i) => ({ className: plan[i].className, seed, label: plan[i].label, widthPx }),
      async (i, { jpeg, png, meta }) => {
        const { split, className, stem } = plan[i];
        const file = `${split}/${className}/${stem}.jpg`;
        const mask = `masks/${split}/${className}/${stem}.png`;
        await writeFileAtomic(`${outDir}/${file}`, jpeg);
        await writeFileAtomic(`${outDir}/${mask}`, png);
        images[i] = { file, mask, split, ...meta };
        counts[split][className]++;
        options.onImage?.(++done, plan.length);
      },
    );
  } finally {
    runner.close();
  }

  const description = {
    generator: "ecg-xai synthetic 12-lead ECG reports",
    version: GENERATOR_VERSION,
    seed,
    perClass,
    widthPx,
    heightPx: reportHeightPx(widthPx),
    splitRule:
      "per class 70/15/15, largest-remainder rounding (at least 1 per split from 3 images); " +
      "file numbers run over the class, train first",
    maskRules: MASK_RULES,
    maskMarginMm: MASK_MARGIN_MM,
    counts,
    images,
  };
  await writeFileAtomic(`${outDir}/synthetic.json`, JSON.stringify(description, null, 2) + "\n");
  return { root: outDir, counts };
}
