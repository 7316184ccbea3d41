/**
 * Image figures are SVG documents, drawn to PNG by resvg with the bundled DejaVu Sans like the
 * charts (`svg/rasterise.ts`): one text path, vector text and shapes, raster pictures embedded
 * as PNG data URLs. This module builds the pieces: the document, text, shapes and pictures.
 *
 * Sizes are in SVG pixels (1/96 in); a figure's PNG at scale 1 has exactly its size.
 *
 * @module
 */
import { writeFileAtomic } from "../core/atomic_write.ts";
import { CHART_FONT_FAMILY, exportSvgAndPng, type RenderOptions } from "./rasterise.ts";
import type { RgbaImage } from "../data/image.ts";
import { encodeRgbaPng } from "../data/png_file.ts";

/** An image figure: its SVG text and size. */
export interface SvgFigure {
  svg: string;
  widthPx: number;
  heightPx: number;
}

/** Text colour of every figure. */
export const INK = "#141414";
/** Secondary text (details, rules). */
export const MUTED_INK = "#555555";

/**
 * `text` safe inside an SVG element or attribute.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { escapeXml } from "./figure.ts";
 * assert(escapeXml('a<b & "c"') === "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Options of {@link svgText}. */
export interface TextOptions {
  fontPx: number;
  /** `start` (default), `middle` or `end`: where `xPx` is on the line. */
  anchor?: "start" | "middle" | "end";
  bold?: boolean;
  fill?: string;
  /** A class naming what the text is (`title`, `caption`, `panel-label`…), for tests and CSS. */
  className?: string;
}

/**
 * A line of text whose top (of its font box) is at `topPx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgText } from "./figure.ts";
 * const text = svgText("Größe <1>", 4, 0, { fontPx: 10, className: "caption" });
 * assert(text.includes(">Größe &lt;1&gt;</text>") && text.includes('class="caption"'));
 * ```
 */
export function svgText(text: string, xPx: number, topPx: number, options: TextOptions): string {
  const attributes = [
    `x="${round(xPx)}"`,
    // The baseline sits 0.8 em below the top for DejaVu Sans's ascent.
    `y="${round(topPx + options.fontPx * 0.8)}"`,
    `font-size="${options.fontPx}"`,
    options.anchor && options.anchor !== "start" ? `text-anchor="${options.anchor}"` : "",
    options.bold ? `font-weight="bold"` : "",
    `fill="${options.fill ?? INK}"`,
    options.className ? `class="${options.className}"` : "",
  ].filter((a) => a !== "");
  return `<text ${attributes.join(" ")} xml:space="preserve">${escapeXml(text)}</text>`;
}

/**
 * A rectangle, filled and/or outlined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgRect } from "./figure.ts";
 * assert(svgRect(1, 2, 3, 4, { stroke: "red" }).includes('fill="none" stroke="red"'));
 * ```
 */
export function svgRect(
  xPx: number,
  yPx: number,
  widthPx: number,
  heightPx: number,
  style: { fill?: string; stroke?: string; strokePx?: number; className?: string },
): string {
  return `<rect x="${round(xPx)}" y="${round(yPx)}" width="${round(widthPx)}" height="${
    round(heightPx)
  }" fill="${style.fill ?? "none"}"` +
    (style.stroke ? ` stroke="${style.stroke}" stroke-width="${style.strokePx ?? 1}"` : "") +
    (style.className ? ` class="${style.className}"` : "") + "/>";
}

/**
 * A raster picture shown at (`xPx`, `yPx`) in `widthPx` x `heightPx` (default: its own size;
 * a larger raster is drawn smaller, for sharp prints). `pixelated` keeps pixels square when
 * enlarged (nearest neighbour), for figures whose point is the pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgPicture } from "./figure.ts";
 * const image = { widthPx: 1, heightPx: 1, data: new Uint8Array([9, 9, 9, 255]) };
 * assert(svgPicture(image, 0, 0).includes('href="data:image/png;base64,'));
 * ```
 */
export function svgPicture(
  image: RgbaImage,
  xPx: number,
  yPx: number,
  size: { widthPx?: number; heightPx?: number; pixelated?: boolean } = {},
): string {
  return `<image x="${round(xPx)}" y="${round(yPx)}" width="${
    round(size.widthPx ?? image.widthPx)
  }" height="${round(size.heightPx ?? image.heightPx)}"` +
    (size.pixelated ? ` image-rendering="optimizeSpeed"` : "") +
    ` preserveAspectRatio="none" href="data:image/png;base64,${base64(encodeRgbaPng(image))}"/>`;
}

/**
 * The whole document: a white page of `widthPx` x `heightPx` with `body` on it, text in
 * DejaVu Sans (sizes rounded up to whole pixels).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgFigure } from "./figure.ts";
 * const figure = svgFigure(10.2, 5, ['<g class="x"/>']);
 * assert(figure.widthPx === 11 && figure.svg.startsWith("<svg") && figure.svg.includes('class="x"'));
 * ```
 */
export function svgFigure(widthPx: number, heightPx: number, body: readonly string[]): SvgFigure {
  const [w, h] = [Math.ceil(widthPx), Math.ceil(heightPx)];
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"` +
    ` font-family="${CHART_FONT_FAMILY}, Verdana, sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
  return { svg, widthPx: w, heightPx: h };
}

function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Writes a figure as `<stem>.svg` and `<stem>.png` (PNG at its own size, or with `dpi` the
 * paper export: PNG at that dpi, SVG text outlined); returns both paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgFigure, writeFigureFiles } from "./figure.ts";
 * await Deno.mkdir("outputs/tmp", { recursive: true });
 * const dir = await Deno.makeTempDir({ dir: "outputs/tmp" });
 * const files = await writeFigureFiles(`${dir}/f`, svgFigure(8, 4, []));
 * assert(files[0].endsWith("f.svg") && (await Deno.readFile(files[1]))[1] === 0x50);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFigureFiles(
  stem: string,
  figure: SvgFigure,
  options: Pick<RenderOptions, "dpi"> = {},
): Promise<[string, string]> {
  const { svg, png } = await exportSvgAndPng(figure.svg, options, 1);
  const files: [string, string] = [`${stem}.svg`, `${stem}.png`];
  await writeFileAtomic(files[0], svg);
  await writeFileAtomic(files[1], png);
  return files;
}
