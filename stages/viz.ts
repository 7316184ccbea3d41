/**
 * `deno task viz`: the image figures under `<out>/plots/figures/`: ECG examples, the pixel
 * grid, first-layer filters, explanation grids and a UMAP of penultimate features, each as SVG
 * and PNG. Each figure is drawn when its inputs exist; for each one that cannot be, one line
 * names the missing input and the stage that makes it.
 *
 * @module
 */
import { join } from "node:path";
import { stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import type { Config } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { SeededRandom } from "../core/random.ts";
import { openDataset, type Sample } from "../data/dataset.ts";
import { decodeImage, readFileBytes, readImageFile } from "../data/decode_image.ts";
import type { RgbaImage } from "../data/image.ts";
import { loadResizedGray } from "../data/image_cache.ts";
import { limitPerSplit } from "../data/limit.ts";
import { argmaxRows, predictLogits } from "../models/inference.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { modelPaths, readCheckpointMeta } from "../training/checkpoint_io.ts";
import { EXPLAINERS } from "../xai/registry.ts";
import {
  COLOUR_SCALE_PNG_KEYWORD,
  type ColourScale,
  parseColourScaleText,
} from "../xai/colour_scale.ts";
import { bareExplanationPicture } from "../xai/captioned_picture.ts";
import { SVG_PX_PER_INCH } from "../svg/rasterise.ts";
import { fitWithin } from "../plots/figures/canvas.ts";
import {
  classExamplesFigure,
  classOverviewFigure,
  type LabelledPicture,
} from "../plots/figures/ecg_examples.ts";
import {
  type ExplainedPictures,
  heatmapGridFigure,
  superGridFigure,
} from "../plots/figures/explanation_grids.ts";
import {
  type ExplainedImage,
  overlayFile,
  parseExplanationIndex,
} from "../plots/figures/explanation_index.ts";
import { filterGridFigure } from "../plots/figures/filter_grid.ts";
import { penultimateFeatures } from "../plots/figures/penultimate_features.ts";
import { pixelGridFigure } from "../plots/figures/pixel_grid.ts";
import { readPngText } from "../data/png_file.ts";
import { writeFigureFiles } from "../svg/figure.ts";
import { scatterPlot } from "../plots/figures/scatter.ts";
import type { SvgFigure } from "../svg/figure.ts";
import { UMAP_MIN_POINTS, umapEmbedding } from "../plots/figures/umap_embedding.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { imageCacheDir, loadStageData } from "../data/load_data.ts";
import { loadCheckpointModel, type ModelBuilder } from "../runs/model_source.ts";
import {
  checkpointFingerprint,
  dataIdentity,
  outputPath,
  projectVersion,
  writeProvenance,
} from "../runs/provenance.ts";
import { OutputSelection } from "../runs/selection.ts";
import { DPI_FLAG, parseDpiFlag } from "./plots.ts";

/** Test images shown per class in `ecg_examples_<Class>.png`. */
export const EXAMPLES_PER_CLASS = 6;
/** Most images (rows) of a heatmap grid; `--limit` lowers it, `--ids` overrides it. */
export const HEATMAP_GRID_MAX_IMAGES = 8;
/** Box a thumbnail of the example figures and the heatmap grid is shrunk into, in pixels. */
export const THUMBNAIL_BOX_PX = { widthPx: 420, heightPx: 300 } as const;
/** Box of the super grid's larger pictures, in pixels. */
export const SUPER_GRID_BOX_PX = { widthPx: 640, heightPx: 460 } as const;
/** Columns of `umap_<model>.csv`. */
export const UMAP_CSV_COLUMNS = ["id", "true_class", "predicted_class", "x", "y"] as const;

/** Command-line description of `viz`. */
export const vizSpec: StageSpec = {
  name: "viz",
  summary: "Image figures: ECG examples, pixel grid, first-layer filters, explanation grids, UMAP.",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "img-size",
    "seed",
    "config",
    "backend",
    "convolutions",
  ],
  flags: {
    methods: {
      type: "string",
      valueName: "a,b",
      help: "methods of the explanation grids (default: every method the xai stage wrote)",
    },
    ids: {
      type: "string",
      valueName: "a,b",
      help: "test images of the explanation grids by id, e.g. test/MI/MI(12) (default: chosen " +
        "round-robin over the classes)",
    },
    dpi: DPI_FLAG,
  },
  details: "Writes under <out>/plots/figures/ (each figure as .svg and .png):\n" +
    "  ecg_examples_<Class>      up to 6 test images of the class\n" +
    "  ecg_overview              one test image per class\n" +
    "  pixel_grid_<N>px          a test image at the model's N px input, and a 32 px crop of its\n" +
    "                            inkiest part magnified 16x with grid lines (N of each model's\n" +
    "                            checkpoint, or --img-size when there is none)\n" +
    "  filters_<model>           the first convolution's filters, one tile each\n" +
    "  heatmap_grid_<model>      test images x methods: input (framed green if predicted\n" +
    "                            correctly, red if not) and each method's overlay with its\n" +
    "                            colour bar\n" +
    "  super_grid_<model>        the grid's first image large, every method's overlay\n" +
    "  umap_<model>              UMAP of the penultimate-layer features of the test set\n" +
    `  umap_<model>.csv          ${UMAP_CSV_COLUMNS.join(", ")}\n` +
    "Inputs: the data set (--data), checkpoints (train), explanations (xai; the overlays are\n" +
    "drawn there, with --colormap auto or jet).\n" +
    `Grid images: up to ${HEATMAP_GRID_MAX_IMAGES} (and --limit), round-robin over the true ` +
    "classes, alternating correct and wrong predictions within a class; --ids picks them.\n" +
    "--dpi N writes the paper export: PNGs at N dpi, SVG text outlined. --seed seeds UMAP.\n" +
    "Example: deno task viz --models ecgnet --methods gradcam,saliency --dpi 300",
};

