/**
 * The colour bar under an explanation picture: the colormap between the scale's limits, the
 * limits written at its ends (and 0 at the centre of a diverging bar), and a line saying what
 * the colours mean ("attribution: negative ← 0 → positive", "relevance: low → high").
 *
 * @module
 */
import { escapeXml, MUTED_INK, svgRect, svgText } from "../svg/figure.ts";
import { lineHeightPx, SMALL_FONT_PX, textWidthPx, truncateToWidth } from "../svg/text.ts";
import { colormapRgb } from "./colormap.ts";
import { type ColourScale, ROBUST_PERCENTILE, scaleMeaning } from "./colour_scale.ts";
import { OVERLAY_HEATMAP_WEIGHT, OVERLAY_MAX_WEIGHT } from "./overlay.ts";

/** Height of the bar itself, in pixels. */
const BAR_PX = 10;
/** Gradient stops per bar: enough that a linear blend between them matches the colormap. */
const GRADIENT_STOPS = 33;

/** Height of a whole colour-bar block (bar, numbers, meaning), in pixels. */
export const COLOUR_BAR_BLOCK_PX = BAR_PX + 4 + 2 * lineHeightPx(SMALL_FONT_PX);

/**
 * A limit as a bar prints it: three significant digits, exponent form outside
 * [0.001, 10000), a real minus sign, and `+` on the positive end of a diverging bar.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatLimit } from "./colour_bar.ts";
 * assert(formatLimit(0.077737) === "0.0777" && formatLimit(-2.5) === "−2.5");
 * assert(formatLimit(0.000012345, true) === "+1.23e-5" && formatLimit(0) === "0");
 * ```
 */
export function formatLimit(value: number, signed = false): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 1e-3 && magnitude < 1e4
    ? String(Number(magnitude.toPrecision(3)))
    : magnitude.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  return value < 0 ? `−${digits}` : signed ? `+${digits}` : digits;
}

/**
 * The words of the bar's meaning line.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { meaningLine } from "./colour_bar.ts";
 * assert(meaningLine({ colormap: "Reds", low: 0, high: 1 }) === "relevance (unsigned): low → high");
 * ```
 */
export function meaningLine(scale: ColourScale): string {
  const words = scaleMeaning(scale);
  const middle = words.middleWord ? ` ← ${words.middleWord} → ` : " → ";
  return `${words.quantity}: ${words.lowWord}${middle}${words.highWord}`;
}

/**
 * The colour bar of `scale` with its top-left at (`xPx`, `yPx`), `widthPx` wide and
 * {@link COLOUR_BAR_BLOCK_PX} high, as an SVG group of class `colour-bar`. Without a scale
 * (a picture drawn before scales were recorded) the group says so instead of guessing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourBarSvg } from "./colour_bar.ts";
 * const bar = colourBarSvg({ colormap: "RdBu_r", low: -0.5, high: 0.5 }, 0, 0, 200);
 * assert(bar.startsWith('<g class="colour-bar"') && bar.includes(">−0.5<") && bar.includes(">+0.5<"));
 * assert(bar.includes("negative ← 0 → positive"));
 * assert(colourBarSvg(undefined, 0, 0, 300).includes("rerun deno task xai"));
 * ```
 */
