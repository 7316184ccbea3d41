/**
 * What every chart shares: the font resvg is given, sizes, and the legend-bound selection that
 * makes multi-series charts interactive in the dashboard.
 *
 * @module
 */
import type { vegaLite } from "../../deps.ts";
import { CHART_FONT_FAMILY } from "../render.ts";

/** Vega-Lite's top-level spec type. */
export type VlSpec = vegaLite.TopLevelSpec;

/** The `config` block of every Vega-Lite chart: the font the PNG renderer has. */
export const CHART_CONFIG = {
  font: CHART_FONT_FAMILY,
  title: { fontSize: 15, anchor: "start", subtitleColor: "#555" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
} as const;

/**
 * A chart title with an optional subtitle line.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chartTitle } from "./theme.ts";
 * assert(chartTitle("A", "b").subtitle === "b");
 * ```
 */
export function chartTitle(
  text: string,
  subtitle?: string | string[],
): { text: string; subtitle?: string | string[] } {
  return subtitle === undefined ? { text } : { text, subtitle };
}

/**
 * A point selection on `field`, bound to the legend (click a legend entry to pick a series,
 * shift-click for more), and the opacity encoding that dims the rest.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { legendSelection } from "./theme.ts";
 * const s = legendSelection("model");
 * assert(s.params[0].bind === "legend" && s.opacity.condition.param === "pick_model");
 * ```
 */
export function legendSelection(field: string) {
  const name = `pick_${field}`;
  return {
    params: [{
      name,
      select: { type: "point" as const, fields: [field] },
      bind: "legend" as const,
    }],
    opacity: { condition: { param: name, value: 1 }, value: 0.15 },
  };
}

/**
 * A tooltip entry showing a number with `digits` decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { numberTip } from "./theme.ts";
 * assert(numberTip("mean", "Mean", 3).format === ".3f");
 * ```
 */
export function numberTip(field: string, title: string, digits = 4) {
  return { field, title, type: "quantitative" as const, format: `.${digits}f` };
}