/** What a `viz` run did: the files it wrote and one line per figure it could not draw. */
export interface VizReport {
  written: string[];
  missing: string[];
}

/**
 * The folder the figures go to.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { vizFiguresDir } from "./viz.ts";
 * assert(vizFiguresDir("outputs") === "outputs/plots/figures");
 * ```
 */
export function vizFiguresDir(out: string): string {
  return join(out, "plots", "figures");
}

/** The files one figure may have. */
const FIGURE_EXTENSIONS = [".svg", ".png", ".csv"] as const;

/** Where figures go, and the record of what was written and what was missing. */
class FigureSink {
  readonly report: VizReport = { written: [], missing: [] };
  /** Raster pixels per shown pixel of the pictures in figures: dpi / 96, at least 1. */
  readonly rasterScale: number;
  constructor(readonly dir: string, readonly dpi: number | undefined) {
    this.rasterScale = Math.max(1, (dpi ?? SVG_PX_PER_INCH) / SVG_PX_PER_INCH);
  }

  /** Writes `<stem>.svg` and `<stem>.png`. */
  async figure(stem: string, figure: SvgFigure): Promise<void> {
    const files = await writeFigureFiles(join(this.dir, stem), figure, { dpi: this.dpi });
    this.report.written.push(...files);
  }

  /** `image` shrunk into `box` at {@link rasterScale}, and the size it is shown at. */
  fit(image: RgbaImage, box: { widthPx: number; heightPx: number }) {
    const raster = fitWithin(
      image,
      box.widthPx * this.rasterScale,
      box.heightPx * this.rasterScale,
    );
    const shown = fitWithin(image, box.widthPx, box.heightPx);
    return { image: raster, displayPx: { widthPx: shown.widthPx, heightPx: shown.heightPx } };
  }

  async text(name: string, text: string): Promise<void> {
    const path = join(this.dir, name);
    await writeFileAtomic(path, text);
    this.report.written.push(path);
  }

  missing(line: string): void {
    console.log(line);
    this.report.missing.push(line);
  }