export function colourBarSvg(
  scale: ColourScale | undefined,
  xPx: number,
  yPx: number,
  widthPx: number,
): string {
  const small = { fontPx: SMALL_FONT_PX, fill: MUTED_INK };
  if (!scale) {
    const note = truncateToWidth(
      "no colour scale recorded: rerun deno task xai",
      SMALL_FONT_PX,
      widthPx,
    );
    return `<g class="colour-bar colour-bar-unknown">${
      svgText(note, xPx, yPx, { ...small, className: "colour-bar-note" })
    }</g>`;
  }
  const id = `colour-bar-${scale.colormap}-${Math.round(xPx)}-${Math.round(yPx)}`;
  const stops = Array.from({ length: GRADIENT_STOPS }, (_, i) => {
    const t = i / (GRADIENT_STOPS - 1);
    const [r, g, b] = colormapRgb(scale.colormap, t);
    return `<stop offset="${t.toFixed(4)}" stop-color="rgb(${r},${g},${b})"/>`;
  });
  const diverging = scale.colormap === "RdBu_r";
  const numbersTopPx = yPx + BAR_PX + 2;
  const numbers = [
    svgText(formatLimit(scale.low, diverging), xPx, numbersTopPx, small),
    diverging ? svgText("0", xPx + widthPx / 2, numbersTopPx, { ...small, anchor: "middle" }) : "",
    svgText(formatLimit(scale.high, diverging), xPx + widthPx, numbersTopPx, {
      ...small,
      anchor: "end",
    }),
  ];
  // The whole line, or without the quantity where the bar is too narrow for it.
  const full = meaningLine(scale);
  const short = full.slice(full.indexOf(": ") + 2);
  const meaning = textWidthPx(full, SMALL_FONT_PX) <= widthPx
    ? full
    : truncateToWidth(short, SMALL_FONT_PX, widthPx);
  return [
    `<g class="colour-bar" data-colormap="${scale.colormap}" data-low="${scale.low}" ` +
    `data-high="${scale.high}">`,
    `<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">${stops.join("")}` +
    `</linearGradient></defs>`,
    `<rect x="${xPx}" y="${yPx}" width="${widthPx}" height="${BAR_PX}" fill="url(#${
      escapeXml(id)
    })"/>`,
    svgRect(xPx, yPx, widthPx, BAR_PX, { stroke: "#888888", strokePx: 0.5 }),
    ...numbers,
    svgText(meaning, xPx, numbersTopPx + lineHeightPx(SMALL_FONT_PX), {
      ...small,
      className: "colour-bar-meaning",
    }),
    "</g>",
  ].filter((part) => part !== "").join("");
}

/**
 * One sentence per colormap among `scales` saying how its colours were scaled and blended,
 * for a figure's footer; one more when some scale is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourRuleNotes } from "./colour_bar.ts";
 * const notes = colourRuleNotes([{ colormap: "RdBu_r", low: -1, high: 1 }, null]);
 * assert(notes.length === 2 && notes[0].startsWith("Signed maps"));
 * ```
 */
export function colourRuleNotes(scales: readonly (ColourScale | null)[]): string[] {
  const colormaps = new Set(scales.map((s) => s?.colormap ?? null));
  const notes: string[] = [];
  const blend = `the colour covers the image in proportion to |a| (not at all at 0, ${
    Math.round(OVERLAY_MAX_WEIGHT * 100)
  } % at the limit)`;
  if (colormaps.has("RdBu_r")) {
    notes.push(
      `Signed maps (diverging RdBu_r): blue negative, white 0, red positive; limits ±${ROBUST_PERCENTILE}th percentile of |a| per map; ${blend}.`,
    );
  }
  if (colormaps.has("Reds")) {
    notes.push(
      `Unsigned maps (sequential Reds): 0 to the ${ROBUST_PERCENTILE}th percentile of a per map; ${blend}.`,
    );
  }
  if (colormaps.has("jet")) {
    notes.push(
      `jet (the reference project's rendering, --colormap jet): each map min-max normalised, overlay ${
        Math.round(OVERLAY_HEATMAP_WEIGHT * 100)
      } % heatmap everywhere.`,
    );
  }
  if (colormaps.has(null)) {
    notes.push("Some overlays carry no recorded colour scale: rerun deno task xai to record it.");
  }
  return notes;
}

/** A colour bar as HTML draws it: a CSS gradient, the end (and centre) labels, the meaning. */
export interface ColourBarParts {
  /** `linear-gradient(to right, …)` of the colormap. */
  gradient: string;
  low: string;
  /** `0` on a diverging bar. */
  middle?: string;
  high: string;
  meaning: string;
}

/**
 * The parts of `scale`'s colour bar for a page that draws it itself (the dashboard).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourBarParts } from "./colour_bar.ts";
 * const parts = colourBarParts({ colormap: "RdBu_r", low: -0.2, high: 0.2 });
 * assert(parts.gradient.startsWith("linear-gradient(to right, rgb(5,48,97) 0%"));
 * assert(parts.low === "−0.2" && parts.middle === "0" && parts.high === "+0.2");
 * ```
 */
export function colourBarParts(scale: ColourScale): ColourBarParts {
  const diverging = scale.colormap === "RdBu_r";
  const stops = Array.from({ length: GRADIENT_STOPS }, (_, i) => {
    const t = i / (GRADIENT_STOPS - 1);
    const [r, g, b] = colormapRgb(scale.colormap, t);
    return `rgb(${r},${g},${b}) ${Number((t * 100).toFixed(2))}%`;
  });
  return {
    gradient: `linear-gradient(to right, ${stops.join(", ")})`,
    low: formatLimit(scale.low, diverging),
    ...(diverging ? { middle: "0" } : {}),
    high: formatLimit(scale.high, diverging),
    meaning: meaningLine(scale),
  };
}
