/**
 * Rendering chart specs without a browser: Vega-Lite is compiled to Vega, Vega draws SVG
 * headless, and resvg (wasm) rasterises the SVG to PNG with DejaVu Sans, which ships in a
 * pinned npm package, so text renders on a bare machine.
 *
 * @module
 */
import { join } from "node:path";
import { initResvgWasm, NPM_FILES, Resvg, vega, vegaLite } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";

/** The font family every chart names; its bytes are passed to resvg. */
export const CHART_FONT_FAMILY = "DejaVu Sans";

/** A chart's spec: Vega-Lite for most, plain Vega where Vega-Lite has no mark (the radar). */
export type ChartSpec =
  | { kind: "vega-lite"; spec: vegaLite.TopLevelSpec }
  | { kind: "vega"; spec: vega.Spec };

/** One chart ready to draw. */
export interface PlannedChart {
  /** File stem, e.g. `confusion_matrix`. */
  name: string;
  /** Folder under `<out>/plots`: `per_model/<model>`, `comparison` or `dataset`. */
  folder: string;
  /** The model it belongs to, for per-model charts. */
  model?: string;
  chart: ChartSpec;
}

/** A drawn chart. */
export interface RenderedChart {
  /** The SVG text Vega drew. */
  svg: string;
  /** The PNG bytes resvg drew from the SVG. */
  png: Uint8Array;
}

/** Options of {@link renderChart}. */
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
 * import { pngScale } from "./render.ts";
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
 * import { chartFont } from "./render.ts";
 * assert((await chartFont()).length > 100_000);
 * ```
 */
export function chartFont(): Promise<Uint8Array> {
  defaultFont ??= Deno.readFile(new URL(NPM_FILES.dejavuSansWoff2));
  return defaultFont;
}

/**
 * The Vega spec of a chart: Vega-Lite compiled, Vega as is.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toVega } from "./render.ts";
 * const spec = toVega({ kind: "vega-lite", spec: { mark: "point", data: { values: [] } } });
 * assert(Array.isArray(spec.marks));
 * ```
 */
export function toVega(chart: ChartSpec): vega.Spec {
  return chart.kind === "vega" ? chart.spec : vegaLite.compile(chart.spec).spec;
}

/**
 * Draws a chart's SVG headless (no browser, no canvas).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderSvg } from "./render.ts";
 * const svg = await renderSvg({
 *   kind: "vega-lite",
 *   spec: { data: { values: [{ a: 1 }] }, mark: "bar", encoding: { y: { field: "a", type: "quantitative" } } },
 * });
 * assert(svg.startsWith("<svg") && svg.includes("mark-rect"));
 * ```
 */
export async function renderSvg(chart: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(toVega(chart)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterises SVG text to PNG bytes with resvg.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { svgToPng } from "./render.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', { scale: 1 });
 * assert(png[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export async function svgToPng(svg: string, options: RenderOptions = {}): Promise<Uint8Array> {
  const resvg = await parseSvg(svg, options, pngScale(options, 2));
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

async function parseSvg(
  svg: string,
  options: RenderOptions,
  scale: number,
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
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
}

/**
 * The SVG with every text drawn as paths in DejaVu Sans (resvg's normalised SVG), so that it
 * looks the same in any viewer and any journal's toolchain, with no font to install. Element
 * ids survive; classes and the text as text do not, so keep the plain SVG for editing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outlineSvgText } from "./render.ts";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="1" y="15">Ab</text></svg>';
 * const outlined = await outlineSvgText(svg);
 * assert(!outlined.includes("<text") && outlined.includes("<path"));
 * ```
 */
export async function outlineSvgText(svg: string): Promise<string> {
  const resvg = await parseSvg(svg, {}, 1);
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
 * import { exportSvgAndPng } from "./render.ts";
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

/**
 * Draws a chart as SVG and PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderChart } from "./render.ts";
 * const { svg, png } = await renderChart({
 *   kind: "vega-lite",
 *   spec: { title: "t", data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } },
 * });
 * assert(svg.includes("mark-symbol") && png.length > 100);
 * ```
 */
export async function renderChart(
  chart: ChartSpec,
  options: RenderOptions = {},
): Promise<RenderedChart> {
  const svg = await renderSvg(chart);
  return { svg, png: await svgToPng(svg, options) };
}

/**
 * The spec file's name: `<name>.vl.json` for Vega-Lite, `<name>.vg.json` for Vega.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { specFileName } from "./render.ts";
 * assert(specFileName("radar", { kind: "vega", spec: {} }) === "radar.vg.json");
 * ```
 */
export function specFileName(name: string, chart: ChartSpec): string {
  return `${name}.${chart.kind === "vega" ? "vg" : "vl"}.json`;
}

/**
 * Writes `<dir>/<name>.svg`, `.png` and the spec (`.vl.json`, or `.vg.json` for Vega), the
 * spec with its data inlined so it renders on its own (vega-lite CLI, the online editor).
 * With `options.dpi`, the paper export ({@link exportSvgAndPng}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeChart } from "./render.ts";
 * const dir = await Deno.makeTempDir();
 * const chart = { kind: "vega-lite" as const, spec: { data: { values: [{ a: 1 }] }, mark: "tick" as const } };
 * const files = await writeChart(dir, "one", chart);
 * assert(files.length === 3 && files[0].endsWith("one.vl.json"));
 * ```
 */
export async function writeChart(
  dir: string,
  name: string,
  chart: ChartSpec,
  options: RenderOptions = {},
): Promise<string[]> {
  const { svg, png } = await exportSvgAndPng(await renderSvg(chart), options, 2);
  const files = [join(dir, specFileName(name, chart)), join(dir, `${name}.svg`)];
  await writeFileAtomic(files[0], JSON.stringify(chart.spec, null, 2) + "\n");
  await writeFileAtomic(files[1], svg);
  files.push(join(dir, `${name}.png`));
  await writeFileAtomic(files[2], png);
  return files;
}
