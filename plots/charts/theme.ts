/**
 * What every chart shares: the font resvg is given, sizes, and the legend-bound selection that
 * makes multi-series charts interactive in the dashboard.
 *
 * @module
 */
import type { vegaLite } from "../../deps.ts";
import { CHART_FONT_FAMILY } from "../../svg/rasterise.ts";

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

/**
 * One colour per attribution method, the same in every chart and the dashboard: the registry's
 * methods in its order (`xai/registry.ts`; a test keeps this list complete), CAM methods in
 * blues and greens, gradient methods in reds and oranges, perturbation methods in purple and
 * brown (Tableau 10 and 20 colours; LRP in the dark reds of d3's category20b); the controls in
 * greys, the ground truth darkest.
 */
export const METHOD_COLOURS: Readonly<Record<string, string>> = {
  gradcam: "#4c78a8",
  gradcam_plus_plus: "#9ecae9",
  xgradcam: "#72b7b2",
  layercam: "#54a24b",
  hirescam: "#88d27a",
  scorecam: "#439894",
  eigencam: "#bab0ac",
  integrated_gradients: "#e45756",
  saliency: "#f58518",
  input_x_gradient: "#ff9da6",
  smoothgrad: "#ffbf79",
  guided_backprop: "#d67195",
  deconvolution: "#fcbfd2",
  guided_gradcam: "#83bcb6",
  deeplift: "#ff9d98",
  gradient_shap: "#f2cf5b",
  lrp_epsilon_plus_flat: "#ad494a",
  lrp_epsilon_gamma_box: "#843c39",
  lime: "#b279a2",
  occlusion: "#9d755d",
  rise: "#d8b5a5",
  random: "#969696",
  sobel: "#595959",
  constant: "#d0d0d0",
  ground_truth: "#1a1a1a",
};

/** Colours of methods the registry does not know, in order of first appearance. */
const OTHER_METHOD_COLOURS = ["#eeca3b", "#d6a5c9", "#79706e", "#b6992d", "#499894"];

/**
 * The Vega(-Lite) colour scale of `methods`: each known method its {@link METHOD_COLOURS}
 * colour, any other one the next spare colour, the domain in registry order, so a method looks
 * the same in every chart whatever else is drawn beside it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodColourScale } from "./theme.ts";
 * const scale = methodColourScale(["saliency", "mine", "gradcam"]);
 * assert.deepStrictEqual(scale.domain, ["gradcam", "saliency", "mine"]);
 * assert.deepStrictEqual(scale.range, ["#4c78a8", "#f58518", "#eeca3b"]);
 * ```
 */
export function methodColourScale(
  methods: Iterable<string>,
): { domain: string[]; range: string[] } {
  const known = Object.keys(METHOD_COLOURS);
  const unique = [...new Set(methods)];
  const domain = [
    ...known.filter((m) => unique.includes(m)),
    ...unique.filter((m) => !known.includes(m)),
  ];
  let spare = 0;
  const range = domain.map((m) =>
    METHOD_COLOURS[m] ?? OTHER_METHOD_COLOURS[spare++ % OTHER_METHOD_COLOURS.length]
  );
  return { domain, range };
}

/**
 * The colour encoding of a chart whose series are methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodColour } from "./theme.ts";
 * const colour = methodColour(["lime"]);
 * assert(colour.field === "method" && colour.scale.range[0] === "#b279a2");
 * ```
 */
export function methodColour(methods: Iterable<string>) {
  return {
    field: "method",
    type: "nominal" as const,
    title: "method",
    scale: methodColourScale(methods),
  };
}

/**
 * The d3 format of axis labels: three significant digits, trailing zeros trimmed ("0.5",
 * "0.0123", "1.2e+4"), never "0.500000".
 */
export const AXIS_NUMBER_FORMAT = ".3~g";
