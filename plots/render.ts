/**
 * Rendering chart specs without a browser: Vega-Lite is compiled to Vega, Vega draws SVG
 * headless, and resvg rasterises the SVG to PNG with DejaVu Sans (`svg/rasterise.ts`, the one
 * text path every picture shares).
 *
 * @module
 */
import { join } from "node:path";
import { vega, vegaLite } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { exportSvgAndPng, type RenderOptions, svgToPng } from "../svg/rasterise.ts";

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
