/**
 * Quick shift (Vedaldi and Soatto, "Quick Shift and Kernel Methods for Mode Seeking", ECCV
 * 2008) with the semantics of `skimage.segmentation.quickshift`, the segmentation the `lime`
 * package uses by default (`kernel_size=4, max_dist=200, ratio=0.2`).
 *
 * Each pixel is a point (ratio · L*, ratio · a*, ratio · b*, row, column). Its density is the
 * sum of exp(−d² / (2 σ²)), σ = `kernelSize`, over the pixels within ⌈3σ⌉ rows and columns
 * (d the Euclidean distance of the points), plus normal noise of standard deviation 1e-5 to break
 * ties, as skimage does. Every pixel links to the nearest pixel of that window with a higher density; links
 * longer than `maxDist` are cut, and each tree of the resulting forest is one segment.
 * Segments are numbered in the order of their root pixel (row-major), as skimage numbers them.
 *
 * @module
 */
import { InputError } from "../../../core/errors.ts";
import type { Random } from "../../../core/random.ts";
import { rgbToLabHWC } from "./lab.ts";
import { relabelContiguous, type Segments } from "./segments.ts";

/** Options of {@link quickshiftSegments}, named as skimage names them. */
export interface QuickshiftOptions {
  /** σ of the Gaussian density kernel in pixels; default 4 (lime's; skimage's own is 5). */
  kernelSize?: number;
  /** Links longer than this are cut; default 200 (lime's; skimage's own is 10). */
  maxDist?: number;
  /** Weight of colour against position, 0..1; default 0.2 (lime's; skimage's own is 1). */
  ratio?: number;
  /** Segment in L*a*b* (default true, as skimage) rather than in RGB on [0, 1]. */
  convert2lab?: boolean;
}

function requirePositive(option: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InputError(
      `quickshift segmentation: ${option} must be a finite number ${allowZero ? ">=" : ">"} 0, ` +
        `got ${value}`,
    );
  }
  return value;
}

/**
 * Quick-shift superpixels of an sRGB image.
 *
 * @param rgbHWC [H, W, 3] values in [0, 1].
 * @param random draws the tie-breaking noise.
 * @throws {InputError} for a non-positive `kernelSize`, a negative `maxDist` or `ratio`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../../core/random.ts";
 * import { quickshiftSegments } from "./quickshift.ts";
 * // Left half black, right half white: black and white points lie 0.2 · 100 = 20 apart, so a
 * // maxDist of 10 cuts every link across the edge.
 * const rgb = new Float32Array(8 * 8 * 3).map((_, i) => (Math.floor(i / 3) % 8 < 4 ? 0 : 1));
 * const s = quickshiftSegments(rgb, 8, 8, new SeededRandom(1), { maxDist: 10 });
 * assert(s.count >= 2 && s.labelsHW[0] !== s.labelsHW[7]);
 * ```
 */
export function quickshiftSegments(
  rgbHWC: Float32Array,
  heightPx: number,
  widthPx: number,
  random: Random,
  options: QuickshiftOptions = {},
): Segments {
  const kernelSize = requirePositive("kernelSize", options.kernelSize ?? 4);
  const maxDist = requirePositive("maxDist", options.maxDist ?? 200, true);
  const ratio = requirePositive("ratio", options.ratio ?? 0.2, true);
  const colour = (options.convert2lab ?? true) ? rgbToLabHWC(rgbHWC) : Float64Array.from(rgbHWC);
  for (let i = 0; i < colour.length; i++) colour[i] *= ratio;
  const pixels = heightPx * widthPx;
  const reach = Math.ceil(3 * kernelSize);
  const gain = -0.5 / (kernelSize * kernelSize);
  const [c0, c1, c2] = [0, 1, 2].map((ch) =>
    Float64Array.from({ length: pixels }, (_, p) => colour[3 * p + ch])
  );

  // Each pair within the window adds the same kernel value to both densities: visit it once,
  // from the earlier pixel in row-major order.
  const density = Float64Array.from({ length: pixels }, () => 1e-5 * random.normal());
  for (let r = 0; r < heightPx; r++) {
    const rowEnd = Math.min(heightPx, r + reach + 1);
    for (let c = 0; c < widthPx; c++) {
      const p = r * widthPx + c;
      const [a0, a1, a2] = [c0[p], c1[p], c2[p]];
      const colStart = Math.max(0, c - reach);
      const colEnd = Math.min(widthPx, c + reach + 1);
      let sum = 1; // the pixel itself
      for (let r2 = r; r2 < rowEnd; r2++) {
        const dr2 = (r2 - r) * (r2 - r);
        for (let cc = r2 === r ? c + 1 : colStart; cc < colEnd; cc++) {
          const q = r2 * widthPx + cc;
          const d0 = a0 - c0[q], d1 = a1 - c1[q], d2 = a2 - c2[q];
          const k = Math.exp(gain * (d0 * d0 + d1 * d1 + d2 * d2 + dr2 + (cc - c) * (cc - c)));
          sum += k;
          density[q] += k;
        }
      }
      density[p] += sum;
    }
  }

  const parent = Int32Array.from({ length: pixels }, (_, p) => p);
  const maxDistSquared = maxDist * maxDist;
  for (let r = 0; r < heightPx; r++) {
    const [rowStart, rowEnd] = [Math.max(0, r - reach), Math.min(heightPx, r + reach + 1)];
    for (let c = 0; c < widthPx; c++) {
      const colStart = Math.max(0, c - reach);
      const colEnd = Math.min(widthPx, c + reach + 1);
      const p = r * widthPx + c;
      const [a0, a1, a2, own] = [c0[p], c1[p], c2[p], density[p]];
      let closest = Infinity;
      let link = p;
      for (let r2 = rowStart; r2 < rowEnd; r2++) {
        for (let cc = colStart; cc < colEnd; cc++) {
          const q = r2 * widthPx + cc;
          if (density[q] <= own) continue;
          const d0 = a0 - c0[q], d1 = a1 - c1[q], d2 = a2 - c2[q];
          const d = d0 * d0 + d1 * d1 + d2 * d2 + (r2 - r) * (r2 - r) + (cc - c) * (cc - c);
          if (d < closest) [closest, link] = [d, q];
        }
      }
      if (closest <= maxDistSquared) parent[p] = link;
    }
  }

  // Densities strictly increase along links, so every chain ends at a root; each chain is
  // walked once and its pixels remember their root.
  const root = new Int32Array(pixels).fill(-1);
  const chain: number[] = [];
  for (let p = 0; p < pixels; p++) {
    let q = p;
    while (root[q] < 0 && parent[q] !== q) {
      chain.push(q);
      q = parent[q];
    }
    const top = root[q] < 0 ? q : root[q];
    root[q] = top;
    for (const member of chain) root[member] = top;
    chain.length = 0;
  }
  return relabelContiguous(root, heightPx, widthPx);
}
