/**
 * Drawing an explanation on its image: the map scaled to the source image's size, coloured by
 * its colour scale (`colour_scale.ts`: diverging for signed maps, sequential for unsigned
 * ones), and laid over the image with a weight that grows with the value's strength, so that
 * zero attribution leaves the image as it was. `--colormap jet` draws as the reference
 * pipeline does instead: the min-max normalised map in jet, blended 0.55 x image + 0.45 x
 * heatmap everywhere.
 *
 * @module
 */
import type { RgbaImage } from "../data/image.ts";
import { colormapRgb, jetImage } from "./colormap.ts";
import {
  type ColormapChoice,
  type ColourScale,
  colourScaleOf,
  scalePosition,
  scaleStrength,
} from "./colour_scale.ts";
import { normaliseMinMax } from "./normalise.ts";

/** The heatmap's share of an overlay pixel; the image keeps the rest (0.55). */
export const OVERLAY_HEATMAP_WEIGHT = 0.45;
/**
 * The heatmap's share of an overlay pixel at or past the scale's limit (`auto` colours); it
 * falls linearly to 0 at zero attribution, so the traces under a strong value still show.
 */
export const OVERLAY_MAX_WEIGHT = 0.7;

/**
 * Bilinear resampling of a float map with half-pixel centres and clamped edges (OpenCV's
 * `INTER_LINEAR`, torch's `align_corners=False`). Maps are smooth, so no antialiasing when
 * shrinking.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resizeMapBilinear } from "./overlay.ts";
 * const out = resizeMapBilinear(new Float32Array([0, 1]), 2, 1, 4, 1);
 * assert(out.join() === "0,0.25,0.75,1");
 * ```
 */
