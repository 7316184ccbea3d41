/**
 * Anti-aliased drawing for the synthetic reports: ink is accumulated as per-pixel coverage
 * (0–1) and composited onto an RGBA page once.
 *
 * Why coverage first: a trace is thousands of short overlapping segments; painting each
 * straight onto the page would darken every joint where two segments overlap. Taking the
 * maximum coverage per pixel draws a polyline as one continuous stroke, and the same
 * geometry drawn into a second canvas gives an evidence mask that lies exactly on the ink.
 *
 * Coordinates are pixels with (0, 0) the top-left corner of the top-left pixel, so pixel
 * (i, j) is the unit square with centre (i + 0.5, j + 0.5).
 *
 * @module
 */
import type { GrayImage, RgbaImage } from "../image.ts";

/** An 8-bit RGB colour. */
export type Rgb = readonly [red: number, green: number, blue: number];

/**
 * How much of a pixel a band of width `widthPx` covers when the pixel centre is
 * `distancePx` from the band's centre line (box filter across the band).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { bandCoverage } from "./raster.ts";
 * assert(bandCoverage(0, 2) === 1 && bandCoverage(0, 0.25) === 0.25);
 * assert(bandCoverage(3, 2) === 0);
 * ```
 */
export function bandCoverage(distancePx: number, widthPx: number): number {
  const d = Math.abs(distancePx);
  const half = widthPx / 2;
  const covered = Math.min(d + 0.5, half) - Math.max(d - 0.5, -half);
  return covered <= 0 ? 0 : covered >= 1 ? 1 : covered;
}

/**
 * A single-channel coverage buffer that strokes and fills shapes with anti-aliasing;
 * overlapping shapes keep the larger coverage.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CoverageCanvas } from "./raster.ts";
 * const canvas = new CoverageCanvas(20, 10);
 * canvas.strokePolyline([2, 10, 18], [5, 2, 5], 1.5);
 * assert(canvas.coverage[5 * 20 + 2] > 0.5);
 * ```
 */
export class CoverageCanvas {
  /** Coverage per pixel, row-major, in [0, 1]. */
  readonly coverage: Float32Array;

  /**
   * An empty (all 0) canvas.
   *
   * @param widthPx canvas width in pixels.
   * @param heightPx canvas height in pixels.
   */
  constructor(readonly widthPx: number, readonly heightPx: number) {
    this.coverage = new Float32Array(widthPx * heightPx);
  }

