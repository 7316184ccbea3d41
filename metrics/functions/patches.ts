/**
 * Square patches of an image for region-based metrics (RegionPerturbation, Selectivity, and the
 * grid fallback of IROF's superpixels), with Quantus's padding: when the patch size does not
 * divide a side, the image is padded by t = p − side mod p pixels, ⌊t/2⌋ before and ⌈t/2⌉ after
 * (attributions with zeros, the image by repeating its edge), and cut into non-overlapping
 * p x p patches numbered row by row.
 *
 * Perturbing a patch of the padded image and cropping the padding off again changes exactly the
 * patch's pixels inside the image, so patches here are lists of in-image pixel indices and no
 * padded copy is ever built. The one place padding shows is a baseline computed over the padded
 * image ({@link edgePaddedMean}).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { Draws } from "./draws.ts";
import {
  type CommonParams,
  type MetricContext,
  type PreparedBatch,
  type RankOrder,
  stableRankOrder,
} from "../metric.ts";
import { cumulativeCurves } from "../faithfulness/perturbation_curve.ts";
import { type Baseline, batchBaselines } from "./perturb.ts";

/** Padding of one side: pixels added before and after (Quantus's `get_padding_size`). */
export interface SidePadding {
  before: number;
  after: number;
}

/**
 * How much a side of `sidePx` pixels is padded for patches of `patchSize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { paddingFor } from "./patches.ts";
 * assert(paddingFor(28, 6).before === 1 && paddingFor(28, 6).after === 1);
 * assert(paddingFor(28, 11).before === 2 && paddingFor(28, 11).after === 3);
 * assert(paddingFor(28, 4).after === 0);
 * ```
 */
export function paddingFor(sidePx: number, patchSize: number): SidePadding {
  const rest = sidePx % patchSize;
  if (rest === 0) return { before: 0, after: 0 };
  const total = patchSize - rest;
  return { before: Math.floor(total / 2), after: Math.ceil(total / 2) };
}

/** The patches of an H x W image. */
export interface Patches {
  /** Per patch (row-major over the padded grid), the in-image pixel indices (r·W + c) it covers. */
  pixels: Int32Array[];
  /** Padding of the rows and of the columns. */
  padRows: SidePadding;
  padCols: SidePadding;
}

/**
 * Cuts an H x W image into `patchSize` patches of the padded image.
 *
 * @throws {InputError} when `patchSize` is not an integer from 1 to min(H, W).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { squarePatches } from "./patches.ts";
 * const p = squarePatches(3, 3, 2); // padded to 4 x 4: one row/column of padding after
 * assert(p.pixels.length === 4 && p.pixels[0].join() === "0,1,3,4");
 * assert(p.pixels[3].join() === "8");
 * ```
 */
export function squarePatches(heightPx: number, widthPx: number, patchSize: number): Patches {
  if (!Number.isInteger(patchSize) || patchSize < 1 || patchSize > Math.min(heightPx, widthPx)) {
    throw new InputError(
      `patch_size ${patchSize}: must be an integer from 1 to ${
        Math.min(heightPx, widthPx)
      } (the shorter image side)`,
    );
  }
  const padRows = paddingFor(heightPx, patchSize);
  const padCols = paddingFor(widthPx, patchSize);
  const rows = (heightPx + padRows.before + padRows.after) / patchSize;
  const cols = (widthPx + padCols.before + padCols.after) / patchSize;
  const pixels: Int32Array[] = [];
  for (let pr = 0; pr < rows; pr++) {
    for (let pc = 0; pc < cols; pc++) {
      const inside: number[] = [];
      for (let dr = 0; dr < patchSize; dr++) {
        const r = pr * patchSize + dr - padRows.before;
        if (r < 0 || r >= heightPx) continue;
        for (let dc = 0; dc < patchSize; dc++) {
          const c = pc * patchSize + dc - padCols.before;
          if (c >= 0 && c < widthPx) inside.push(r * widthPx + c);
        }
      }
      pixels.push(Int32Array.from(inside));
    }
  }
  return { pixels, padRows, padCols };
}

/**
 * Each patch's attribution sum, in float32 as Quantus sums the float32 map (padding adds 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { patchSums, squarePatches } from "./patches.ts";
 * const sums = patchSums(Float32Array.of(1, 2, 3, 4), squarePatches(2, 2, 1).pixels);
 * assert(sums.join() === "1,2,3,4");
 * ```
 */
export function patchSums(attributionsHW: Float32Array, patches: Int32Array[]): Float32Array {
  return Float32Array.from(patches, (pixels) => {
    let sum = 0;
    for (const p of pixels) sum += attributionsHW[p];
    return sum;
  });
}

/**
 * The per-pixel segment labels of a grid of `cellPx` patches (padded as above): a segmentation
 * needing no image content, IROF's fallback when no superpixel algorithm is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gridLabels } from "./patches.ts";
 * assert(gridLabels(2, 3, 2).join() === "0,0,1,0,0,1");
 * ```
 */
export function gridLabels(heightPx: number, widthPx: number, cellPx: number): Int32Array {
  const labels = new Int32Array(heightPx * widthPx);
  squarePatches(heightPx, widthPx, cellPx).pixels.forEach((pixels, k) => {
    for (const p of pixels) labels[p] = k;
  });
  return labels;
}

/**
 * The mean of an HWC image after edge padding (border rows and columns repeated), computed
 * without building the padded copy: Quantus's `"mean"` baseline of a padded image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { edgePaddedMean } from "./patches.ts";
 * // 1 x 2 image [0, 3] padded by one column after: [0, 3, 3].
 * assert(edgePaddedMean(Float32Array.of(0, 3), 1, 2, 1, { before: 0, after: 0 }, { before: 0, after: 1 }) === 2);
 * ```
 */
