/**
 * Plain-TypeScript reference of the Grad-CAM pooling kernel: channel weights from the gradient
 * (Grad-CAM's mean, or GradCAM++'s alpha-weighted sum), the weighted channel sum, ReLU, and
 * bilinear upsampling with half-pixel centres. Loops in float64 over NHWC arrays, written for
 * reading rather than speed: the explainers (`xai/cam/cam.ts`) and later GPU kernels are tested
 * against it.
 *
 * @module
 */
import type { ShapeNHW, ShapeNHWC, SizeHW } from "../../core/shapes.ts";
import { type CamWeighting, GRADCAMPP_ALPHA_EPS } from "./cam_weighting.ts";

/** What one Grad-CAM pooling pass reads. */
export interface CamPoolInput {
  /** A: the layer's activation, NHWC. */
  activationNHWC: Float32Array;
  /** G: d logits[i, target_i] / d A, NHWC. */
  gradientNHWC: Float32Array;
  shapeNHWC: ShapeNHWC;
  weighting: CamWeighting;
  /** [H, W] of the input the maps are upsampled to. */
  outputSizePx: SizeHW;
}

/** What it writes. */
export interface CamPoolResult {
  /** [N, C] channel weights. */
  weightsNC: Float32Array;
  /** [N, h, w] relu(Σ_c weights[c] · A[c]) at the layer's resolution. */
  layerMapsNhw: Float32Array;
  /** [N, H, W] the maps upsampled to the input size. */
  mapsNHW: Float32Array;
}

/**
 * Channel weights per image: Grad-CAM's w_c = mean over h, w of G; GradCAM++'s
 * w_c = Σ_hw alpha · relu(G) with alpha = G² / (2 G² + S_c G³ + eps) (0 where G = 0) and S_c
 * = Σ_hw A_c.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { camChannelWeightsReference } from "./gradcam_pool_reference.ts";
 * const a = new Float32Array([1, 2, 3, 4]), g = new Float32Array([1, 1, -1, 3]);
 * const w = camChannelWeightsReference(a, g, [1, 2, 2, 1], "gradcam");
 * assert(w[0] === 1);
 * ```
 */
export function camChannelWeightsReference(
  activationNHWC: Float32Array,
  gradientNHWC: Float32Array,
  shapeNHWC: ShapeNHWC,
  weighting: CamWeighting,
): Float32Array {
  const [batch, heightPx, widthPx, channels] = shapeNHWC;
  const pixels = heightPx * widthPx;
  const weightsNC = new Float32Array(batch * channels);
  const at = (n: number, p: number, c: number) => (n * pixels + p) * channels + c;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      let weight = 0;
      if (weighting === "gradcam") {
        for (let p = 0; p < pixels; p++) weight += gradientNHWC[at(n, p, c)];
        weight /= pixels;
      } else {
        let activationSum = 0;
        for (let p = 0; p < pixels; p++) activationSum += activationNHWC[at(n, p, c)];
        for (let p = 0; p < pixels; p++) {
          const g = gradientNHWC[at(n, p, c)];
          if (g === 0) continue;
          const alpha = g * g / (2 * g * g + activationSum * g * g * g + GRADCAMPP_ALPHA_EPS);
          weight += alpha * Math.max(g, 0);
        }
      }
      weightsNC[n * channels + c] = weight;
    }
  }
  return weightsNC;
}

/**
 * relu(Σ_c weights[n, c] · A[n, :, :, c]) per image: [N, h, w].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { camMapsReference } from "./gradcam_pool_reference.ts";
 * const maps = camMapsReference(new Float32Array([1, -1, 2, 3]), new Float32Array([1, 1]), [1, 1, 2, 2]);
 * assert(maps.join() === "0,5");
 * ```
 */
