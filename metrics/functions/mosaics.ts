/**
 * The 2x2 mosaics Focus scores (Arias-Duart et al. 2022; Quantus's `mosaic_creation`): each
 * mosaic holds two images of its target class and two of other classes, at seeded positions,
 * and a method's explanation of the mosaic for the target class is rated by the share of its
 * positive relevance on the target-class quadrants.
 *
 * One mosaic per test image: image i, a second image of i's true class, and two images of
 * other classes, all drawn from the test split with a stream forked by i's id, so a mosaic does
 * not depend on the chunk, shard or worker that builds it, nor on the model or the method (every
 * method is rated on the same mosaics). The mosaic's target is i's true class.
 *
 * Size: the paper and Quantus put four images side by side at full resolution (a mosaic twice
 * the input size). The models here are built for one input size, so each tile is the image as
 * the model sees it, shrunk to its quadrant with the loader's resize (PIL's bilinear): the 2x
 * mosaic resized to the model's input, except that no tile's pixels bleed into another's
 * quadrant, which is what Focus measures. The quadrants split at H/2 and W/2 rounded down, as
 * Focus reads them (`metrics/localisation/focus.ts`).
 *
 * @module
 */
import { type Random, randomInt, shuffle } from "../../core/random.ts";
import type { GrayImage } from "../../data/image.ts";
import { writeNormalizedHWC } from "../../data/preprocess.ts";
import { resizeGray } from "../../data/resize.ts";
import type { MetricResult } from "../metric.ts";

/** Where a mosaic's four tiles come from, or why an image has no mosaic. */
export type MosaicPlan =
  | {
    /** Indices into the test split: top-left, top-right, bottom-left, bottom-right. */
    tiles: [number, number, number, number];
    /** 1 where the tile of the same place is of the target class (Quantus's `p_batch`). */
    quadrants: [number, number, number, number];
    /** The mosaic's target class, the explained one. */
    targetClass: number;
  }
  | { reason: string };

/**
 * A planner of Focus mosaics over a test split whose true classes are `labels`: `plan(i,
 * random)` gives image i's mosaic (i, another image of its class, two of other classes; the
 * two other-class tiles of distinct images, their classes drawn uniformly among the classes
 * left, as Quantus draws the same number from each other class), or the reason it has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { mosaicPlanner } from "./mosaics.ts";
 * const plan = mosaicPlanner([0, 0, 1, 2, 1]);
 * const mosaic = plan(1, new SeededRandom(7));
 * assert("tiles" in mosaic && mosaic.targetClass === 0);
 * assert(mosaic.tiles.includes(0) && mosaic.tiles.includes(1));
 * assert(mosaic.quadrants.reduce((a, b) => a + b) === 2);
 * const alone = plan(3, new SeededRandom(7)); // the only image of class 2
 * assert("reason" in alone && alone.reason.includes("only"));
 * ```
 */
export function mosaicPlanner(
  labels: ArrayLike<number>,
): (index: number, random: Random) => MosaicPlan {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const members = byClass.get(labels[i]) ?? [];
    members.push(i);
    byClass.set(labels[i], members);
  }
  return (index, random) => {
    const targetClass = labels[index];
    const same = byClass.get(targetClass)!.filter((i) => i !== index);
    if (same.length === 0) {
      return {
        reason: "this is the only test image of its class; a Focus mosaic needs two of the " +
          "target class",
      };
    }
    const partner = same[randomInt(random, same.length)];
    const others = [...byClass.entries()].filter(([c]) => c !== targetClass)
      .map(([, members]) => [...members]);
    const otherImages = others.reduce((n, members) => n + members.length, 0);
    if (otherImages < 2) {
      return {
        reason: `a Focus mosaic needs two test images of other classes; the test split has ` +
          `${otherImages}`,
      };
    }
    const drawn: number[] = [];
    for (let k = 0; k < 2; k++) {
      const left = others.filter((members) => members.length > 0);
      const members = left[randomInt(random, left.length)];
      drawn.push(members.splice(randomInt(random, members.length), 1)[0]);
    }
    const placed = shuffle(random, [[index, 1], [partner, 1], [drawn[0], 0], [drawn[1], 0]]);
    return {
      tiles: placed.map(([i]) => i) as [number, number, number, number],
      quadrants: placed.map(([, inTarget]) => inTarget) as [number, number, number, number],
      targetClass,
    };
  };
}

