/**
 * The Sobel control: the edge magnitude of the input, after Quantus's "Control Var. Sobel
 * Filter" — a map that follows what the image shows, not what the model uses.
 *
 * Per image: the channel mean g of the input values, the 3 x 3 Sobel derivatives
 * gx = [−1 0 1; −2 0 2; −1 0 1] ⊛ g and gy (its transpose), border pixels repeated (scipy's
 * `reflect` mode, which for a 3 x 3 kernel is the same), and the map √(gx² + gy²). Quantus calls
 * `scipy.ndimage.sobel` without an axis, which takes the derivative along the last axis only
 * (the width of a channel-first image, smoothed across channels too), clips it to [0, 1] and
 * averages the channels; that one-sided derivative misses horizontal edges — on an ECG page the
 * baselines and the grid's rows — so this control takes both directions' magnitude, unclipped
 * (the input is normalised, not in [0, 1]; the metrics rescale the maps anyway).
 *
 * @module
 */
import type { Explainer, ExplainOptions } from "../explainer.ts";
import { controlExplainer } from "./control.ts";

/**
 * The Sobel edge magnitude of an [H, W] image, borders repeated.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sobelMagnitude } from "./sobel.ts";
 * // a vertical step from 0 to 1 between columns 1 and 2 of a 3 x 4 image
 * const step = Float32Array.from({ length: 12 }, (_, j) => (j % 4 >= 2 ? 1 : 0));
 * const edges = sobelMagnitude(step, 3, 4);
 * assert(edges.join() === "0,4,4,0,0,4,4,0,0,4,4,0");
 * ```
 */
export function sobelMagnitude(
  grayHW: Float32Array,
  heightPx: number,
  widthPx: number,
): Float32Array {
  const at = (y: number, x: number) =>
    grayHW[
      Math.min(heightPx - 1, Math.max(0, y)) * widthPx + Math.min(widthPx - 1, Math.max(0, x))
    ];
  const out = new Float32Array(heightPx * widthPx);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      const gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) -
        (at(y - 1, x - 1) + 2 * at(y, x - 1) + at(y + 1, x - 1));
      const gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) -
        (at(y - 1, x - 1) + 2 * at(y - 1, x) + at(y - 1, x + 1));
      out[y * widthPx + x] = Math.hypot(gx, gy);
    }
  }
  return out;
}

/**
 * The Sobel edge magnitude of each image's channel mean.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { SOBEL } from "./sobel.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const flat = await SOBEL.explain(model, tf.ones([1, 32, 32, 3]) as tf.Tensor4D, Int32Array.of(0));
 * assert(flat.mapsNHW.every((v) => v === 0));
 * model.dispose();
 * ```
 */
export const SOBEL: Explainer<ExplainOptions> = controlExplainer({
  name: "sobel",
  description: "Control: Sobel edge magnitude of the input (after Quantus's Sobel Filter)",
  fillMap({ heightPx, widthPx, channels, pixelsHWC }, map) {
    const gray = new Float32Array(heightPx * widthPx);
    for (let j = 0; j < gray.length; j++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pixelsHWC[j * channels + c];
      gray[j] = sum / channels;
    }
    map.set(sobelMagnitude(gray, heightPx, widthPx));
  },
});
