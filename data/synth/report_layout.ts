/**
 * Page geometry of the synthetic reports, in millimetres, measured on the real scans
 * (2213x1572 px, 7.864 px/mm): a 281.4 x 199.9 mm page with a header block, a pink grid box,
 * three rows of four 2.5 s lead panels, a 10 s rhythm strip of lead II and a footer line.
 *
 * Standard recorder settings: 25 mm/s paper speed, 10 mm/mV gain.
 *
 * @module
 */
import type { LeadName } from "./beat_model.ts";

/** Size of the real full-resolution scans, whose aspect ratio the reports keep. */
export const REAL_SCAN_SIZE_PX = { widthPx: 2213, heightPx: 1572 } as const;

/** Page width in mm: the real scans' column spacing (491.5 px per 62.5 mm) fixes the scale. */
export const PAGE_WIDTH_MM = 281.4;

/** Page height in mm, from the real scans' aspect ratio. */
export const PAGE_HEIGHT_MM = PAGE_WIDTH_MM * REAL_SCAN_SIZE_PX.heightPx /
  REAL_SCAN_SIZE_PX.widthPx;

/** Paper speed: mm of trace per second. */
export const MM_PER_SECOND = 25;

/** Gain: mm of trace per mV. */
export const MM_PER_MV = 10;

/** The pink grid's outer box. */
export const GRID_BOX_MM = { left: 8.8, top: 36.1, right: 276.6, bottom: 192.8 } as const;

/** Seconds shown by each of the 12 lead panels (the 4 columns together span 10 s). */
export const PANEL_SECONDS = 2.5;

/** Where every trace row starts, right of the calibration pulse and lead label. */
export const TRACE_START_MM = 19.3;

/** Baselines of the three lead rows and the rhythm strip, top to bottom. */
export const ROW_BASELINES_MM = [59.0, 97.2, 135.7, 174.0] as const;

/** The 3x4 panel layout: one row per array, columns left to right. */
export const LEAD_ROWS: readonly (readonly LeadName[])[] = [
  ["I", "aVR", "V1", "V4"],
  ["II", "aVL", "V2", "V5"],
  ["III", "aVF", "V3", "V6"],
];

/** The lead of the rhythm strip at the bottom. */
export const RHYTHM_LEAD: LeadName = "II";

/** Left edge of the calibration pulse's foot; the pulse is 1 mV x 0.2 s. */
export const CALIBRATION_START_MM = 11.0;

/** One trace on the page: a lead shown over a time window from a start point. */
export interface Panel {
  /** The lead drawn. */
  readonly lead: LeadName;
  /** 0–2 for the lead rows, 3 for the rhythm strip. */
  readonly row: number;
  /** Start of the time window shown, from the start of the recording. */
  readonly startSeconds: number;
  /** End of the time window shown. */
  readonly endSeconds: number;
  /** Page x of the trace at `startSeconds`. */
  readonly xMm: number;
  /** Page y of 0 mV. */
  readonly baselineMm: number;
}

/**
 * The 12 lead panels (row-major) and the rhythm strip, last.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportPanels } from "./report_layout.ts";
 * const panels = reportPanels();
 * assert(panels.length === 13 && panels[1].lead === "aVR" && panels[12].lead === "II");
 * ```
 */
export function reportPanels(): Panel[] {
  const panels: Panel[] = LEAD_ROWS.flatMap((leads, row) =>
    leads.map((lead, column) => ({
      lead,
      row,
      startSeconds: column * PANEL_SECONDS,
      endSeconds: (column + 1) * PANEL_SECONDS,
      xMm: TRACE_START_MM + column * PANEL_SECONDS * MM_PER_SECOND,
      baselineMm: ROW_BASELINES_MM[row],
    }))
  );
  panels.push({
    lead: RHYTHM_LEAD,
    row: 3,
    startSeconds: 0,
    endSeconds: LEAD_ROWS[0].length * PANEL_SECONDS,
    xMm: TRACE_START_MM,
    baselineMm: ROW_BASELINES_MM[3],
  });
  return panels;
}

/**
 * Height in px of a report `widthPx` wide, keeping the real scans' aspect ratio.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportHeightPx } from "./report_layout.ts";
 * assert(reportHeightPx(640) === 455);
 * ```
 */
export function reportHeightPx(widthPx: number): number {
  return Math.round((widthPx * REAL_SCAN_SIZE_PX.heightPx) / REAL_SCAN_SIZE_PX.widthPx);
}

/**
 * Maps page millimetres to image pixels: scale to the image width, then a small rotation
 * about the page centre and a shift, as a sheet lies slightly askew on a scanner.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PageTransform } from "./report_layout.ts";
 * const page = new PageTransform(640, 0.5, 1, -0.5);
 * const [xPx, yPx] = page.toPx(100, 80);
 * const [xMm, yMm] = page.toMm(xPx, yPx);
 * assert(Math.abs(xMm - 100) < 1e-9 && Math.abs(yMm - 80) < 1e-9);
 * ```
 */
export class PageTransform {
  /** Image pixels per page millimetre. */
  readonly pxPerMm: number;
  readonly #cos: number;
  readonly #sin: number;
  readonly #centerXMm = PAGE_WIDTH_MM / 2;
  readonly #centerYMm = PAGE_HEIGHT_MM / 2;

  /**
   * A transform for an image `widthPx` wide.
   *
   * @param widthPx image width; the page spans it when unrotated.
   * @param rotationDeg counter-clockwise tilt of the page, in degrees.
   * @param shiftXMm page shift to the right, in mm.
   * @param shiftYMm page shift downwards, in mm.
   */
  constructor(
    readonly widthPx: number,
    readonly rotationDeg = 0,
    readonly shiftXMm = 0,
    readonly shiftYMm = 0,
  ) {
    this.pxPerMm = widthPx / PAGE_WIDTH_MM;
    // Image y points down, so a counter-clockwise tilt is a negative angle here.
    const angle = (-rotationDeg * Math.PI) / 180;
    this.#cos = Math.cos(angle);
    this.#sin = Math.sin(angle);
  }

  /** Image pixel coordinates of page point (`xMm`, `yMm`). */
  toPx(xMm: number, yMm: number): [xPx: number, yPx: number] {
    const dx = xMm - this.#centerXMm, dy = yMm - this.#centerYMm;
    const s = this.pxPerMm;
    return [
      (this.#centerXMm + this.shiftXMm + this.#cos * dx - this.#sin * dy) * s,
      (this.#centerYMm + this.shiftYMm + this.#sin * dx + this.#cos * dy) * s,
    ];
  }

  /** Page coordinates (mm) of image point (`xPx`, `yPx`): the inverse of {@link toPx}. */
  toMm(xPx: number, yPx: number): [xMm: number, yMm: number] {
    const dx = xPx / this.pxPerMm - this.#centerXMm - this.shiftXMm;
    const dy = yPx / this.pxPerMm - this.#centerYMm - this.shiftYMm;
    return [
      this.#centerXMm + this.#cos * dx + this.#sin * dy,
      this.#centerYMm - this.#sin * dx + this.#cos * dy,
    ];
  }
}
