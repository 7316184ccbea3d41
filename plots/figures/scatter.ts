/**
 * A scatter plot of labelled 2-D points (a UMAP embedding) with a colour legend, drawn on a
 * fixed-size page. UMAP's axes have no units, so there are no ticks, only a frame.
 *
 * @module
 */
import type { Rgb } from "../../data/synth/raster.ts";
import { type SvgFigure, svgFigure, svgRect, svgText } from "../../svg/figure.ts";
import { LABEL_FONT_PX, lineHeightPx, textWidthPx, TITLE_FONT_PX } from "../../svg/text.ts";

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
const FRAME_COLOUR = "#aaaaaa";

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
 *   classNames: ["A", "Größe"],
 *   title: ["three points"],
 * });
 * assert(plot.widthPx === SCATTER_SIZE_PX.widthPx && plot.svg.includes("Größe (2)"));
 * ```
 */
export function scatterPlot(spec: ScatterSpec): SvgFigure {
  const { widthPx, heightPx } = SCATTER_SIZE_PX;
  const body: string[] = [];
  // The first title line large, the rest (details) at label size.
  let titleBottomPx = MARGIN_PX;
  spec.title.forEach((line, i) => {
    const fontPx = i === 0 ? TITLE_FONT_PX : LABEL_FONT_PX;
    body.push(svgText(line, MARGIN_PX, titleBottomPx, {
      fontPx,
      bold: i === 0,
      className: i === 0 ? "title" : "subtitle",
    }));
    titleBottomPx += lineHeightPx(fontPx);
  });
  const n = spec.classIndex.length;
  const counts = spec.classNames.map((_, k) =>
    Array.from(spec.classIndex).filter((c) => c === k).length
  );
  const legend = spec.classNames.map((name, k) => `${name} (${counts[k]})`);
  const labelLinePx = lineHeightPx(LABEL_FONT_PX);
  const swatchPx = LABEL_FONT_PX;
  const legendWidthPx = swatchPx + 8 +
    Math.max(...legend.map((l) => textWidthPx(l, LABEL_FONT_PX)));
  const plot = {
    left: MARGIN_PX,
    top: titleBottomPx + MARGIN_PX,
    right: widthPx - MARGIN_PX * 2 - legendWidthPx,
    bottom: heightPx - MARGIN_PX,
  };
  body.push(svgRect(plot.left, plot.top, plot.right - plot.left, plot.bottom - plot.top, {
    stroke: FRAME_COLOUR,
  }));
  const legendItems = legend.map((line, k) => {
    const xPx = plot.right + MARGIN_PX, yPx = plot.top + k * labelLinePx;
    return svgRect(xPx, yPx + 1, swatchPx, swatchPx, { fill: classColour(k) }) +
      svgText(line, xPx + swatchPx + 8, yPx, { fontPx: LABEL_FONT_PX, className: "legend-label" });
  });
  body.push(`<g class="legend">${legendItems.join("")}</g>`);

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
  // Classes in label order, so the last class is drawn on top.
  spec.classNames.forEach((_, k) => {
    const points: string[] = [];
    for (let i = 0; i < n; i++) {
      if (spec.classIndex[i] !== k) continue;
      const x = toX(spec.pointsN2[i * 2]), y = toY(spec.pointsN2[i * 2 + 1]);
      points.push(
        `<circle cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="${POINT_DIAMETER_PX / 2}"/>`,
      );
    }
    body.push(
      `<g class="points" fill="${classColour(k)}" fill-opacity="0.85">${points.join("")}</g>`,
    );
  });
  return svgFigure(widthPx, heightPx, body);
}

function classColour(k: number): string {
  const [r, g, b] = CLASS_PALETTE[k % CLASS_PALETTE.length];
  return `rgb(${r},${g},${b})`;
}