export function camMapsReference(
  activationNHWC: Float32Array,
  weightsNC: Float32Array,
  shapeNHWC: ShapeNHWC,
): Float32Array {
  const [batch, heightPx, widthPx, channels] = shapeNHWC;
  const pixels = heightPx * widthPx;
  const mapsNhw = new Float32Array(batch * pixels);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < pixels; p++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        sum += weightsNC[n * channels + c] * activationNHWC[(n * pixels + p) * channels + c];
      }
      mapsNhw[n * pixels + p] = Math.max(sum, 0);
    }
  }
  return mapsNhw;
}

/** Source index and weight of the upper neighbour for each output index along one axis. */
function halfPixelTaps(
  inSize: number,
  outSize: number,
): { lower: number; upper: number; t: number }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, j) => {
    // torch's area_pixel_compute_source_index: centres at +0.5, clamped below at 0.
    const source = Math.max((j + 0.5) * scale - 0.5, 0);
    const lower = Math.floor(source);
    return { lower, upper: Math.min(lower + 1, inSize - 1), t: source - lower };
  });
}

/**
 * Bilinear resize of [N, h, w] maps to [N, H, W] with half-pixel centres: torch's
 * `interpolate(mode="bilinear", align_corners=False)`, tfjs'
 * `resizeBilinear(x, size, false, true)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resizeBilinearHalfPixelReference } from "./gradcam_pool_reference.ts";
 * const up = resizeBilinearHalfPixelReference(new Float32Array([0, 4]), [1, 1, 2], [1, 4]);
 * assert(up.join() === "0,1,3,4");
 * ```
 */
export function resizeBilinearHalfPixelReference(
  mapsNhw: Float32Array,
  shapeNhw: ShapeNHW,
  outputSizePx: SizeHW,
): Float32Array {
  const [batch, heightPx, widthPx] = shapeNhw;
  const [outHeightPx, outWidthPx] = outputSizePx;
  const rows = halfPixelTaps(heightPx, outHeightPx);
  const cols = halfPixelTaps(widthPx, outWidthPx);
  const out = new Float32Array(batch * outHeightPx * outWidthPx);
  for (let n = 0; n < batch; n++) {
    const at = (y: number, x: number) => mapsNhw[(n * heightPx + y) * widthPx + x];
    rows.forEach((r, y) => {
      cols.forEach((c, x) => {
        const top = at(r.lower, c.lower) * (1 - c.t) + at(r.lower, c.upper) * c.t;
        const bottom = at(r.upper, c.lower) * (1 - c.t) + at(r.upper, c.upper) * c.t;
        out[(n * outHeightPx + y) * outWidthPx + x] = top * (1 - r.t) + bottom * r.t;
      });
    });
  }
  return out;
}

/**
 * The whole pooling pass: channel weights, ReLU'd weighted channel sum, upsampling.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { camPoolReference } from "./gradcam_pool_reference.ts";
 * const a = new Float32Array([1, 2, 3, 4]);
 * const result = camPoolReference({
 *   activationNHWC: a,
 *   gradientNHWC: new Float32Array(4).fill(0.5),
 *   shapeNHWC: [1, 2, 2, 1],
 *   weighting: "gradcam",
 *   outputSizePx: [4, 4],
 * });
 * assert(result.layerMapsNhw.join() === "0.5,1,1.5,2" && result.mapsNHW.length === 16);
 * ```
 */
export function camPoolReference(input: CamPoolInput): CamPoolResult {
  const { activationNHWC, gradientNHWC, shapeNHWC, weighting, outputSizePx } = input;
  const weightsNC = camChannelWeightsReference(activationNHWC, gradientNHWC, shapeNHWC, weighting);
  const layerMapsNhw = camMapsReference(activationNHWC, weightsNC, shapeNHWC);
  const [batch, heightPx, widthPx] = shapeNHWC;
  const mapsNHW = resizeBilinearHalfPixelReference(
    layerMapsNhw,
    [batch, heightPx, widthPx],
    outputSizePx,
  );
  return { weightsNC, layerMapsNhw, mapsNHW };
}