export function edgePaddedMean(
  imageHWC: Float32Array,
  heightPx: number,
  widthPx: number,
  channels: number,
  padRows: SidePadding,
  padCols: SidePadding,
): number {
  const weight = (index: number, size: number, pad: SidePadding) =>
    1 + (index === 0 ? pad.before : 0) + (index === size - 1 ? pad.after : 0);
  let sum = 0;
  for (let r = 0; r < heightPx; r++) {
    const wr = weight(r, heightPx, padRows);
    for (let c = 0; c < widthPx; c++) {
      const w = wr * weight(c, widthPx, padCols);
      const base = (r * widthPx + c) * channels;
      for (let ch = 0; ch < channels; ch++) sum += w * imageHWC[base + ch];
    }
  }
  const count = (heightPx + padRows.before + padRows.after) *
    (widthPx + padCols.before + padCols.after) * channels;
  return Math.fround(sum / count);
}

/**
 * The baseline of each image for a patch step, as Quantus computes it on the edge-padded image
 * when `quantusCompat` is on (only `"mean"` differs: the padded border counts several times),
 * and on the image itself otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "./draws.ts";
 * import { patchBaselines, squarePatches } from "./patches.ts";
 * const x = Float32Array.of(0, 3); // one 1 x 2 image
 * const patches = squarePatches(1, 2, 1);
 * const v = patchBaselines("mean", x, [1, 1, 2, 1], patches, new SeededDraws(1), false);
 * assert(v[0] === 1.5);
 * ```
 */
export function patchBaselines(
  baseline: Baseline,
  statesNHWC: Float32Array,
  shapeNHWC: readonly [number, number, number, number],
  patches: Patches,
  draws: Draws,
  quantusCompat: boolean,
): Float64Array {
  const [n, h, w, c] = shapeNHWC;
  const padded = patches.padRows.before + patches.padRows.after + patches.padCols.before +
      patches.padCols.after > 0;
  if (!(quantusCompat && padded && baseline === "mean")) {
    return batchBaselines(baseline, statesNHWC, shapeNHWC, draws);
  }
  const perImage = h * w * c;
  return Float64Array.from(
    { length: n },
    (_, i) =>
      edgePaddedMean(
        statesNHWC.subarray(i * perImage, (i + 1) * perImage),
        h,
        w,
        c,
        patches.padRows,
        patches.padCols,
      ),
  );
}

/** The order in which patches are removed: most relevant first, least relevant first, random. */
export type PatchOrder = "morf" | "lerf" | "random";

/**
 * One image's patches in removal order: by attribution sum, descending for `morf`, ascending
 * for `lerf` (ties as `rank` orders them), or a random permutation drawn from `draws`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "./draws.ts";
 * import { stableRankOrder } from "../metric.ts";
 * import { orderPatches, squarePatches } from "./patches.ts";
 * const patches = squarePatches(1, 3, 1).pixels;
 * const a = Float32Array.of(1, 3, 2);
 * const ordered = orderPatches(0, a, patches, "morf", stableRankOrder, new SeededDraws(1));
 * assert(ordered.map((p) => p[0]).join() === "1,2,0");
 * ```
 */
export function orderPatches(
  sample: number,
  attributionsHW: Float32Array,
  patches: Int32Array[],
  order: PatchOrder,
  rank: RankOrder,
  draws: Draws,
): Int32Array[] {
  const sequence = order === "random"
    ? draws.choiceWithoutReplacement(patches.length, patches.length)
    : rank(
      sample,
      patchSums(attributionsHW, patches),
      order === "morf" ? "descending" : "ascending",
    );
  return Array.from(sequence, (k) => patches[k]);
}

/**
 * A patch order from a Quantus setting or a flag.
 *
 * @throws {InputError} for anything but morf, lerf or random.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parsePatchOrder } from "./patches.ts";
 * assert(parsePatchOrder("lerf") === "lerf");
 * ```
 */
export function parsePatchOrder(value: unknown): PatchOrder {
  if (value === "morf" || value === "lerf" || value === "random") return value;
  throw new InputError(`order ${JSON.stringify(value)}: choose morf, lerf or random`);
}

/**
 * What RegionPerturbation and Selectivity share: order each image's square patches by its
 * prepared attributions, remove them one after another (cumulatively) with the baseline, and
 * record the target output after each removal. `maxSteps` keeps only the first patches.
 *
 * @example
 * ```ts ignore
 * const curves = await patchRemovalCurves(context, prepared, params, "morf");
 * ```
 */
export async function patchRemovalCurves(
  context: MetricContext,
  prepared: PreparedBatch,
  params: CommonParams & { patchSize: number; perturbBaseline: Baseline },
  order: PatchOrder,
  maxSteps = Infinity,
): Promise<Float32Array[]> {
  const { batch } = prepared;
  const [n, h, w] = batch.shapeNHWC;
  const patches = squarePatches(h, w, params.patchSize);
  const rank = context.rankOrder ?? stableRankOrder;
  const steps = Array.from(
    { length: n },
    (_, i) =>
      orderPatches(i, prepared.map(i), patches.pixels, order, rank, context.draws)
        .slice(0, maxSteps),
  );
  return await cumulativeCurves(context.model, batch, {
    steps,
    baselines: (states) =>
      patchBaselines(
        params.perturbBaseline,
        states,
        batch.shapeNHWC,
        patches,
        context.draws,
        params.quantusCompat,
      ),
    softmax: params.softmax,
  });
}
