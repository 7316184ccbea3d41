/**
 * Figures of one model's explanations: the heatmap grid (images x methods) and the super grid
 * (one image, every method's overlay, with the prediction written out).
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import type { ExplainedImage } from "./explanation_index.ts";
import { chunkRows, tileGrid } from "./tile_grid.ts";

/** An explained image with its pictures: the source and one overlay per method. */
export interface ExplainedPictures extends ExplainedImage {
  input: RgbaImage;
  /** In the order of the figure's methods. */
  overlays: RgbaImage[];
}

/** Most tiles per row of the super grid. */
export const SUPER_GRID_COLUMNS = 3;

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
 * Rows of images, columns: the input, then each method's overlay; the input's caption names
 * the image, its true class and the prediction.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { heatmapGridFigure } from "./explanation_grids.ts";
 * const picture = filledImage(40, 30, [90, 90, 90]);
 * const image = { id: "test/MI/a", file: "a.jpg", trueClass: "MI", predictedClass: "MI", probability: 0.9, input: picture, overlays: [picture, picture] };
 * const figure = heatmapGridFigure("ecgnet", ["gradcam", "saliency"], [image, image]);
 * assert(figure.widthPx > 3 * 40 && figure.heightPx > 2 * 30);
 * ```
 */
export function heatmapGridFigure(
  modelName: string,
  methods: readonly string[],
  images: readonly ExplainedPictures[],
): RgbaImage {
  return tileGrid({
    title: [`${modelName}: explanations of ${images.length} test images`],
    columnHeaders: ["input", ...methods],
    rows: images.map((image) => [
      {
        image: image.input,
        caption: [stem(image.id), `true ${image.trueClass}`, predictionText(image)],
      },
      ...image.overlays.map((overlay) => ({ image: overlay })),
    ]),
  }).image;
}

/**
 * One image large: the input and every method's overlay, each captioned, under a title with
 * the image id, its true class and the predicted class with its probability.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { superGridFigure } from "./explanation_grids.ts";
 * const picture = filledImage(40, 30, [90, 90, 90]);
 * const image = { id: "test/MI/a", file: "a.jpg", trueClass: "MI", predictedClass: "MI", probability: 0.9, input: picture, overlays: [picture] };
 * assert(superGridFigure("ecgnet", ["gradcam"], image).widthPx > 2 * 40);
 * ```
 */
export function superGridFigure(
  modelName: string,
  methods: readonly string[],
  image: ExplainedPictures,
): RgbaImage {
  const tiles = [
    { image: image.input, caption: ["input"] },
    ...image.overlays.map((overlay, m) => ({ image: overlay, caption: [methods[m]] })),
  ];
  return tileGrid({
    title: [
      `${modelName}: ${image.id}`,
      `true ${image.trueClass}, ${predictionText(image)}`,
    ],
    rows: chunkRows(tiles, Math.min(SUPER_GRID_COLUMNS, tiles.length)),
  }).image;
}
