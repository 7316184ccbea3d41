/**
 * Choosing a superpixel segmentation by name and parameters, as lime's
 * `SegmentationAlgorithm(name, **params)` does.
 *
 * @module
 */
import { InputError } from "../../../core/errors.ts";
import type { Random } from "../../../core/random.ts";
import { type GridOptions, gridSegments } from "./grid.ts";
import { type QuickshiftOptions, quickshiftSegments } from "./quickshift.ts";
import type { Segments } from "./segments.ts";
import { type SlicOptions, slicSegments } from "./slic.ts";

/** A segmentation and its parameters. */
export type SegmentationAlgorithm =
  | ({ algorithm: "quickshift" } & QuickshiftOptions)
  | ({ algorithm: "slic" } & SlicOptions)
  | ({ algorithm: "grid" } & GridOptions);

/** The segmentation names. */
export const SEGMENTATION_ALGORITHMS: readonly SegmentationAlgorithm["algorithm"][] = [
  "quickshift",
  "slic",
  "grid",
];

/**
 * Segments an sRGB image with `spec` (a name alone takes that algorithm's defaults).
 *
 * @param rgbHWC [H, W, 3] values in [0, 1] (ignored by `grid`).
 * @param random quickshift's tie-breaking noise.
 * @throws {InputError} for an unknown algorithm (listing the valid ones) or a bad parameter.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../../core/random.ts";
 * import { segmentImage } from "./algorithm.ts";
 * const rgb = new Float32Array(4 * 4 * 3);
 * const s = segmentImage(rgb, 4, 4, { algorithm: "grid", cellSizePx: 2 }, new SeededRandom(1));
 * assert(s.count === 4);
 * ```
 */
export function segmentImage(
  rgbHWC: Float32Array,
  heightPx: number,
  widthPx: number,
  spec: SegmentationAlgorithm | SegmentationAlgorithm["algorithm"],
  random: Random,
): Segments {
  const options = typeof spec === "string" ? { algorithm: spec } as SegmentationAlgorithm : spec;
  switch (options.algorithm) {
    case "quickshift":
      return quickshiftSegments(rgbHWC, heightPx, widthPx, random, options);
    case "slic":
      return slicSegments(rgbHWC, heightPx, widthPx, options);
    case "grid":
      return gridSegments(heightPx, widthPx, options);
    default:
      throw new InputError(
        `unknown segmentation algorithm "${(options as { algorithm: unknown }).algorithm}"; ` +
          `choose one of: ${SEGMENTATION_ALGORITHMS.join(", ")}`,
      );
  }
}
