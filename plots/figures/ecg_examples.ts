/**
 * Figures of the data: a few example reports per class, and one report per class side by side.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import type { SvgFigure } from "../../svg/figure.ts";
import { chunkRows, tileGrid } from "./tile_grid.ts";

/** A report picture and the name it is shown with. */
export interface LabelledPicture {
  label: string;
  image: RgbaImage;
  /** The size it is shown at, when the raster is larger (for sharp prints). */
  displayPx?: { widthPx: number; heightPx: number };
}

/** Tiles per row of the examples figure. */
export const EXAMPLES_COLUMNS = 3;
/** Tiles per row of the one-per-class overview. */
export const OVERVIEW_COLUMNS = 2;

/**
 * Examples of one class in rows of {@link EXAMPLES_COLUMNS}, each captioned with its file.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { classExamplesFigure } from "./ecg_examples.ts";
 * const picture = { label: "MI(1)", image: filledImage(40, 30, [200, 200, 200]) };
 * const figure = classExamplesFigure("Infarkt-Größe", [picture, picture]);
 * assert(figure.widthPx > 80 && figure.svg.includes("Class Infarkt-Größe"));
 * ```
 */
export function classExamplesFigure(
  className: string,
  pictures: readonly LabelledPicture[],
): SvgFigure {
  return tileGrid({
    title: [`Class ${className}: ${pictures.length} example(s)`],
    rows: chunkRows(
      pictures.map(({ label, image, displayPx }) => ({ image, displayPx, caption: [label] })),
      EXAMPLES_COLUMNS,
    ),
  }).image;
}

/**
 * One picture per class, captioned with the class name.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { classOverviewFigure } from "./ecg_examples.ts";
 * const picture = filledImage(40, 30, [200, 200, 200]);
 * const figure = classOverviewFigure([{ label: "MI", image: picture }, { label: "Normal", image: picture }]);
 * assert(figure.heightPx > 30);
 * ```
 */
export function classOverviewFigure(pictures: readonly LabelledPicture[]): SvgFigure {
  return tileGrid({
    title: ["One ECG per class"],
    rows: chunkRows(
      pictures.map(({ label, image, displayPx }) => ({ image, displayPx, caption: [label] })),
      OVERVIEW_COLUMNS,
    ),
  }).image;
}