  /** The pixels within `reachPx` of the segment's bounding box, clipped to the canvas. */
  #pixelBox(x0: number, y0: number, x1: number, y1: number, reachPx: number) {
    return {
      left: Math.max(0, Math.floor(Math.min(x0, x1) - reachPx)),
      right: Math.min(this.widthPx - 1, Math.ceil(Math.max(x0, x1) + reachPx)),
      top: Math.max(0, Math.floor(Math.min(y0, y1) - reachPx)),
      bottom: Math.min(this.heightPx - 1, Math.ceil(Math.max(y0, y1) + reachPx)),
    };
  }

  /** Strokes the segment (x0, y0)–(x1, y1) with round caps, `widthPx` wide. */
  strokeSegment(x0: number, y0: number, x1: number, y1: number, widthPx: number): void {
    const { left, right, top, bottom } = this.#pixelBox(x0, y0, x1, y1, widthPx / 2 + 1);
    const dx = x1 - x0, dy = y1 - y0;
    const lengthSquared = dx * dx + dy * dy;
    const inverseLengthSquared = lengthSquared > 0 ? 1 / lengthSquared : 0;
    const half = widthPx / 2;
    const coverage = this.coverage;
    for (let y = top; y <= bottom; y++) {
      const py = y + 0.5 - y0;
      const row = y * this.widthPx;
      for (let x = left; x <= right; x++) {
        const px = x + 0.5 - x0;
        let t = (px * dx + py * dy) * inverseLengthSquared;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - t * dx, ey = py - t * dy;
        const d = Math.sqrt(ex * ex + ey * ey);
        // bandCoverage inlined: this loop draws every trace sample.
        let c = Math.min(d + 0.5, half) - Math.max(d - 0.5, -half);
        if (c <= 0) continue;
        if (c > 1) c = 1;
        if (c > coverage[row + x]) coverage[row + x] = c;
      }
    }
  }

  /** Strokes consecutive points as one continuous line `widthPx` wide. */
  strokePolyline(xsPx: ArrayLike<number>, ysPx: ArrayLike<number>, widthPx: number): void {
    if (xsPx.length === 1) this.strokeSegment(xsPx[0], ysPx[0], xsPx[0], ysPx[0], widthPx);
    for (let i = 1; i < xsPx.length; i++) {
      this.strokeSegment(xsPx[i - 1], ysPx[i - 1], xsPx[i], ysPx[i], widthPx);
    }
  }

  /**
   * Fills the rectangle whose centre line runs from (x0, y0) to (x1, y1) (square ends at
   * those points) and which is `thicknessPx` thick; any orientation.
   */
  fillBar(x0: number, y0: number, x1: number, y1: number, thicknessPx: number): void {
    const { left, right, top, bottom } = this.#pixelBox(x0, y0, x1, y1, thicknessPx / 2 + 1);
    const lengthPx = Math.hypot(x1 - x0, y1 - y0);
    if (lengthPx === 0) return;
    const ux = (x1 - x0) / lengthPx, uy = (y1 - y0) / lengthPx;
    for (let y = top; y <= bottom; y++) {
      const py = y + 0.5 - y0;
      for (let x = left; x <= right; x++) {
        const px = x + 0.5 - x0;
        const along = px * ux + py * uy;
        const across = px * uy - py * ux;
        const c = bandCoverage(along - lengthPx / 2, lengthPx) * bandCoverage(across, thicknessPx);
        const i = y * this.widthPx + x;
        if (c > this.coverage[i]) this.coverage[i] = c;
      }
    }
  }
}

/**
 * A new RGBA image filled with one opaque colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filledImage } from "./raster.ts";
 * const page = filledImage(4, 3, [255, 255, 255]);
 * assert(page.data.length === 48 && page.data[3] === 255);
 * ```
 */
export function filledImage(widthPx: number, heightPx: number, rgb: Rgb): RgbaImage {
  const data = new Uint8Array(widthPx * heightPx * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = rgb[0];
    data[i + 1] = rgb[1];
    data[i + 2] = rgb[2];
    data[i + 3] = 255;
  }
  return { widthPx, heightPx, data };
}

/**
 * Paints `ink` over `image` in proportion to `canvas`'s coverage (alpha compositing).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { compositeInk, CoverageCanvas, filledImage } from "./raster.ts";
 * const page = filledImage(4, 1, [255, 255, 255]);
 * const canvas = new CoverageCanvas(4, 1);
 * canvas.coverage[1] = 1;
 * compositeInk(page, canvas, [0, 0, 0]);
 * assert(page.data[4] === 0 && page.data[0] === 255);
 * ```
 */
export function compositeInk(image: RgbaImage, canvas: CoverageCanvas, ink: Rgb): void {
  const { data } = image;
  const coverage = canvas.coverage;
  for (let i = 0; i < coverage.length; i++) {
    const a = coverage[i];
    if (a === 0) continue;
    const j = i * 4;
    data[j] = Math.round(data[j] + (ink[0] - data[j]) * a);
    data[j + 1] = Math.round(data[j + 1] + (ink[1] - data[j + 1]) * a);
    data[j + 2] = Math.round(data[j + 2] + (ink[2] - data[j + 2]) * a);
  }
}

/**
 * A binary mask: 255 where `canvas`'s coverage is at least `threshold`, else 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CoverageCanvas, thresholdMask } from "./raster.ts";
 * const canvas = new CoverageCanvas(2, 1);
 * canvas.coverage[0] = 0.7;
 * assert(thresholdMask(canvas, 0.5).data[0] === 255);
 * ```
 */
export function thresholdMask(canvas: CoverageCanvas, threshold: number): GrayImage {
  const data = new Uint8Array(canvas.coverage.length);
  for (let i = 0; i < data.length; i++) data[i] = canvas.coverage[i] >= threshold ? 255 : 0;
  return { widthPx: canvas.widthPx, heightPx: canvas.heightPx, data };
}