/**
 * One `sizePx` x `sizePx` mosaic of four grey images (top-left, top-right, bottom-left,
 * bottom-right), each resized to its quadrant: rows above H/2 rounded down are the top ones,
 * columns left of W/2 rounded down the left ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tileMosaic } from "./mosaics.ts";
 * const flat = (v: number) => ({ widthPx: 4, heightPx: 4, data: new Uint8Array(16).fill(v) });
 * const mosaic = tileMosaic([flat(10), flat(20), flat(30), flat(40)], 4);
 * assert(mosaic.data.join() === "10,10,20,20,10,10,20,20,30,30,40,40,30,30,40,40");
 * ```
 */
export function tileMosaic(tiles: readonly GrayImage[], sizePx: number): GrayImage {
  const half = Math.floor(sizePx / 2);
  const data = new Uint8Array(sizePx * sizePx);
  tiles.forEach((tile, q) => {
    const [top, left] = [q < 2 ? 0 : half, q % 2 === 0 ? 0 : half];
    const [heightPx, widthPx] = [q < 2 ? half : sizePx - half, q % 2 === 0 ? half : sizePx - half];
    const shrunk = resizeGray(tile, widthPx, heightPx).data;
    for (let row = 0; row < heightPx; row++) {
      data.set(shrunk.subarray(row * widthPx, (row + 1) * widthPx), (top + row) * sizePx + left);
    }
  });
  return { widthPx: sizePx, heightPx: sizePx, data };
}

/**
 * The mosaic of four 0/1 masks: each shrunk as its image is, a mosaic pixel 1 where any evidence
 * reaches it (the bilinear shrink non-zero), so a one-pixel trace is not averaged away.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tileMaskMosaic } from "./mosaics.ts";
 * const dot = new Uint8Array(16);
 * dot[5] = 1; // (1, 1) of a 4 x 4 mask
 * const empty = new Uint8Array(16);
 * const mosaic = tileMaskMosaic([dot, empty, empty, empty], 4);
 * assert(mosaic[0] === 1 && mosaic.reduce((a, b) => a + b) >= 1 && mosaic[15] === 0);
 * ```
 */
export function tileMaskMosaic(masksHW: readonly Uint8Array[], sizePx: number): Uint8Array {
  const asGray = (mask: Uint8Array): GrayImage => ({
    widthPx: sizePx,
    heightPx: sizePx,
    data: mask.map((v) => (v !== 0 ? 255 : 0)),
  });
  return tileMosaic(masksHW.map(asGray), sizePx).data.map((v) => (v !== 0 ? 1 : 0));
}

/**
 * The mosaics of one chunk, ready to explain and score: only the rows that have one, in row
 * order; `reasons[row]` says why a row has none.
 */
export interface MosaicBatch {
  /** [N] per row of the chunk: undefined where it has a mosaic, else why not. */
  reasons: (string | undefined)[];
  /** [M, S, S, 3] the mosaics, normalised as the model's inputs are. */
  xNHWC: Float32Array;
  shapeNHWC: [number, number, number, number];
  /** [M] each mosaic's target class. */
  targets: Int32Array;
  /** [M, 4] 1 on the target-class quadrants (Focus's `mosaicQuadrantsN4`). */
  quadrantsN4: Uint8Array;
  /** [M, S, S] the tiles' evidence masks, when the data set has masks. */
  masksNHW?: Uint8Array;
}

