/**
 * Perturbing inputs: the replacement values ("baselines") and replacing pixels by them, the
 * pieces Quantus calls `perturb_func` and `perturb_baseline`.
 *
 * A pixel index p (0 ≤ p < H·W) stands for every channel of pixel p: attributions are one value
 * per pixel, inputs have C channels.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { Draws } from "./draws.ts";

/**
 * What a removed pixel is replaced with: `black` the image's smallest value (its darkest, in the
 * normalised input space — not 0), `white` its largest, `mean` its mean, `uniform` one U(0, 1)
 * value per image (Quantus 0.6.0 draws these for the whole batch at once), or a fixed number.
 */
export type Baseline = "black" | "white" | "mean" | "uniform" | number;

/** The named baselines, for error messages and `--help`. */
export const BASELINE_NAMES: readonly string[] = ["black", "white", "mean", "uniform"];

/**
 * A baseline from a Quantus setting (`perturb_baseline`) or a flag.
 *
 * @throws {InputError} for anything but a named baseline or a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseBaseline } from "./perturb.ts";
 * assert(parseBaseline("black") === "black" && parseBaseline(0) === 0);
 * ```
 */
export function parseBaseline(value: unknown, field = "perturb_baseline"): Baseline {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && BASELINE_NAMES.includes(value)) return value as Baseline;
  throw new InputError(
    `${field} ${JSON.stringify(value)}: choose one of ${BASELINE_NAMES.join(", ")} or a number`,
  );
}

/**
 * One replacement value per image of an NHWC batch, computed from each image as it is now.
 * Draws one uniform value per image (a single call for the batch) only for `uniform`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "./draws.ts";
 * import { batchBaselines } from "./perturb.ts";
 * const x = Float32Array.of(1, 5, -2, 0);
 * const v = batchBaselines("black", x, [2, 1, 2, 1], new SeededDraws(1));
 * assert(v.join() === "1,-2");
 * ```
 */
export function batchBaselines(
  baseline: Baseline,
  xNHWC: Float32Array,
  shapeNHWC: readonly [number, number, number, number],
  draws: Draws,
): Float64Array {
  const [n, h, w, c] = shapeNHWC;
  if (typeof baseline === "number") return new Float64Array(n).fill(baseline);
  if (baseline === "uniform") return draws.uniform(0, 1, n);
  const perImage = h * w * c;
  return Float64Array.from({ length: n }, (_, i) => {
    const image = xNHWC.subarray(i * perImage, (i + 1) * perImage);
    if (baseline === "mean") {
      let sum = 0;
      for (const v of image) sum += v;
      return Math.fround(sum / perImage);
    }
    let best = image[0];
    for (const v of image) best = baseline === "black" ? Math.min(best, v) : Math.max(best, v);
    return best;
  });
}

/**
 * Sets every channel of the given pixels of one HWC image to `value`, in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { replacePixels } from "./perturb.ts";
 * const image = Float32Array.of(1, 1, 2, 2, 3, 3); // 3 pixels x 2 channels
 * replacePixels(image, 2, Int32Array.of(0, 2), 0);
 * assert(image.join() === "0,0,2,2,0,0");
 * ```
 */
export function replacePixels(
  imageHWC: Float32Array,
  channels: number,
  pixelIndices: ArrayLike<number>,
  value: number,
): void {
  for (let k = 0; k < pixelIndices.length; k++) {
    const base = pixelIndices[k] * channels;
    for (let ch = 0; ch < channels; ch++) imageHWC[base + ch] = value;
  }
}

/**
 * Refuses a Quantus `perturb_func` other than the metric's default (`null`), naming the field:
 * metrics here implement their paper's perturbation only.
 *
 * @throws {InputError} for any non-null `perturb_func`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requireDefaultPerturbFunc } from "./perturb.ts";
 * requireDefaultPerturbFunc("pixel_flipping", { perturb_func: null });
 * let threw = false;
 * try { requireDefaultPerturbFunc("pixel_flipping", { perturb_func: "gaussian_noise" }); } catch { threw = true; }
 * assert(threw);
 * ```
 */
export function requireDefaultPerturbFunc(metric: string, init: Record<string, unknown>): void {
  if (init.perturb_func !== undefined && init.perturb_func !== null) {
    throw new InputError(
      `${metric}: perturb_func ${String(init.perturb_func)} is not supported; ` +
        "leave it unset (the metric's own perturbation) and choose perturb_baseline instead",
    );
  }
}
