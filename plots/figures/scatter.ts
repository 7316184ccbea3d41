/**
 * A scatter plot of labelled 2-D points (a UMAP embedding) with a colour legend, drawn on a
 * fixed-size page. UMAP's axes have no units, so there are no ticks, only a frame.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import { compositeInk, CoverageCanvas, filledImage, type Rgb } from "../../data/synth/raster.ts";
import { fillRect, strokeRect } from "./canvas.ts";
import { drawText, lineHeightPx, textWidthPx } from "./text.ts";
import { INK_RGB, LABEL_CELL_PX, PAGE_RGB, TITLE_CELL_PX } from "./tile_grid.ts";

/** Class colours in label order: matplotlib's tab10, repeated past ten classes. */
export const CLASS_PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** Width and height of a scatter plot page, in pixels. */
export const SCATTER_SIZE_PX = { widthPx: 900, heightPx: 640 } as const;

const MARGIN_PX = 16;
const POINT_DIAMETER_PX = 9;
const FRAME_RGB: Rgb = [170, 170, 170];

/** What {@link scatterPlot} draws. */
export interface ScatterSpec {
  /** [n, 2] point coordinates, x then y. */
  pointsN2: Float32Array;
  /** Class index per point, into `classNames`. */
  classIndex: ArrayLike<number>;
  classNames: readonly string[];
  /** Lines above the plot: a heading, then details in smaller text. */
  title: readonly string[];
}

/**
 * The plot, {@link SCATTER_SIZE_PX} in size; the legend lists each class with its count.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SCATTER_SIZE_PX, scatterPlot } from "./scatter.ts";
 * const plot = scatterPlot({
 *   pointsN2: new Float32Array([0, 0, 1, 1, 2, 0]),
 *   classIndex: [0, 1, 1],
 *   classNames: ["A", "B"],
 *   title: ["three points"],
 * });
 * assert(plot.widthPx === SCATTER_SIZE_PX.widthPx);
 * ```
 */
export function scatterPlot(spec: ScatterSpec): RgbaImage {
  const { widthPx, heightPx } = SCATTER_SIZE_PX;
  const page = filledImage(widthPx, heightPx, PAGE_RGB);
  // The first title line large, the rest (details) at label size.
  let titleBottomPx = MARGIN_PX;
  spec.title.forEach((line, i) => {
    const cellPx = i === 0 ? TITLE_CELL_PX : LABEL_CELL_PX;
    drawText(page, line, MARGIN_PX, titleBottomPx, cellPx, INK_RGB);
    titleBottomPx += lineHeightPx(cellPx);
  });
  const n = spec.classIndex.length;
  const counts = spec.classNames.map((_, k) =>
    Array.from(spec.classIndex).filter((c) => c === k).length
  );
  const legend = spec.classNames.map((name, k) => `${name} (${counts[k]})`);
  const labelLinePx = lineHeightPx(LABEL_CELL_PX);
  const swatchPx = 7 * LABEL_CELL_PX;
  const legendWidthPx = swatchPx + 8 +
    Math.max(...legend.map((l) => textWidthPx(l, LABEL_CELL_PX)));
  const plot = {
    left: MARGIN_PX,
    top: titleBottomPx + MARGIN_PX,
    right: widthPx - MARGIN_PX * 2 - legendWidthPx,
    bottom: heightPx - MARGIN_PX,
  };
  strokeRect(
    page,
    plot.left,
    plot.top,
    plot.right - plot.left,
    plot.bottom - plot.top,
    1,
    FRAME_RGB,
  );
  legend.forEach((line, k) => {
    const xPx = plot.right + MARGIN_PX, yPx = plot.top + k * labelLinePx;
    fillRect(page, xPx, yPx, swatchPx, swatchPx, CLASS_PALETTE[k % CLASS_PALETTE.length]);
    drawText(page, line, xPx + swatchPx + 8, yPx, LABEL_CELL_PX, INK_RGB);
  });

  const range = (axis: 0 | 1) => {
    let low = Infinity, high = -Infinity;
    for (let i = 0; i < n; i++) {
      low = Math.min(low, spec.pointsN2[i * 2 + axis]);
      high = Math.max(high, spec.pointsN2[i * 2 + axis]);
    }
    const pad = high > low ? (high - low) * 0.05 : 1;
    return { low: low - pad, span: high - low + 2 * pad };
  };
  const xRange = range(0), yRange = range(1);
  const insetPx = POINT_DIAMETER_PX;
  const toX = (v: number) =>
    plot.left + insetPx + ((v - xRange.low) / xRange.span) * (plot.right - plot.left - 2 * insetPx);
  const toY = (v: number) =>
    plot.bottom - insetPx -
    ((v - yRange.low) / yRange.span) * (plot.bottom - plot.top - 2 * insetPx);
  // One coverage layer per class, composited in label order: overlapping points of one class
  // merge instead of darkening, and the last class is drawn on top.
  spec.classNames.forEach((_, k) => {
    const layer = new CoverageCanvas(widthPx, heightPx);
    for (let i = 0; i < n; i++) {
      if (spec.classIndex[i] !== k) continue;
      const x = toX(spec.pointsN2[i * 2]), y = toY(spec.pointsN2[i * 2 + 1]);
      layer.strokeSegment(x, y, x, y, POINT_DIAMETER_PX);
    }
    compositeInk(page, layer, CLASS_PALETTE[k % CLASS_PALETTE.length]);
  });
  return page;
}
