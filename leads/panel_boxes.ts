/**
 * The panels of the standard 12-lead report (3 x 4 lead panels, I aVR V1 V4 / II aVL V2 V5 /
 * III aVF V3 V6, and the lead II rhythm strip) as boxes on the page, in page millimetres, and
 * which panel each pixel of an explanation map falls in.
 *
 * A panel's box spans its time window (2.5 s, 62.5 mm, from where its trace starts) and its row
 * of the pink grid: rows are cut halfway between the rows' baselines, the first starting at the
 * grid's top and the rhythm strip ending at its bottom. So the 13 boxes tile the grid box right
 * of the calibration pulses and labels; the rest of the page (header, footer, pulses, margins) is
 * outside every panel. The geometry is the synthetic reports' (`data/synth/report_layout.ts`),
 * which was measured on the real scans.
 *
 * @module
 */
import type { LeadName } from "../data/synth/beat_model.ts";
import {
  GRID_BOX_MM,
  MM_PER_SECOND,
  reportPanels,
  ROW_BASELINES_MM,
} from "../data/synth/report_layout.ts";

/** One panel's box on the page. */
export interface PanelBox {
  /** Its column name in tables: the lead, or `II_rhythm` for the rhythm strip. */
  name: string;
  /** The lead it shows. */
  lead: LeadName;
  leftMm: number;
  topMm: number;
  rightMm: number;
  bottomMm: number;
}

/** Where a page lies in an image: page millimetres to image pixels and back. */
export interface PageFrame {
  /** Image pixel coordinates of page point (`xMm`, `yMm`). */
  toPx(xMm: number, yMm: number): [xPx: number, yPx: number];
  /** Page coordinates of image point (`xPx`, `yPx`). */
  toMm(xPx: number, yPx: number): [xMm: number, yMm: number];
}

/** A width and height in pixels. */
export interface SizePx {
  widthPx: number;
  heightPx: number;
}

/** Where row `row`'s box starts (row 4: where the last ends). */
function rowEdgeMm(row: number): number {
  if (row === 0) return GRID_BOX_MM.top;
  if (row === ROW_BASELINES_MM.length) return GRID_BOX_MM.bottom;
  return (ROW_BASELINES_MM[row - 1] + ROW_BASELINES_MM[row]) / 2;
}

/**
 * The 13 panel boxes: the 12 lead panels row by row, then the rhythm strip.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PANEL_BOXES } from "./panel_boxes.ts";
 * assert(PANEL_BOXES.length === 13 && PANEL_BOXES[2].name === "V1");
 * assert(PANEL_BOXES[12].name === "II_rhythm" && PANEL_BOXES[12].lead === "II");
 * assert(PANEL_BOXES[0].rightMm === PANEL_BOXES[1].leftMm); // neighbours share an edge
 * ```
 */
export const PANEL_BOXES: readonly PanelBox[] = reportPanels().map((panel) => ({
  name: panel.row === ROW_BASELINES_MM.length - 1 ? `${panel.lead}_rhythm` : panel.lead,
  lead: panel.lead,
  leftMm: panel.xMm,
  topMm: rowEdgeMm(panel.row),
  rightMm: panel.xMm + (panel.endSeconds - panel.startSeconds) * MM_PER_SECOND,
  bottomMm: rowEdgeMm(panel.row + 1),
}));

/**
 * The index in {@link PANEL_BOXES} of the box holding page point (`xMm`, `yMm`), or −1. Edges
 * belong to the box right of and below them, so each point has one box.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PANEL_BOXES, panelAt } from "./panel_boxes.ts";
 * const v1 = PANEL_BOXES[2];
 * assert(panelAt(v1.leftMm, v1.topMm) === 2 && panelAt(5, 5) === -1);
 * ```
 */
export function panelAt(xMm: number, yMm: number): number {
  return PANEL_BOXES.findIndex((box) =>
    xMm >= box.leftMm && xMm < box.rightMm && yMm >= box.topMm && yMm < box.bottomMm
  );
}

/**
 * Which panel each pixel of a `map`-sized explanation of a `source`-sized page falls in
 * (row-major, −1 outside every panel). A map covers the whole page, stretched as the images are
 * for the model; each map pixel counts where its centre lands.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PageTransform } from "../data/synth/report_layout.ts";
 * import { panelLabels } from "./panel_boxes.ts";
 * const source = { widthPx: 640, heightPx: 455 };
 * const labels = panelLabels(new PageTransform(640), source, { widthPx: 64, heightPx: 64 });
 * assert(labels.length === 64 * 64 && labels[0] === -1);
 * assert(new Set(labels).size === 14); // 13 panels and outside
 * ```
 */
export function panelLabels(frame: PageFrame, source: SizePx, map: SizePx): Int8Array {
  const labels = new Int8Array(map.widthPx * map.heightPx);
  const scaleX = source.widthPx / map.widthPx, scaleY = source.heightPx / map.heightPx;
  for (let v = 0; v < map.heightPx; v++) {
    for (let u = 0; u < map.widthPx; u++) {
      labels[v * map.widthPx + u] = panelAt(...frame.toMm((u + 0.5) * scaleX, (v + 0.5) * scaleY));
    }
  }
  return labels;
}
