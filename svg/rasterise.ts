/**
 * The one text path of every drawn picture: resvg (wasm) rasterises SVG with DejaVu Sans, which
 * ships in a pinned npm package, so text renders alike on a bare machine. Charts
 * (`plots/render.ts`), image figures (`svg/figure.ts`) and the colour bars under the xai stage's
 * pictures (`xai/captioned_picture.ts`) all draw through it; it sits below the feature rooms so
 * that each of them may.
 *
 * @module
 */
import { initResvgWasm, NPM_FILES, Resvg } from "../deps.ts";
import type { RgbaImage } from "../data/image.ts";

/** The font family every chart names; its bytes are passed to resvg. */
export const CHART_FONT_FAMILY = "DejaVu Sans";

/** Options of {@link svgToPng} and the chart writers (`plots/render.ts`). */
export interface RenderOptions {
  /** Font files (TTF or woff2) resvg may use; default: DejaVu Sans. `[]` draws no text. */
  fontBuffers?: Uint8Array[];
  /** PNG pixels per SVG pixel (default 2, for sharp text); `dpi` overrides it. */
  scale?: number;
  /**
   * Paper export: the PNG at this many dots per inch (an SVG pixel is 1/96 inch, so 300 dpi
   * is a scale of 3.125), and the written SVG with its text outlined ({@link outlineSvgText}).
   */
  dpi?: number;
}

/** SVG (CSS) pixels per inch. */
export const SVG_PX_PER_INCH = 96;

/**
 * The PNG scale `options` ask for: `dpi / 96` when a dpi is given, else `scale`, else
 * `fallback`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pngScale } from "./rasterise.ts";
 * assert(pngScale({ dpi: 300 }, 2) === 3.125 && pngScale({}, 1) === 1);
 * ```
 */
export function pngScale(options: RenderOptions, fallback: number): number {
  return options.dpi ? options.dpi / SVG_PX_PER_INCH : options.scale ?? fallback;
}

let wasmReady: Promise<void> | undefined;
let defaultFont: Promise<Uint8Array> | undefined;

function readyResvg(): Promise<void> {
  wasmReady ??= Deno.readFile(new URL(NPM_FILES.resvgWasm)).then((bytes) => initResvgWasm(bytes));
  return wasmReady;
}

/**
 * The bytes of DejaVu Sans (woff2, Latin subset), read once.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chartFont } from "./rasterise.ts";
 * assert((await chartFont()).length > 100_000);
 * ```
 */
export function chartFont(): Promise<Uint8Array> {
  defaultFont ??= Deno.readFile(new URL(NPM_FILES.dejavuSansWoff2));
  return defaultFont;
}

/**
 * Rasterises SVG text to PNG bytes with resvg.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgToPng } from "./rasterise.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', { scale: 1 });
 * assert(png[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export async function svgToPng(svg: string, options: RenderOptions = {}): Promise<Uint8Array> {
  const resvg = await parseSvg(svg, options, { mode: "zoom", value: pngScale(options, 2) });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}

/** How resvg sizes the drawing: a zoom factor, or an exact width in pixels. */
type FitTo = { mode: "zoom"; value: number } | { mode: "width"; value: number };

async function parseSvg(
  svg: string,
  options: RenderOptions,
  fitTo: FitTo,
): Promise<InstanceType<typeof Resvg>> {
  await readyResvg();
  const fontBuffers = options.fontBuffers ?? [await chartFont()];
  return new Resvg(svg, {
    font: {
      fontBuffers,
      defaultFontFamily: CHART_FONT_FAMILY,
      sansSerifFamily: CHART_FONT_FAMILY,
      loadSystemFonts: false,
    },
    fitTo,
    background: "white",
  });
}

/**
 * Rasterises SVG text to an opaque RGBA image exactly `widthPx` wide (on white; the height
 * follows the drawing's aspect ratio), for pictures composed from pixels rather than embedded
 * in a figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgToRgba } from "./rasterise.ts";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="2" height="2" fill="red"/></svg>';
 * const image = await svgToRgba(svg, 8);
 * assert(image.widthPx === 8 && image.heightPx === 4);
 * assert(image.data.slice(0, 4).join() === "255,0,0,255" && image.data[7 * 4] === 255);
 * ```
 */
export async function svgToRgba(svg: string, widthPx: number): Promise<RgbaImage> {
  const resvg = await parseSvg(svg, {}, { mode: "width", value: widthPx });
  try {
    const image = resvg.render();
    try {
      return { widthPx: image.width, heightPx: image.height, data: new Uint8Array(image.pixels) };
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}

/**
 * The SVG with every text drawn as paths in DejaVu Sans (resvg's normalised SVG), so that it
 * looks the same in any viewer and any journal's toolchain, with no font to install. Element
 * ids survive; classes and the text as text do not, so keep the plain SVG for editing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outlineSvgText } from "./rasterise.ts";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="1" y="15">Ab</text></svg>';
 * const outlined = await outlineSvgText(svg);
 * assert(!outlined.includes("<text") && outlined.includes("<path"));
 * ```
 */
export async function outlineSvgText(svg: string): Promise<string> {
  const resvg = await parseSvg(svg, {}, { mode: "zoom", value: 1 });
  try {
    return resvg.toString();
  } finally {
    resvg.free();
  }
}

/**
 * The SVG text and PNG bytes to write for `svg`: as drawn, or with `dpi` the paper export
 * (outlined text, PNG at that dpi).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exportSvgAndPng } from "./rasterise.ts";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>';
 * const files = await exportSvgAndPng(svg, { dpi: 192 }, 1);
 * assert(files.png[1] === 0x50 && files.svg.startsWith("<svg"));
 * ```
 */
export async function exportSvgAndPng(
  svg: string,
  options: RenderOptions,
  fallbackScale: number,
): Promise<{ svg: string; png: Uint8Array }> {
  const png = await svgToPng(svg, { ...options, scale: pngScale(options, fallbackScale) });
  return { svg: options.dpi ? await outlineSvgText(svg) : svg, png };
}
