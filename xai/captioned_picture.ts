/**
 * The per-image pictures the `xai` stage writes carry their colour bar: a strip appended below
 * the picture with the colormap between the scale's limits, the limits (and 0 at the centre of a
 * signed map's bar), what the colours mean ("attribution (signed): negative ← 0 → positive",
 * "relevance (unsigned): low → high", "map, min-max normalised (jet): min → max") and how the
 * limits were chosen. The bar is the figures' own ({@link colourBarSvg}), drawn by the same
 * resvg text path, so a picture pasted into a paper and a grid say the same thing the same way.
 *
 * The strip is laid out {@link STRIP_LAYOUT_WIDTH_PX} wide and drawn at the picture's width, so
 * on a wide picture it keeps the same share of the picture (a 640 px scan gets 19 px text); a
 * narrower picture gets it at 1x, laid out at the picture's width, so its text is never smaller
 * than the figures' (a long line is cut with `…` instead).
 *
 * The PNG records the picture's own height ({@link PICTURE_HEIGHT_PNG_KEYWORD}), so that a
 * reader that draws its own bar (the viz grids, the dashboard) takes the bare picture back
 * exactly ({@link bareExplanationPicture}); a PNG without the record (drawn before the bar) is
 * all picture.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { RgbaImage } from "../data/image.ts";
import { MUTED_INK, type SvgFigure, svgFigure, svgText } from "../svg/figure.ts";
import { svgToRgba } from "../svg/rasterise.ts";
import { lineHeightPx, SMALL_FONT_PX, truncateToWidth } from "../svg/text.ts";
import { COLOUR_BAR_BLOCK_PX, colourBarSvg } from "./colour_bar.ts";
import {
  COLOUR_SCALE_PNG_KEYWORD,
  type ColourScale,
  colourScaleText,
  scaleMeaning,
} from "./colour_scale.ts";

/** Width a strip is laid out at before it is drawn at the picture's width, in SVG pixels. */
export const STRIP_LAYOUT_WIDTH_PX = 400;
/** Space around the bar block inside the strip, in layout pixels. */
const STRIP_MARGIN_PX = 8;
/** The PNG text keyword recording how many rows from the top are the picture itself. */
export const PICTURE_HEIGHT_PNG_KEYWORD = "ecg-xai picture height px";

/**
 * The colour-bar strip of `scale` for a picture `pictureWidthPx` wide, as SVG: the figures'
 * colour bar (class `colour-bar`) and, under it, how its limits were chosen (class
 * `colour-bar-rule`). Its size is the layout's; {@link colourBarStrip} draws it at the
 * picture's width.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourBarStripSvg } from "./captioned_picture.ts";
 * const strip = colourBarStripSvg({ colormap: "RdBu_r", low: -0.5, high: 0.5 }, 640);
 * assert(strip.widthPx === 400 && strip.svg.includes('data-low="-0.5" data-high="0.5"'));
 * assert(strip.svg.includes("negative ← 0 → positive") && strip.svg.includes("99th percentile of |a|"));
 * assert(colourBarStripSvg({ colormap: "jet", low: 0, high: 1 }, 120).widthPx === 120);
 * ```
 */
export function colourBarStripSvg(scale: ColourScale, pictureWidthPx: number): SvgFigure {
  const widthPx = Math.min(STRIP_LAYOUT_WIDTH_PX, pictureWidthPx);
  const innerPx = Math.max(1, widthPx - 2 * STRIP_MARGIN_PX);
  const ruleTopPx = STRIP_MARGIN_PX + COLOUR_BAR_BLOCK_PX;
  const rule = truncateToWidth(scaleMeaning(scale).rule, SMALL_FONT_PX, innerPx);
  return svgFigure(widthPx, ruleTopPx + lineHeightPx(SMALL_FONT_PX) + STRIP_MARGIN_PX / 2, [
    colourBarSvg(scale, STRIP_MARGIN_PX, STRIP_MARGIN_PX, innerPx),
    svgText(rule, STRIP_MARGIN_PX, ruleTopPx, {
      fontPx: SMALL_FONT_PX,
      fill: MUTED_INK,
      className: "colour-bar-rule",
    }),
  ]);
}

/**
 * {@link colourBarStripSvg} drawn `widthPx` wide (resvg, DejaVu Sans), opaque on white.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourBarStrip } from "./captioned_picture.ts";
 * const strip = await colourBarStrip({ colormap: "Reds", low: 0, high: 2 }, 800);
 * assert(strip.widthPx === 800 && strip.heightPx > 100 && strip.data[3] === 255);
 * ```
 */
export function colourBarStrip(scale: ColourScale, widthPx: number): Promise<RgbaImage> {
  return svgToRgba(colourBarStripSvg(scale, widthPx).svg, widthPx);
}

/**
 * `picture` with `strip` below it; both must be as wide.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stackBelow } from "./captioned_picture.ts";
 * const a = { widthPx: 1, heightPx: 1, data: new Uint8Array([1, 1, 1, 255]) };
 * const b = { widthPx: 1, heightPx: 2, data: new Uint8Array(8).fill(9) };
 * assert(stackBelow(a, b).heightPx === 3 && stackBelow(a, b).data[4] === 9);
 * ```
 */