export function resizeMapBilinear(
  mapHW: Float32Array,
  widthPx: number,
  heightPx: number,
  outWidthPx: number,
  outHeightPx: number,
): Float32Array {
  if (mapHW.length !== widthPx * heightPx) {
    throw new RangeError(
      `resizeMapBilinear: ${mapHW.length} values are not ${widthPx}x${heightPx}`,
    );
  }
  const taps = (outSize: number, inSize: number) =>
    Array.from({ length: outSize }, (_, o) => {
      const at = Math.min(inSize - 1, Math.max(0, (o + 0.5) * (inSize / outSize) - 0.5));
      const low = Math.floor(at);
      return { low, high: Math.min(inSize - 1, low + 1), t: at - low };
    });
  const [xs, ys] = [taps(outWidthPx, widthPx), taps(outHeightPx, heightPx)];
  const out = new Float32Array(outWidthPx * outHeightPx);
  for (let oy = 0; oy < outHeightPx; oy++) {
    const { low: y0, high: y1, t: ty } = ys[oy];
    for (let ox = 0; ox < outWidthPx; ox++) {
      const { low: x0, high: x1, t: tx } = xs[ox];
      const top = mapHW[y0 * widthPx + x0] * (1 - tx) + mapHW[y0 * widthPx + x1] * tx;
      const bottom = mapHW[y1 * widthPx + x0] * (1 - tx) + mapHW[y1 * widthPx + x1] * tx;
      out[oy * outWidthPx + ox] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/**
 * `(1 − w) · image + w · heatmap` per colour channel, rounded; opaque. Both images must have
 * the same size.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { blendOverlay } from "./overlay.ts";
 * const grey = { widthPx: 1, heightPx: 1, data: new Uint8Array([100, 100, 100, 255]) };
 * const red = { widthPx: 1, heightPx: 1, data: new Uint8Array([255, 0, 0, 255]) };
 * assert(blendOverlay(grey, red).data.join() === "170,55,55,255");
 * ```
 */
export function blendOverlay(
  image: RgbaImage,
  heatmap: RgbaImage,
  heatmapWeight = OVERLAY_HEATMAP_WEIGHT,
): RgbaImage {
  if (image.widthPx !== heatmap.widthPx || image.heightPx !== heatmap.heightPx) {
    throw new RangeError(
      `blendOverlay: image ${image.widthPx}x${image.heightPx} and heatmap ` +
        `${heatmap.widthPx}x${heatmap.heightPx} differ in size`,
    );
  }
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    data[i] = i % 4 === 3
      ? 255
      : Math.round((1 - heatmapWeight) * image.data[i] + heatmapWeight * heatmap.data[i]);
  }
  return { widthPx: image.widthPx, heightPx: image.heightPx, data };
}

/**
 * The two pictures of one explanation at the source image's size: the jet heatmap of the
 * [0, 1] map and its overlay on the image.
 *
 * @param map01HW the normalised map at the model's input size, `widthPx x heightPx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { explanationPictures } from "./overlay.ts";
 * const source = { widthPx: 6, heightPx: 4, data: new Uint8Array(96).fill(255) };
 * const { heatmap, overlay } = explanationPictures(new Float32Array(4), 2, 2, source);
 * assert(heatmap.widthPx === 6 && overlay.heightPx === 4);
 * ```
 */
export function explanationPictures(
  map01HW: Float32Array,
  widthPx: number,
  heightPx: number,
  source: RgbaImage,
): { heatmap: RgbaImage; overlay: RgbaImage } {
  const scaled = resizeMapBilinear(map01HW, widthPx, heightPx, source.widthPx, source.heightPx);
  const heatmap = jetImage(scaled, source.widthPx, source.heightPx);
  return { heatmap, overlay: blendOverlay(source, heatmap) };
}

/** The pictures of one explanation and the colour scale they were drawn with. */
export interface AttributionPictures {
  /** The map's colours alone, at the source image's size. */
  heatmap: RgbaImage;
  /** The map over the source image. */
  overlay: RgbaImage;
  scale: ColourScale;
}

/**
 * The pictures of one raw map at the source image's size, coloured as `choice` says: `auto`
 * by the map's own scale ({@link colourScaleOf}), each overlay pixel the image blended with
 * the colour by {@link OVERLAY_MAX_WEIGHT} x the value's strength; `jet` exactly as
 * {@link explanationPictures} draws the min-max normalised map.
 *
 * @param rawHW the method's map at the model's input size, `widthPx x heightPx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { attributionPictures } from "./overlay.ts";
 * const source = { widthPx: 2, heightPx: 1, data: new Uint8Array([0, 0, 0, 255, 0, 0, 0, 255]) };
 * const { heatmap, overlay, scale } = attributionPictures(Float32Array.of(-1, 0), 2, 1, source);
 * assert(scale.colormap === "RdBu_r");
 * assert(heatmap.data.slice(4, 7).join() === "247,247,247"); // zero is neutral
 * assert(overlay.data.slice(4, 7).join() === "0,0,0"); // and leaves the image as it was
 * ```
 */
export function attributionPictures(
  rawHW: Float32Array,
  widthPx: number,
  heightPx: number,
  source: RgbaImage,
  choice: ColormapChoice = "auto",
): AttributionPictures {
  const scale = colourScaleOf(rawHW, choice);
  if (choice === "jet") {
    return { ...explanationPictures(normaliseMinMax(rawHW, 1), widthPx, heightPx, source), scale };
  }
  const scaled = resizeMapBilinear(rawHW, widthPx, heightPx, source.widthPx, source.heightPx);
  const heatmap = new Uint8Array(scaled.length * 4);
  const overlay = new Uint8Array(scaled.length * 4);
  for (let p = 0; p < scaled.length; p++) {
    const rgb = colormapRgb(scale.colormap, scalePosition(scale, scaled[p]));
    const weight = Number.isFinite(scaled[p])
      ? OVERLAY_MAX_WEIGHT * scaleStrength(scale, scaled[p])
      : 0;
    for (let c = 0; c < 3; c++) {
      heatmap[p * 4 + c] = rgb[c];
      overlay[p * 4 + c] = Math.round((1 - weight) * source.data[p * 4 + c] + weight * rgb[c]);
    }
    heatmap[p * 4 + 3] = overlay[p * 4 + 3] = 255;
  }
  const size = { widthPx: source.widthPx, heightPx: source.heightPx };
  return { heatmap: { ...size, data: heatmap }, overlay: { ...size, data: overlay }, scale };
}