  /**
   * Removes an earlier run's files of a figure not drawn this time, so that no figure of
   * another checkpoint or data set stays beside the new ones.
   */
  async drop(stem: string): Promise<void> {
    for (const ext of FIGURE_EXTENSIONS) {
      await Deno.remove(join(this.dir, `${stem}${ext}`)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }

  /**
   * Removes the figures named `<prefix>...` other than `kept` (an earlier data set's pixel grid
   * of another size, or examples of a class this one does not have).
   */
  async dropOthers(prefix: string, kept: readonly string[]): Promise<void> {
    if (!(await statOrUndefined(this.dir))?.isDirectory) return;
    for (const entry of await listDirSorted(this.dir)) {
      const ext = FIGURE_EXTENSIONS.find((e) => entry.name.endsWith(e));
      const stem = ext && entry.name.slice(0, -ext.length);
      if (stem?.startsWith(prefix) && !kept.includes(stem)) await this.drop(stem);
    }
  }
}

/** The test samples (after `--limit`), or why there are none, as `no ...` text. */
async function openTestSamples(config: Config): Promise<Sample[] | string> {
  if (!(await statOrUndefined(config.data))) return `no data set at ${config.data}`;
  try {
    const dataset = await openDataset(config.data, {
      classes: config.classes,
      splits: ["test"],
      seed: config.seed,
    });
    const samples = limitPerSplit(dataset.samples, config.limit);
    return samples.length > 0 ? samples : `no test images in ${config.data}`;
  } catch (e) {
    if (e instanceof InputError) return `no usable data set at ${config.data} (${e.message})`;
    throw e;
  }
}

const DATA_STAGE = "run deno task data:synth (or data:split for your own images)";

async function drawExamples(
  sink: FigureSink,
  samples: Sample[] | string,
  classes: readonly string[],
): Promise<void> {
  if (typeof samples === "string") {
    sink.missing(`ecg examples: ${samples} — ${DATA_STAGE}`);
    sink.missing(`ecg overview: ${samples} — ${DATA_STAGE}`);
    await sink.dropOthers("ecg_", []);
    return;
  }
  const chosen = classes.map((_, k) =>
    samples.filter((s) => s.label === k).slice(0, EXAMPLES_PER_CLASS)
  );
  const progress = new Progress("examples", chosen.flat().length);
  const overview: LabelledPicture[] = [];
  for (const [k, className] of classes.entries()) {
    if (chosen[k].length === 0) {
      sink.missing(`ecg examples ${className}: no test images of the class — ${DATA_STAGE}`);
      continue;
    }
    const pictures: LabelledPicture[] = [];
    for (const sample of chosen[k]) {
      const image = await readImageFile(sample.file);
      pictures.push({
        label: sample.id.slice(sample.id.lastIndexOf("/") + 1),
        ...sink.fit(image, THUMBNAIL_BOX_PX),
      });
      progress.tick();
    }
    await sink.figure(`ecg_examples_${className}`, classExamplesFigure(className, pictures));
    overview.push({ ...pictures[0], label: className });
  }
  progress.done();
  await sink.figure("ecg_overview", classOverviewFigure(overview));
  const drawn = overview.map(({ label }) => `ecg_examples_${label}`);
  await sink.dropOthers("ecg_examples_", drawn);
}

async function drawPixelGrids(
  sink: FigureSink,
  samples: Sample[] | string,
  config: Config,
  sizesPx: readonly number[],
): Promise<void> {
  for (const sizePx of sizesPx) {
    if (typeof samples === "string") {
      sink.missing(`pixel grid ${sizePx} px: ${samples} — ${DATA_STAGE}`);
      continue;
    }
    const gray = await loadResizedGray(samples[0].file, sizePx, imageCacheDir(config));
    await sink.figure(`pixel_grid_${sizePx}px`, pixelGridFigure(gray, samples[0].id));
  }
  const drawn = typeof samples === "string" ? [] : sizesPx.map((px) => `pixel_grid_${px}px`);
  await sink.dropOthers("pixel_grid_", drawn);
}

async function drawUmap(
  sink: FigureSink,
  config: Config,
  name: string,
  loadedModel: Awaited<ReturnType<typeof loadCheckpointModel>>,
): Promise<void> {
  const { model, meta } = loadedModel;
  const { loaded } = await loadStageData(
    { ...config, imgSizePx: meta.imgSizePx, classes: meta.classes },
    ["test"],
    "viz",
  );
  const n = loaded.samples.length;
  if (n < UMAP_MIN_POINTS) {
    sink.missing(
      `umap ${name}: needs at least ${UMAP_MIN_POINTS} test images, found ${n} in ` +
        `${config.data} — raise --limit or ${DATA_STAGE}`,
    );
    return;
  }
  const indices = [...Array(n).keys()];
  const features = new Progress(`${name} features`, n);
  let done = 0;
  const tickTo = (now: number) => {
    features.tick(now - done);
    done = now;
  };
  const { featuresNF, width } = await penultimateFeatures(model, loaded, config.batchSize, tickTo);
  const predicted = argmaxRows(
    await predictLogits(model, loaded, indices, config.batchSize),
    meta.classes.length,
  );
  features.done();
  let umapProgress: Progress | undefined;
  let epochsDone = 0;
  const pointsN2 = umapEmbedding(
    featuresNF,
    n,
    new SeededRandom(config.seed).fork(`umap/${name}`),
    (epoch, total) => {
      umapProgress ??= new Progress(`${name} umap`, total);
      umapProgress.tick(epoch - epochsDone);
      epochsDone = epoch;
    },
  );
  umapProgress?.done();
  const classIndex = loaded.samples.map((s) => s.label);
  const rows = loaded.samples.map((s, i) => [
    s.id,
    meta.classes[s.label],
    meta.classes[predicted[i]],
    pointsN2[i * 2].toFixed(6),
    pointsN2[i * 2 + 1].toFixed(6),
  ]);
  await sink.text(`umap_${name}.csv`, stringifyCsv([[...UMAP_CSV_COLUMNS], ...rows]));
  await sink.figure(
    `umap_${name}`,
    scatterPlot({
      pointsN2,
      classIndex,
      classNames: meta.classes,
      title: [
        `${name}: UMAP of penultimate features`,
        `${width} features per image, ${n} test images, coloured by true class, seed ${config.seed}`,
      ],
    }),
  );
}

/** Method folders with an `index.csv`, in the registry's order (unknown names last). */
async function explainedMethods(root: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await listDirSorted(root)) {
    if (entry.isDirectory && await statOrUndefined(join(root, entry.name, "index.csv"))) {
      names.push(entry.name);
    }
  }
  const rank = (m: string) => {
    const i = EXPLAINERS.findIndex((e) => e.name === m);
    return i < 0 ? EXPLAINERS.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b));
}