export function stackBelow(picture: RgbaImage, strip: RgbaImage): RgbaImage {
  if (picture.widthPx !== strip.widthPx) {
    throw new RangeError(
      `stackBelow: picture ${picture.widthPx} px and strip ${strip.widthPx} px differ in width`,
    );
  }
  const data = new Uint8Array(picture.data.length + strip.data.length);
  data.set(picture.data);
  data.set(strip.data, picture.data.length);
  return { widthPx: picture.widthPx, heightPx: picture.heightPx + strip.heightPx, data };
}

/** Pictures with their colour bar, and the PNG text that records their scale and height. */
export interface CaptionedPictures {
  heatmap: RgbaImage;
  overlay: RgbaImage;
  /** PNG `tEXt` chunks: the colour scale and the picture's height in rows. */
  text: Record<string, string>;
}

/**
 * The heatmap and overlay of one map (as `attributionPictures` in `overlay.ts` drew them, both at the
 * source image's size) each with the colour bar of `scale` below, and the text their PNGs
 * record.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { captionPictures, PICTURE_HEIGHT_PNG_KEYWORD } from "./captioned_picture.ts";
 * import { attributionPictures } from "./overlay.ts";
 * const source = { widthPx: 50, heightPx: 20, data: new Uint8Array(4000).fill(255) };
 * const drawn = attributionPictures(new Float32Array(4).fill(1), 2, 2, source);
 * const { overlay, text } = await captionPictures(drawn.heatmap, drawn.overlay, drawn.scale);
 * assert(overlay.widthPx === 50 && overlay.heightPx > 20);
 * assert(text[PICTURE_HEIGHT_PNG_KEYWORD] === "20");
 * ```
 */
export async function captionPictures(
  heatmap: RgbaImage,
  overlay: RgbaImage,
  scale: ColourScale,
): Promise<CaptionedPictures> {
  const strip = await colourBarStrip(scale, overlay.widthPx);
  return {
    heatmap: stackBelow(heatmap, strip),
    overlay: stackBelow(overlay, strip),
    text: {
      [COLOUR_SCALE_PNG_KEYWORD]: colourScaleText(scale),
      [PICTURE_HEIGHT_PNG_KEYWORD]: String(overlay.heightPx),
    },
  };
}

/**
 * The picture's height in rows recorded in a PNG's `text`, or `undefined` when none is (a
 * picture drawn before the bar: all of it is picture).
 *
 * @throws {InputError} naming `source` when the record is not a whole number of rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PICTURE_HEIGHT_PNG_KEYWORD, recordedPictureHeightPx } from "./captioned_picture.ts";
 * assert(recordedPictureHeightPx({ [PICTURE_HEIGHT_PNG_KEYWORD]: "455" }, "a.png") === 455);
 * assert(recordedPictureHeightPx({}, "a.png") === undefined);
 * assert.throws(() => recordedPictureHeightPx({ [PICTURE_HEIGHT_PNG_KEYWORD]: "x" }, "a.png"), /a\.png/);
 * ```
 */
export function recordedPictureHeightPx(
  text: Record<string, string>,
  source: string,
): number | undefined {
  const recorded = text[PICTURE_HEIGHT_PNG_KEYWORD];
  if (recorded === undefined) return undefined;
  const rows = Number(recorded);
  if (!/^\d+$/.test(recorded) || rows < 1) {
    throw new InputError(
      `${source}: the "${PICTURE_HEIGHT_PNG_KEYWORD}" text "${recorded}" is not a row count; ` +
        "rerun deno task xai",
    );
  }
  return rows;
}

/**
 * The picture without its colour bar: the rows its PNG `text` records, or all of `image` when
 * it records none.
 *
 * @throws {InputError} naming `source` when the record is not a row count within the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { bareExplanationPicture, PICTURE_HEIGHT_PNG_KEYWORD } from "./captioned_picture.ts";
 * const image = { widthPx: 1, heightPx: 3, data: new Uint8Array([1, 1, 1, 255, 2, 2, 2, 255, 9, 9, 9, 255]) };
 * const bare = bareExplanationPicture(image, { [PICTURE_HEIGHT_PNG_KEYWORD]: "2" }, "a.png");
 * assert(bare.heightPx === 2 && bare.data.length === 8);
 * assert(bareExplanationPicture(image, {}, "a.png") === image);
 * ```
 */
export function bareExplanationPicture(
  image: RgbaImage,
  text: Record<string, string>,
  source: string,
): RgbaImage {
  const rows = recordedPictureHeightPx(text, source);
  if (rows === undefined) return image;
  if (rows > image.heightPx) {
    throw new InputError(
      `${source}: the "${PICTURE_HEIGHT_PNG_KEYWORD}" text says ${rows} rows, but the image has ` +
        `${image.heightPx}; rerun deno task xai`,
    );
  }
  return {
    widthPx: image.widthPx,
    heightPx: rows,
    data: image.data.slice(0, rows * image.widthPx * 4),
  };
}
