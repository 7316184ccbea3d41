/**
 * The layout every image figure shares: a title, column headers, and a grid of tiles (images)
 * with caption lines under each, on a white page.
 *
 * All cells are as large as the largest tile, so columns and rows line up; a smaller tile
 * sits centred at the top of its cell. A missing tile (`undefined`) leaves its cell empty.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import { filledImage, type Rgb } from "../../data/synth/raster.ts";
import { pasteImage } from "./canvas.ts";
import { drawText, lineHeightPx, textWidthPx, truncateToWidth } from "./text.ts";

/** Page colour of every figure. */
export const PAGE_RGB: Rgb = [255, 255, 255];
/** Text colour of every figure. */
export const INK_RGB: Rgb = [20, 20, 20];
/** Margin around the grid and gap between cells, in pixels. */
export const GRID_GAP_PX = 12;
/** Font cell size of captions and headers (14 px capitals). */
export const LABEL_CELL_PX = 2;
/** Font cell size of titles (21 px capitals). */
export const TITLE_CELL_PX = 3;

/** One tile: an image and the caption lines under it. */
export interface Tile {
  image: RgbaImage;
  caption?: readonly string[];
}

/** What {@link tileGrid} draws. */
export interface TileGridSpec {
  /** Lines at the top of the page. */
  title?: readonly string[];
  /** One header per column, above the first row. */
  columnHeaders?: readonly string[];
  /** Rows of tiles; rows may be shorter than the number of columns. */
  rows: readonly (readonly (Tile | undefined)[])[];
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

/**
 * Draws the grid; returns the page and where each tile went (in row-major order).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "../../data/synth/raster.ts";
 * import { tileGrid } from "./tile_grid.ts";
 * const tile = { image: filledImage(10, 5, [0, 0, 0]), caption: ["a"] };
 * const { image, tiles } = tileGrid({ title: ["T"], rows: [[tile, tile], [tile]] });
 * assert(tiles.length === 3 && image.widthPx > 20 && image.heightPx > 10);
 * ```
 */
export function tileGrid(spec: TileGridSpec): { image: RgbaImage; tiles: TileRect[] } {
  const present = spec.rows.flat().filter((t): t is Tile => t !== undefined);
  const columns = Math.max(spec.columnHeaders?.length ?? 0, ...spec.rows.map((r) => r.length), 1);
  const cellWidthPx = Math.max(1, ...present.map((t) => t.image.widthPx));
  const cellHeightPx = Math.max(1, ...present.map((t) => t.image.heightPx));
  const captionLines = Math.max(0, ...present.map((t) => t.caption?.length ?? 0));
  const labelLinePx = lineHeightPx(LABEL_CELL_PX);
  const titleLinePx = lineHeightPx(TITLE_CELL_PX);
  const titleHeightPx = (spec.title?.length ?? 0) * titleLinePx;
  const headerHeightPx = spec.columnHeaders ? labelLinePx : 0;
  const rowHeightPx = cellHeightPx + captionLines * labelLinePx + GRID_GAP_PX;
  const gridWidthPx = columns * cellWidthPx + (columns - 1) * GRID_GAP_PX;
  const titleWidthPx = Math.max(0, ...(spec.title ?? []).map((l) => textWidthPx(l, TITLE_CELL_PX)));
  const widthPx = 2 * GRID_GAP_PX + Math.max(gridWidthPx, titleWidthPx);
  const heightPx = GRID_GAP_PX + titleHeightPx + headerHeightPx + spec.rows.length * rowHeightPx;
  const page = filledImage(widthPx, heightPx, PAGE_RGB);

  (spec.title ?? []).forEach((line, i) => {
    drawText(page, line, GRID_GAP_PX, GRID_GAP_PX + i * titleLinePx, TITLE_CELL_PX, INK_RGB);
  });
  const gridTopPx = GRID_GAP_PX + titleHeightPx;
  const columnLeftPx = (c: number) => GRID_GAP_PX + c * (cellWidthPx + GRID_GAP_PX);
  const fit = (text: string) => truncateToWidth(text, LABEL_CELL_PX, cellWidthPx);
  (spec.columnHeaders ?? []).forEach((header, c) => {
    drawText(page, fit(header), columnLeftPx(c), gridTopPx, LABEL_CELL_PX, INK_RGB);
  });
  const tiles: TileRect[] = [];
  spec.rows.forEach((row, r) => {
    const topPx = gridTopPx + headerHeightPx + r * rowHeightPx;
    row.forEach((tile, c) => {
      if (!tile) return;
      const { widthPx: w, heightPx: h } = tile.image;
      const xPx = columnLeftPx(c) + Math.floor((cellWidthPx - w) / 2);
      pasteImage(page, tile.image, xPx, topPx);
      tiles.push({ row: r, column: c, xPx, yPx: topPx, widthPx: w, heightPx: h });
      (tile.caption ?? []).forEach((line, i) => {
        const captionTopPx = topPx + cellHeightPx + i * labelLinePx + LABEL_CELL_PX * 2;
        drawText(page, fit(line), columnLeftPx(c), captionTopPx, LABEL_CELL_PX, INK_RGB);
      });
    });
  });
  return { image: page, tiles };
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
