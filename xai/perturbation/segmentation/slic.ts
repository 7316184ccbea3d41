/**
 * SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art Superpixel
 * Methods", TPAMI 2012), with the parameters of `skimage.segmentation.slic`.
 *
 * `nSegments` centres start on a regular grid of step S = √(H·W / nSegments). Each of
 * `maxNumIter` rounds assigns every pixel within 2S x 2S of a centre to the centre of least
 * D² = d_c² + (m / S)² d_s² (d_c the colour distance in L*a*b*, d_s the distance in pixels,
 * m = `compactness`), then moves each centre to the mean of its pixels. With
 * `enforceConnectivity` (the default, as skimage), every 4-connected piece becomes its own
 * segment, and pieces smaller than `minSizeFactor` · H·W / nSegments join the segment met just
 * before them in row-major order, as skimage merges them. Differences from skimage: no
 * `max_size_factor` splitting, and the grid is rounded per axis (round(H / S) x round(W / S)).
 *
 * @module
 */
import { InputError } from "../../../core/errors.ts";
import { rgbToLabHWC } from "./lab.ts";
import { relabelContiguous, type Segments } from "./segments.ts";

/** Options of {@link slicSegments}, named as skimage names them. */
export interface SlicOptions {
  /** The approximate number of segments; default 100 (skimage's). */
  nSegments?: number;
  /** m, colour against space: higher gives squarer segments; default 10 (skimage's). */
  compactness?: number;
  /** Assignment/update rounds; default 10 (skimage's). */
  maxNumIter?: number;
  /** Segment in L*a*b* (default true, as skimage) rather than in RGB on [0, 1]. */
  convert2lab?: boolean;
  /** Make every segment 4-connected; default true (skimage's). */
  enforceConnectivity?: boolean;
  /** Pieces below this fraction of the mean segment size are merged; default 0.5 (skimage's). */
  minSizeFactor?: number;
}

function checkOptions(options: SlicOptions) {
  const nSegments = options.nSegments ?? 100;
  const compactness = options.compactness ?? 10;
  const maxNumIter = options.maxNumIter ?? 10;
  const minSizeFactor = options.minSizeFactor ?? 0.5;
  if (!Number.isInteger(nSegments) || nSegments < 1) {
    throw new InputError(`slic segmentation: nSegments must be an integer >= 1, got ${nSegments}`);
  }
  if (!Number.isFinite(compactness) || compactness <= 0) {
    throw new InputError(`slic segmentation: compactness must be > 0, got ${compactness}`);
  }
  if (!Number.isInteger(maxNumIter) || maxNumIter < 1) {
    throw new InputError(
      `slic segmentation: maxNumIter must be an integer >= 1, got ${maxNumIter}`,
    );
  }
  if (!Number.isFinite(minSizeFactor) || minSizeFactor < 0) {
    throw new InputError(`slic segmentation: minSizeFactor must be >= 0, got ${minSizeFactor}`);
  }
  return { nSegments, compactness, maxNumIter, minSizeFactor };
}

/**
 * Splits every label into its 4-connected pieces; pieces under `minSize` pixels take the label
 * of the piece met at the neighbour above or to the left of their first pixel.
 */
function enforceConnectivity(
  labelsHW: Int32Array,
  heightPx: number,
  widthPx: number,
  minSize: number,
): Int32Array {
  const pixels = heightPx * widthPx;
  const out = new Int32Array(pixels).fill(-1);
  const piece: number[] = [];
  let next = 0;
  for (let start = 0; start < pixels; start++) {
    if (out[start] >= 0) continue;
    const [r, c] = [Math.floor(start / widthPx), start % widthPx];
    // Raster order: the pixels above and to the left are labelled already.
    const adjacent = c > 0 ? out[start - 1] : r > 0 ? out[start - widthPx] : -1;
    const original = labelsHW[start];
    out[start] = next;
    piece.push(start);
    for (let i = 0; i < piece.length; i++) {
      const p = piece[i];
      const [pr, pc] = [Math.floor(p / widthPx), p % widthPx];
      const neighbours = [
        pr > 0 ? p - widthPx : -1,
        pr < heightPx - 1 ? p + widthPx : -1,
        pc > 0 ? p - 1 : -1,
        pc < widthPx - 1 ? p + 1 : -1,
      ];
      for (const q of neighbours) {
        if (q >= 0 && out[q] < 0 && labelsHW[q] === original) {
          out[q] = next;
          piece.push(q);
        }
      }
    }
    if (piece.length < minSize && adjacent >= 0) {
      for (const p of piece) out[p] = adjacent;
    } else {
      next++;
    }
    piece.length = 0;
  }
  return out;
}

