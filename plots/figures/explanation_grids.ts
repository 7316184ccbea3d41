/**
 * Figures of one model's explanations: the heatmap grid (images x methods) and the super grid
 * (one image, every method's overlay, with the prediction written out). Every overlay carries
 * its colour bar; every input is framed green (correct prediction) or red (wrong); the footer
 * says how the images were chosen and how the colours were scaled.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import type { ColourScale } from "../../xai/colour_scale.ts";
import { colourRuleNotes } from "../../xai/colour_bar.ts";
import type { ExplainedImage } from "./explanation_index.ts";
import type { SvgFigure } from "../../svg/figure.ts";
import { chunkRows, type Tile, tileGrid } from "./tile_grid.ts";

/** An explained image with its pictures: the source and one overlay per method. */
export interface ExplainedPictures extends ExplainedImage {
  input: RgbaImage;
  /** In the order of the figure's methods; all at the input's size. */
  overlays: RgbaImage[];
  /** Per overlay, the colour scale it was drawn with (`null` when it was not recorded). */
  scales: (ColourScale | null)[];
  /** The size the pictures are shown at, when the rasters are larger (for sharp prints). */
  displayPx?: { widthPx: number; heightPx: number };
}

/** Most tiles per row of the super grid. */
export const SUPER_GRID_COLUMNS = 3;
/** Frame colour of a correctly predicted image (tab10 green). */
export const CORRECT_COLOUR = "#2ca02c";
/** Frame colour of a wrongly predicted image (tab10 red). */
export const WRONG_COLOUR = "#d62728";
/** What the frames mean, for footers. */
export const FRAME_NOTE = "Input frames: green = predicted correctly, red = predicted wrongly.";

/** The image's file stem: the last part of its id. */
function stem(id: string): string {
  return id.slice(id.lastIndexOf("/") + 1);
}

/**
 * `pred MI (p 0.93)`: the predicted class and its probability.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { predictionText } from "./explanation_grids.ts";
 * assert(predictionText({ predictedClass: "MI", probability: 0.9251 }) === "pred MI (p 0.93)");
 * ```
 */
export function predictionText(
  image: Pick<ExplainedImage, "predictedClass" | "probability">,
): string {
  return `pred ${image.predictedClass} (p ${image.probability.toFixed(2)})`;
}

/**
 * Whether the prediction was right, in words: `correct` or `WRONG`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { verdictText } from "./explanation_grids.ts";
 * assert(verdictText({ trueClass: "MI", predictedClass: "Normal" }) === "WRONG");
 * ```
 */
export function verdictText(image: Pick<ExplainedImage, "trueClass" | "predictedClass">): string {
  return image.trueClass === image.predictedClass ? "correct" : "WRONG";
}

function inputTile(image: ExplainedPictures, caption: readonly string[]): Tile {
  const correct = image.trueClass === image.predictedClass;
  return {
    image: image.input,
    displayPx: image.displayPx,
    frame: correct ? CORRECT_COLOUR : WRONG_COLOUR,
    caption,
  };
}

function overlayTiles(image: ExplainedPictures, captions?: readonly string[]): Tile[] {
  return image.overlays.map((overlay, m) => ({
    image: overlay,
    displayPx: image.displayPx,
    colourBar: image.scales[m],
    ...(captions ? { caption: [captions[m]] } : {}),
  }));
}

/**
 * Rows of images, columns: the input, then each method's overlay with its colour bar; the
 * input's caption names the image, its true class, the prediction and whether it was right.
 * `selection` says how the images were chosen (the footer's first line).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { heatmapGridFigure } from "./explanation_grids.ts";
 * const picture = filledImage(40, 30, [90, 90, 90]);
 * const image = {
 *   id: "test/MI/a", file: "a.jpg", trueClass: "MI", predictedClass: "MI", probability: 0.9,
 *   input: picture, overlays: [picture, picture],
 *   scales: [{ colormap: "Reds" as const, low: 0, high: 1 }, null],
 * };
 * const figure = heatmapGridFigure("ecgnet", ["gradcam", "saliency"], [image, image], "two images");
 * assert(figure.widthPx > 3 * 40 && figure.heightPx > 2 * 30);
 * assert(figure.svg.includes('class="colour-bar"') && figure.svg.includes("two images"));
 * ```
 */
export function heatmapGridFigure(
  modelName: string,
  methods: readonly string[],
  images: readonly ExplainedPictures[],
  selection: string,
): SvgFigure {
  return tileGrid({
    title: [`${modelName}: explanations of ${images.length} test images`],
    columnHeaders: ["input", ...methods],
    rows: images.map((image) => [
      inputTile(image, [
        stem(image.id),
        `true ${image.trueClass}`,
        predictionText(image),
        verdictText(image),
      ]),
      ...overlayTiles(image),
    ]),
    footer: [selection, FRAME_NOTE, ...colourRuleNotes(images.flatMap((i) => i.scales))],
  }).image;
}

/**
 * One image large: the input and every method's overlay, each captioned and with its colour
 * bar, under a title with the image id, its true class and the prediction.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { superGridFigure } from "./explanation_grids.ts";
 * const picture = filledImage(40, 30, [90, 90, 90]);
 * const image = {
 *   id: "test/MI/a", file: "a.jpg", trueClass: "MI", predictedClass: "Normal", probability: 0.9,
 *   input: picture, overlays: [picture], scales: [{ colormap: "RdBu_r" as const, low: -1, high: 1 }],
 * };
 * const figure = superGridFigure("ecgnet", ["gradcam"], image, "the first image");
 * assert(figure.widthPx > 2 * 40 && figure.svg.includes("WRONG"));
 * ```
 */
export function superGridFigure(
  modelName: string,
  methods: readonly string[],
  image: ExplainedPictures,
  selection: string,
): SvgFigure {
  const tiles = [inputTile(image, ["input"]), ...overlayTiles(image, methods)];
  return tileGrid({
    title: [
      `${modelName}: ${image.id}`,
      `true ${image.trueClass}, ${predictionText(image)}: ${verdictText(image)}`,
    ],
    rows: chunkRows(tiles, Math.min(SUPER_GRID_COLUMNS, tiles.length)),
    footer: [selection, FRAME_NOTE, ...colourRuleNotes(image.scales)],
  }).image;
}
