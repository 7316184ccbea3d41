/**
 * Integrated Gradients baselines x' (Sturmfels, Lundberg and Lee, "Visualizing the Impact of
 * Feature Attribution Baselines", Distill 2020): the all-zero input (the mean grey after
 * ImageNet normalisation), a black image, a blurred copy of the input, uniform noise over the
 * input's range, or a given array.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { type Random, SeededRandom } from "../../core/random.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../../data/preprocess.ts";

/** The named baselines. */
export const BASELINE_NAMES = ["zero", "black", "blurred", "uniform"] as const;

/**
 * A named baseline, or an NHWC array: one baseline per image (N·H·W·C values) or one for every
 * image (H·W·C values).
 */
export type Baseline = typeof BASELINE_NAMES[number] | Float32Array;

/** Parameters of the named baselines. */
export interface BaselineOptions {
  /** `blurred`: the Gaussian's standard deviation in pixels; default 5 % of the width. */
  blurSigmaPx?: number;
  /** `uniform`: seeds the noise; default 0. */
  seed?: number;
}

/** [N, H, W, C]. */
type Shape = readonly [number, number, number, number];

/** Normalised 1-D Gaussian taps for offsets −radius..radius. */
function gaussianTaps(sigmaPx: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigmaPx));
  const taps = Float64Array.from(
    { length: 2 * radius + 1 },
    (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigmaPx * sigmaPx)),
  );
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

/** Blurs along one axis (`alongRows`: vertical) with edge pixels repeated. */
function blurAxis(
  srcNHWC: Float32Array,
  shape: Shape,
  taps: Float64Array,
  alongRows: boolean,
): Float32Array {
  const [batch, heightPx, widthPx, channels] = shape;
  const radius = (taps.length - 1) / 2;
  const out = new Float32Array(srcNHWC.length);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < heightPx; y++) {
      for (let x = 0; x < widthPx; x++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let k = -radius; k <= radius; k++) {
            const yy = alongRows ? Math.min(Math.max(y + k, 0), heightPx - 1) : y;
            const xx = alongRows ? x : Math.min(Math.max(x + k, 0), widthPx - 1);
            sum += taps[k + radius] * srcNHWC[((n * heightPx + yy) * widthPx + xx) * channels + c];
          }
          out[((n * heightPx + y) * widthPx + x) * channels + c] = sum;
        }
      }
    }
  }
  return out;
}

/** Per image, x drawn uniformly from [min, max] of that image. */
function uniformNoise(xNHWC: Float32Array, shape: Shape, random: Random): Float32Array {
  const imageSize = shape[1] * shape[2] * shape[3];
  const out = new Float32Array(xNHWC.length);
  for (let n = 0; n < shape[0]; n++) {
    const image = xNHWC.subarray(n * imageSize, (n + 1) * imageSize);
    let [low, high] = [Infinity, -Infinity];
    for (const v of image) [low, high] = [Math.min(low, v), Math.max(high, v)];
    for (let j = 0; j < imageSize; j++) {
      out[n * imageSize + j] = low + (high - low) * random.uniform();
    }
  }
  return out;
}

/**
 * The baseline for every image of `xNHWC` (shape `shape`), NHWC. `black` is the input value of
 * a black pixel after the ImageNet normalisation of `data/preprocess.ts`, (0 − mean_c) / std_c.
 *
 * @throws {InputError} for an unknown name, an array of the wrong length or a blur sigma that
 * is not positive.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeBaselineNHWC } from "./baselines.ts";
 * const x = new Float32Array(2 * 4 * 4 * 3).fill(7);
 * assert(makeBaselineNHWC("zero", x, [2, 4, 4, 3]).every((v) => v === 0));
 * const blurred = makeBaselineNHWC("blurred", x, [2, 4, 4, 3], { blurSigmaPx: 1 });
 * assert(blurred.every((v) => Math.abs(v - 7) < 1e-5));
 * ```
 */
export function makeBaselineNHWC(
  baseline: Baseline,
  xNHWC: Float32Array,
  shape: Shape,
  options: BaselineOptions = {},
): Float32Array {
  const [batch, heightPx, widthPx, channels] = shape;
  if (baseline instanceof Float32Array) {
    const imageSize = heightPx * widthPx * channels;
    if (baseline.length === xNHWC.length) return baseline;
    if (baseline.length === imageSize) {
      const out = new Float32Array(xNHWC.length);
      for (let n = 0; n < batch; n++) out.set(baseline, n * imageSize);
      return out;
    }
    throw new InputError(
      `integrated_gradients: a baseline array must hold ${xNHWC.length} values (NHWC ` +
        `[${shape.join(", ")}]) or ${imageSize} (one [${
          shape.slice(1).join(", ")
        }] image for all), got ${baseline.length}`,
    );
  }
  switch (baseline) {
    case "zero":
      return new Float32Array(xNHWC.length);
    case "black":
      return Float32Array.from(
        { length: xNHWC.length },
        (_, j) => (0 - IMAGENET_MEAN[j % channels]) / IMAGENET_STD[j % channels],
      );
    case "blurred": {
      const sigmaPx = options.blurSigmaPx ?? 0.05 * widthPx;
      if (!(sigmaPx > 0)) {
        throw new InputError(`integrated_gradients: blurSigmaPx must be > 0, got ${sigmaPx}`);
      }
      const taps = gaussianTaps(sigmaPx);
      return blurAxis(blurAxis(xNHWC, shape, taps, true), shape, taps, false);
    }
    case "uniform":
      return uniformNoise(xNHWC, shape, new SeededRandom(options.seed ?? 0).fork("ig-baseline"));
    default:
      throw new InputError(
        `integrated_gradients: unknown baseline "${baseline}"; choose one of ` +
          `${BASELINE_NAMES.join(", ")} or give an NHWC array`,
      );
  }
}