/**
 * An overlay the xai stage drew, without the colour bar below it (the grid draws its own), and
 * the colour scale it recorded (`null`: none).
 */
async function readOverlay(file: string): Promise<{ image: RgbaImage; scale: ColourScale | null }> {
  const bytes = await readFileBytes(file);
  const text = readPngText(bytes);
  const scaleText = text[COLOUR_SCALE_PNG_KEYWORD];
  return {
    image: bareExplanationPicture(decodeImage(bytes, file), text, file),
    scale: scaleText === undefined ? null : parseColourScaleText(scaleText, file),
  };
}

async function loadPictures(
  sink: FigureSink,
  root: string,
  methods: readonly string[],
  image: ExplainedImage,
  box: { widthPx: number; heightPx: number },
): Promise<ExplainedPictures> {
  const overlays: RgbaImage[] = [];
  const scales: (ColourScale | null)[] = [];
  for (const method of methods) {
    const overlay = await readOverlay(overlayFile(join(root, method), image.id));
    overlays.push(sink.fit(overlay.image, box).image);
    scales.push(overlay.scale);
  }
  const input = sink.fit(await readImageFile(image.file), box);
  return { ...image, input: input.image, displayPx: input.displayPx, overlays, scales };
}

/**
 * The grid's images: `ids` in their order when given (each must be explained), else up to
 * `count` taken round-robin over the true classes (in `classes` order, then any others by
 * name), each class's queue alternating correct and wrong predictions in index order, so
 * that every class shows and a misclassification shows when there is one. Returns the
 * images and the rule in words, for the figure's footer.
 *
 * @throws {InputError} for an id no chosen method explained.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chooseGridImages } from "./viz.ts";
 * const row = (id: string, trueClass: string, predictedClass: string) =>
 *   ({ id, file: id, trueClass, predictedClass, probability: 0.5 });
 * const rows = [row("a1", "A", "A"), row("a2", "A", "A"), row("a3", "A", "B"), row("b1", "B", "B")];
 * const { images } = chooseGridImages(rows, ["A", "B"], 3);
 * assert.deepStrictEqual(images.map((r) => r.id), ["a1", "b1", "a3"]);
 * assert(chooseGridImages(rows, ["A", "B"], 3, ["b1"]).images[0].id === "b1");
 * ```
 */