/**
 * SLIC superpixels of an sRGB image.
 *
 * @param rgbHWC [H, W, 3] values in [0, 1].
 * @throws {InputError} for an option out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { slicSegments } from "./slic.ts";
 * // Top half black, bottom half white.
 * const rgb = new Float32Array(16 * 16 * 3).map((_, i) => (i < 8 * 16 * 3 ? 0 : 1));
 * const s = slicSegments(rgb, 16, 16, { nSegments: 4 });
 * assert(s.count >= 2 && s.labelsHW[0] !== s.labelsHW[255]);
 * ```
 */
export function slicSegments(
  rgbHWC: Float32Array,
  heightPx: number,
  widthPx: number,
  options: SlicOptions = {},
): Segments {
  const { nSegments, compactness, maxNumIter, minSizeFactor } = checkOptions(options);
  const colour = (options.convert2lab ?? true) ? rgbToLabHWC(rgbHWC) : Float64Array.from(rgbHWC);
  const pixels = heightPx * widthPx;
  const step = Math.sqrt(pixels / nSegments);
  const [rows, columns] = [
    Math.max(1, Math.round(heightPx / step)),
    Math.max(1, Math.round(widthPx / step)),
  ];
  const centres = rows * columns;
  // Per centre: row, column, three colour values.
  const centre = new Float64Array(centres * 5);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const k = i * columns + j;
      const [y, x] = [(i + 0.5) * heightPx / rows, (j + 0.5) * widthPx / columns];
      const p = Math.min(heightPx - 1, Math.floor(y)) * widthPx +
        Math.min(widthPx - 1, Math.floor(x));
      centre.set([y, x, colour[3 * p], colour[3 * p + 1], colour[3 * p + 2]], 5 * k);
    }
  }
  const spatialWeight = (compactness / step) ** 2;
  const labels = new Int32Array(pixels);
  const best = new Float64Array(pixels);
  const sums = new Float64Array(centres * 6);
  for (let iteration = 0; iteration < maxNumIter; iteration++) {
    best.fill(Infinity);
    for (let k = 0; k < centres; k++) {
      const [y, x, l, a, b] = centre.subarray(5 * k, 5 * k + 5);
      const [r0, r1] = [Math.max(0, Math.floor(y - step)), Math.min(heightPx, Math.ceil(y + step))];
      const [c0, c1] = [Math.max(0, Math.floor(x - step)), Math.min(widthPx, Math.ceil(x + step))];
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          const p = r * widthPx + c;
          const [dl, da, db] = [colour[3 * p] - l, colour[3 * p + 1] - a, colour[3 * p + 2] - b];
          const d = dl * dl + da * da + db * db +
            spatialWeight * ((r - y) * (r - y) + (c - x) * (c - x));
          if (d < best[p]) [best[p], labels[p]] = [d, k];
        }
      }
    }
    sums.fill(0);
    for (let p = 0; p < pixels; p++) {
      const k = labels[p];
      sums[6 * k] += Math.floor(p / widthPx);
      sums[6 * k + 1] += p % widthPx;
      for (let ch = 0; ch < 3; ch++) sums[6 * k + 2 + ch] += colour[3 * p + ch];
      sums[6 * k + 5]++;
    }
    for (let k = 0; k < centres; k++) {
      const count = sums[6 * k + 5];
      for (let v = 0; v < 5 && count > 0; v++) centre[5 * k + v] = sums[6 * k + v] / count;
    }
  }
  const final = (options.enforceConnectivity ?? true)
    ? enforceConnectivity(labels, heightPx, widthPx, minSizeFactor * pixels / centres)
    : labels;
  return relabelContiguous(final, heightPx, widthPx);
}
