/**
 * The layout every image figure shares: a title, column headers, and a grid of tiles
 * (pictures) with an optional colour bar and caption lines under each, then footer lines
 * (what the figure shows and how it was chosen), on a white page, as SVG.
 *
 * All cells are as large as the largest tile, so columns and rows line up; a smaller tile
 * sits centred at the top of its cell. A missing tile (`undefined`) leaves its cell empty.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import type { ColourScale } from "../../xai/colour_scale.ts";
import { COLOUR_BAR_BLOCK_PX, colourBarSvg } from "../../xai/colour_bar.ts";
import {
  MUTED_INK,
  type SvgFigure,
  svgFigure,
  svgPicture,
  svgRect,
  svgText,
} from "../../svg/figure.ts";
import {
  LABEL_FONT_PX,
  lineHeightPx,
  textWidthPx,
  TITLE_FONT_PX,
  truncateToWidth,
  wrapToWidth,
} from "../../svg/text.ts";

/** Margin around the grid and gap between cells, in pixels. */
export const GRID_GAP_PX = 12;
/** Width of a tile's frame (correct / wrong marks), in pixels. */
const FRAME_PX = 4;

/** One tile: a picture and what goes under it. */
export interface Tile {
  /** The raster; drawn at `displayPx` when given (a larger raster prints sharper). */
  image: RgbaImage;
  displayPx?: { widthPx: number; heightPx: number };
  /** Keep pixels square when the picture is enlarged (nearest neighbour). */
  pixelated?: boolean;
  /** A frame around the picture in this colour (e.g. a wrong prediction in red). */
  frame?: string;
  /** A colour bar under the picture for this scale; `null`: the scale is not known. */
  colourBar?: ColourScale | null;
  caption?: readonly string[];
}

/** What {@link tileGrid} draws. */
export interface TileGridSpec {
  /** Lines at the top of the page: a title, then subtitles. */
  title?: readonly string[];
  /** One header per column, above the first row. */
  columnHeaders?: readonly string[];
  /** Rows of tiles; rows may be shorter than the number of columns. */
  rows: readonly (readonly (Tile | undefined)[])[];
  /** Paragraphs under the grid, wrapped to the page's width. */
  footer?: readonly string[];
}

/** Where a tile landed on the page. */
export interface TileRect {
  row: number;
  column: number;
  xPx: number;
  yPx: number;
  widthPx: number;
  heightPx: number;
}

function shownSize(tile: Tile): { widthPx: number; heightPx: number } {
  return tile.displayPx ?? { widthPx: tile.image.widthPx, heightPx: tile.image.heightPx };
}

/**
 * Lays the grid out; returns the figure and where each tile went (in row-major order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { tileGrid } from "./tile_grid.ts";
 * const tile = { image: filledImage(10, 5, [0, 0, 0]), caption: ["a"] };
 * const { image, tiles } = tileGrid({ title: ["T"], rows: [[tile, tile], [tile]], footer: ["f"] });
 * assert(tiles.length === 3 && image.widthPx > 20 && image.heightPx > 10);
 * assert(image.svg.includes('class="title"') && image.svg.includes('class="footer"'));
 * ```
 */