/** The test split a chunk's mosaics are drawn from. */
export interface MosaicSource {
  /** The test images at the model's input size. */
  images: readonly GrayImage[];
  /** Each image's id: the stream of its mosaic is forked by it. */
  ids: readonly string[];
  /** The planner over the images' true classes ({@link mosaicPlanner}). */
  plan: ReturnType<typeof mosaicPlanner>;
  /** Each image's evidence mask at the model's input size, when the data set has them. */
  masks?: readonly Uint8Array[];
}

/**
 * The Focus mosaics of the test images `indices` (one per image, or the reason why not), from
 * `random` forked by each image's id, so they are the same in every chunk, shard and method.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { chunkMosaics, mosaicPlanner } from "./mosaics.ts";
 * const labels = [0, 0, 1, 1, 2];
 * const images = labels.map((c) => ({ widthPx: 4, heightPx: 4, data: new Uint8Array(16).fill(50 * c) }));
 * const source = { images, ids: ["a", "b", "c", "d", "e"], plan: mosaicPlanner(labels) };
 * const batch = chunkMosaics(source, [4, 1], new SeededRandom(3));
 * assert(batch.reasons[0] !== undefined && batch.reasons[1] === undefined);
 * assert(batch.shapeNHWC.join() === "1,4,4,3" && batch.targets[0] === 0);
 * assert.deepStrictEqual(chunkMosaics(source, [1], new SeededRandom(3)).xNHWC, batch.xNHWC);
 * ```
 */
export function chunkMosaics(
  source: MosaicSource,
  indices: readonly number[],
  random: Random,
): MosaicBatch {
  const plans = indices.map((i) => source.plan(i, random.fork(source.ids[i])));
  const built = plans.flatMap((p) => ("tiles" in p ? [p] : []));
  const sizePx = source.images[indices[0]]?.widthPx ?? 0;
  const pixels = sizePx * sizePx;
  const xNHWC = new Float32Array(built.length * pixels * 3);
  const quadrantsN4 = new Uint8Array(built.length * 4);
  const masksNHW = source.masks && new Uint8Array(built.length * pixels);
  built.forEach(({ tiles, quadrants }, m) => {
    const mosaic = tileMosaic(tiles.map((i) => source.images[i]), sizePx);
    writeNormalizedHWC(mosaic, xNHWC, m * pixels * 3);
    quadrantsN4.set(quadrants, 4 * m);
    masksNHW?.set(tileMaskMosaic(tiles.map((i) => source.masks![i]), sizePx), m * pixels);
  });
  return {
    reasons: plans.map((p) => ("reason" in p ? p.reason : undefined)),
    xNHWC,
    shapeNHWC: [built.length, sizePx, sizePx, 3],
    targets: Int32Array.from(built, (p) => p.targetClass),
    quadrantsN4,
    ...(masksNHW ? { masksNHW } : {}),
  };
}

/**
 * A result on a chunk's mosaics spread over the chunk's rows: a row without a mosaic gets NaN
 * with the reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { spreadOverRows } from "./mosaics.ts";
 * const r = spreadOverRows({ scores: Float64Array.of(0.75), reasons: [undefined] }, [
 *   "too few images",
 *   undefined,
 * ]);
 * assert(Number.isNaN(r.scores[0]) && r.reasons[0] === "too few images" && r.scores[1] === 0.75);
 * ```
 */
export function spreadOverRows(
  onMosaics: MetricResult,
  reasons: readonly (string | undefined)[],
): MetricResult {
  const scores = new Float64Array(reasons.length);
  const rowReasons: (string | undefined)[] = [];
  let m = 0;
  reasons.forEach((reason, row) => {
    if (reason !== undefined) {
      scores[row] = NaN;
      rowReasons.push(reason);
    } else {
      scores[row] = onMosaics.scores[m];
      rowReasons.push(onMosaics.reasons[m++]);
    }
  });
  return { scores, reasons: rowReasons };
}