export function chooseGridImages(
  explained: readonly ExplainedImage[],
  classes: readonly string[],
  count: number,
  ids?: readonly string[],
): { images: ExplainedImage[]; rule: string } {
  if (ids) {
    const images = ids.map((id) => {
      const found = explained.find((row) => row.id === id);
      if (!found) {
        throw new InputError(
          `--ids: "${id}" was not explained by every chosen method; pick ids from an index.csv ` +
            `under the explanations folder, or run deno task xai on them`,
        );
      }
      return found;
    });
    return { images, rule: `Images picked by hand (--ids), in the order given.` };
  }
  const present = [...new Set(explained.map((row) => row.trueClass))];
  const order = [
    ...classes.filter((c) => present.includes(c)),
    ...present.filter((c) => !classes.includes(c)).sort(),
  ];
  const queues = order.map((c) => {
    const mine = explained.filter((row) => row.trueClass === c);
    const right = mine.filter((row) => row.predictedClass === row.trueClass);
    const wrong = mine.filter((row) => row.predictedClass !== row.trueClass);
    return Array.from({ length: Math.max(right.length, wrong.length) }, (_, i) => [
      right[i],
      wrong[i],
    ]).flat().filter((row): row is ExplainedImage => row !== undefined);
  });
  const images: ExplainedImage[] = [];
  for (let round = 0; images.length < count && queues.some((q) => q.length > round); round++) {
    for (const queue of queues) {
      if (images.length < count && round < queue.length) images.push(queue[round]);
    }
  }
  const wrong = images.filter((row) => row.predictedClass !== row.trueClass).length;
  return {
    images,
    rule: `Images: ${images.length} of the ${explained.length} explained, taken round-robin ` +
      `over the true classes (${order.join(", ")}), each class alternating correct and wrong ` +
      `predictions in index order (${wrong} wrong shown); --ids picks images by hand.`,
  };
}

async function drawExplanationGrids(
  sink: FigureSink,
  config: Config,
  name: string,
  requested: readonly string[] | undefined,
  ids: readonly string[] | undefined,
  selection: OutputSelection,
): Promise<void> {
  const root = join(config.out, "explanations", name);
  const xaiStage = `run deno task xai --models ${name}`;
  const lack = async (what: string) => {
    sink.missing(`heatmap grid ${name}: ${what}`);
    sink.missing(`super grid ${name}: ${what}`);
    await sink.drop(`heatmap_grid_${name}`);
    await sink.drop(`super_grid_${name}`);
  };
  if (!(await statOrUndefined(root))) return lack(`no ${root} — ${xaiStage}`);
  // Explanations of another checkpoint or data set are left out, each named in one line.
  const available = (await explainedMethods(root)).filter((method) => {
    const line = selection.leftOutLine("xai", name, method);
    if (line !== undefined) console.log(line);
    return line === undefined;
  });
  const methods = requested ? requested.filter((m) => available.includes(m)) : available;
  const absent = (requested ?? []).filter((m) => !available.includes(m));
  if (absent.length > 0) {
    const what = `no ${absent.join(", ")} explanations (index.csv) under ${root} — ` +
      `${xaiStage} --methods ${absent.join(",")}`;
    if (methods.length === 0) return lack(what);
    sink.missing(`heatmap grid ${name}: drawn without ${absent.join(", ")}: ${what}`);
  }
  if (methods.length === 0) return lack(`no method folder with index.csv in ${root} — ${xaiStage}`);
  const indexes: ExplainedImage[][] = [];
  for (const method of methods) {
    const path = join(root, method, "index.csv");
    indexes.push(parseExplanationIndex(await Deno.readTextFile(path), path));
  }
  const everywhere = indexes[0].filter((row) =>
    indexes.every((index) => index.some((other) => other.id === row.id))
  );
  if (everywhere.length === 0) {
    return lack(`no image explained by every one of ${methods.join(", ")} — ${xaiStage}`);
  }
  const { images: chosen, rule } = chooseGridImages(
    everywhere,
    config.classes,
    Math.min(HEATMAP_GRID_MAX_IMAGES, config.limit ?? Infinity),
    ids,
  );
  const progress = new Progress(`${name} explanations`, chosen.length + 1);
  const pictures: ExplainedPictures[] = [];
  let large: ExplainedPictures;
  try {
    for (const image of chosen) {
      pictures.push(await loadPictures(sink, root, methods, image, THUMBNAIL_BOX_PX));
      progress.tick();
    }
    large = await loadPictures(sink, root, methods, chosen[0], SUPER_GRID_BOX_PX);
    progress.tick();
  } catch (e) {
    // An overlay or source image moved or deleted since xai ran: say so, keep drawing the rest.
    if (e instanceof InputError) return lack(`${e.message} — ${xaiStage}`);
    throw e;
  } finally {
    progress.done();
  }
  await sink.figure(`heatmap_grid_${name}`, heatmapGridFigure(name, methods, pictures, rule));
  const superRule = `The first image of heatmap_grid_${name} (${rule})`;
  await sink.figure(`super_grid_${name}`, superGridFigure(name, methods, large, superRule));
}