export function tileGrid(spec: TileGridSpec): { image: SvgFigure; tiles: TileRect[] } {
  const present = spec.rows.flat().filter((t): t is Tile => t !== undefined);
  const columns = Math.max(spec.columnHeaders?.length ?? 0, ...spec.rows.map((r) => r.length), 1);
  const cellWidthPx = Math.max(1, ...present.map((t) => shownSize(t).widthPx));
  const cellHeightPx = Math.max(1, ...present.map((t) => shownSize(t).heightPx));
  const labelLinePx = lineHeightPx(LABEL_FONT_PX);
  // Under a picture: its colour bar, if any, then its captions.
  const barPx = (t: Tile) => t.colourBar !== undefined ? COLOUR_BAR_BLOCK_PX + 4 : 0;
  const belowPx = Math.max(
    0,
    ...present.map((t) => barPx(t) + (t.caption?.length ?? 0) * labelLinePx),
  );
  const [title, ...subtitles] = spec.title ?? [];
  const titleHeightPx = (title === undefined ? 0 : lineHeightPx(TITLE_FONT_PX)) +
    subtitles.length * labelLinePx + (title === undefined ? 0 : GRID_GAP_PX / 2);
  const headerHeightPx = spec.columnHeaders ? labelLinePx : 0;
  const rowHeightPx = cellHeightPx + belowPx + GRID_GAP_PX;
  const gridWidthPx = columns * cellWidthPx + (columns - 1) * GRID_GAP_PX;
  const titleWidthPx = Math.max(
    title === undefined ? 0 : textWidthPx(title, TITLE_FONT_PX),
    ...subtitles.map((l) => textWidthPx(l, LABEL_FONT_PX)),
  );
  const innerWidthPx = Math.max(gridWidthPx, titleWidthPx);
  const footerLines = (spec.footer ?? []).flatMap((p) =>
    wrapToWidth(p, LABEL_FONT_PX, innerWidthPx)
  );
  const body: string[] = [];
  let yPx = GRID_GAP_PX;
  if (title !== undefined) {
    body.push(
      svgText(title, GRID_GAP_PX, yPx, { fontPx: TITLE_FONT_PX, bold: true, className: "title" }),
    );
    yPx += lineHeightPx(TITLE_FONT_PX);
    for (const line of subtitles) {
      body.push(svgText(line, GRID_GAP_PX, yPx, { fontPx: LABEL_FONT_PX, className: "subtitle" }));
      yPx += labelLinePx;
    }
  }
  const gridTopPx = GRID_GAP_PX + titleHeightPx;
  const columnLeftPx = (c: number) => GRID_GAP_PX + c * (cellWidthPx + GRID_GAP_PX);
  const fit = (text: string) => truncateToWidth(text, LABEL_FONT_PX, cellWidthPx);
  (spec.columnHeaders ?? []).forEach((header, c) => {
    body.push(svgText(fit(header), columnLeftPx(c), gridTopPx, {
      fontPx: LABEL_FONT_PX,
      bold: true,
      className: "column-header",
    }));
  });
  const tiles: TileRect[] = [];
  spec.rows.forEach((row, r) => {
    const topPx = gridTopPx + headerHeightPx + r * rowHeightPx;
    row.forEach((tile, c) => {
      if (!tile) return;
      const { widthPx: w, heightPx: h } = shownSize(tile);
      const xPx = columnLeftPx(c) + Math.floor((cellWidthPx - w) / 2);
      const parts = [
        svgPicture(tile.image, xPx, topPx, { widthPx: w, heightPx: h, pixelated: tile.pixelated }),
      ];
      if (tile.frame) {
        parts.push(svgRect(xPx - FRAME_PX / 2, topPx - FRAME_PX / 2, w + FRAME_PX, h + FRAME_PX, {
          stroke: tile.frame,
          strokePx: FRAME_PX,
          className: "tile-frame",
        }));
      }
      if (tile.colourBar !== undefined) {
        parts.push(
          colourBarSvg(
            tile.colourBar ?? undefined,
            columnLeftPx(c),
            topPx + cellHeightPx + 6,
            cellWidthPx,
          ),
        );
      }
      (tile.caption ?? []).forEach((line, i) => {
        const captionTopPx = topPx + cellHeightPx + barPx(tile) + i * labelLinePx + 4;
        parts.push(svgText(fit(line), columnLeftPx(c), captionTopPx, {
          fontPx: LABEL_FONT_PX,
          className: "caption",
        }));
      });
      body.push(`<g class="tile" data-row="${r}" data-column="${c}">${parts.join("")}</g>`);
      tiles.push({ row: r, column: c, xPx, yPx: topPx, widthPx: w, heightPx: h });
    });
  });
  const footerTopPx = gridTopPx + headerHeightPx + spec.rows.length * rowHeightPx;
  footerLines.forEach((line, i) => {
    body.push(svgText(line, GRID_GAP_PX, footerTopPx + i * labelLinePx, {
      fontPx: LABEL_FONT_PX,
      fill: MUTED_INK,
      className: "footer",
    }));
  });
  const heightPx = footerTopPx + footerLines.length * labelLinePx +
    (footerLines.length > 0 ? GRID_GAP_PX : 0);
  return { image: svgFigure(2 * GRID_GAP_PX + innerWidthPx, heightPx, body), tiles };
}

/**
 * `items` cut into rows of `columns` (the last may be shorter).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chunkRows } from "./tile_grid.ts";
 * assert(JSON.stringify(chunkRows([1, 2, 3], 2)) === "[[1,2],[3]]");
 * ```
 */
export function chunkRows<T>(items: readonly T[], columns: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += columns) rows.push(items.slice(i, i + columns));
  return rows;
}