function parseNameList(flag: unknown, name: string): string[] | undefined {
  if (typeof flag !== "string") return undefined;
  const names = [...new Set(flag.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
  if (names.length === 0) throw new InputError(`--${name}: name at least one`);
  return names;
}

/**
 * Runs `viz` with parsed arguments: draws every figure its inputs allow, prints one line per
 * figure it cannot draw, and returns both lists (the demo prints the folder).
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { viz, vizSpec } from "./viz.ts";
 * const report = await viz((await parseStageArgs(vizSpec, ["--models", "ecgnet"]))!);
 * console.log(report.written.length, report.missing);
 * ```
 */
export async function viz(
  { config: asked, flags, defaulted }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<VizReport> {
  const requestedMethods = parseNameList(flags.methods, "methods");
  const ids = parseNameList(flags.ids, "ids");
  // Without --data, the figures show the data the checkpoints were trained on.
  const dataGiven = !defaulted?.includes("data");
  const selection = await OutputSelection.open(asked.out, dataGiven ? { data: asked.data } : {});
  const config = { ...asked, data: dataGiven ? asked.data : selection.dataRoot() ?? asked.data };
  if (config.data !== asked.data) {
    console.log(`viz: the data the checkpoints were trained on, ${config.data}`);
  }
  const sink = new FigureSink(vizFiguresDir(config.out), parseDpiFlag(flags.dpi));
  const samples = await openTestSamples(config);
  await drawExamples(sink, samples, config.classes);

  const checkpoints = [];
  for (const name of config.models) {
    const { best } = modelPaths(config.out, name);
    const found = await statOrUndefined(join(best, "meta.json"));
    checkpoints.push({ name, best, meta: found ? await readCheckpointMeta(best) : undefined });
  }
  const sizesPx = new Set(checkpoints.flatMap(({ meta }) => meta ? [meta.imgSizePx] : []));
  await drawPixelGrids(sink, samples, config, sizesPx.size > 0 ? [...sizesPx] : [config.imgSizePx]);

  if (checkpoints.some((c) => c.meta)) {
    console.log(
      describeBackend(
        await startBackend(config.backend, { openBlas: config.convolutions === "openblas" }),
      ),
    );
  }
  for (const { name, best, meta } of checkpoints) {
    const trainStage = `run deno task train --models ${name}`;
    const before = sink.report.written.length;
    if (!meta) {
      sink.missing(`filters ${name}: no checkpoint ${best} — ${trainStage}`);
      sink.missing(`umap ${name}: no checkpoint ${best} — ${trainStage}`);
      await sink.drop(`filters_${name}`);
      await sink.drop(`umap_${name}`);
    } else {
      const loaded = await loadCheckpointModel(best, hooks.buildModel);
      try {
        const filters = await filterGridFigure(loaded.model, name);
        if (filters) await sink.figure(`filters_${name}`, filters.image);
        else sink.missing(`filters ${name}: the model has no convolution`);
        if (typeof samples === "string") sink.missing(`umap ${name}: ${samples} — ${DATA_STAGE}`);
        else await drawUmap(sink, config, name, loaded);
      } finally {
        loaded.model.dispose();
      }
    }
    await drawExplanationGrids(sink, config, name, requestedMethods, ids, selection);
    const drawn = sink.report.written.slice(before);
    if (meta && drawn.length > 0 && typeof samples !== "string") {
      await writeProvenance(config.out, {
        stage: "viz",
        model: name,
        outputs: drawn.map((file) => outputPath(config.out, file)),
        checkpoint: { fingerprint: await checkpointFingerprint(best), epoch: meta.epoch },
        data: await dataIdentity(config.data),
        settings: {
          "--methods": requestedMethods ?? null,
          "--ids": ids ?? null,
          "--limit": config.limit ?? null,
          "--seed": config.seed,
        },
        version: await projectVersion(),
      });
    }
  }
  const { written, missing } = sink.report;
  console.log(
    `viz: ${written.length} file(s) in ${sink.dir}` +
      (missing.length > 0 ? `; ${missing.length} figure(s) not drawn (see above)` : ""),
  );
  return sink.report;
}

if (import.meta.main) {
  Deno.exit(await runStage(vizSpec, Deno.args, async (a) => void (await viz(a))));
}
