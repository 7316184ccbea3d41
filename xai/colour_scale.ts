/**
 * Which colours an attribution map is drawn with, and between which limits.
 *
 * The rule (`--colormap auto`, the default):
 *
 * - A map is **signed** when it holds a negative value (Integrated Gradients, Input x
 *   Gradient, LIME, Occlusion, Saliency and SmoothGrad without `abs`). It is drawn with the
 *   diverging `RdBu_r`, centred at zero, between the symmetric limits ±L, where L is the
 *   {@link ROBUST_PERCENTILE}th percentile of |a| over the map's pixels (NumPy's default,
 *   linear interpolation). Zero is neutral, blue is negative and red is positive, whatever
 *   the map's range; values beyond ±L take the end colours.
 * - Otherwise it is **unsigned** (the CAM family, Saliency with `abs`): the sequential `Reds`
 *   from 0 to the same percentile of a.
 * - When that percentile is 0 (a sparse map, zero almost everywhere), the limit is the
 *   largest |a| instead; a map of zeros keeps the limit 0 and is drawn all neutral.
 *
 * The percentile, not the maximum, sets the limit so that a few extreme pixels do not wash
 * the rest of the map out; 99 is Captum's `visualize_image_attr` default
 * (`outlier_perc = 2` cuts 2 %; we cut 1 %).
 *
 * `--colormap jet` draws the reference project's rendering instead: each map min-max
 * normalised to [0, 1] and coloured with jet (its limits are the map's minimum and maximum).
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { percentile } from "../statistics/percentile.ts";
import type { ColormapName } from "./colormap.ts";

/** The percentile of |a| that sets a map's colour limits. */
export const ROBUST_PERCENTILE = 99;

/** The values of the `--colormap` flag: the rule above, or the reference project's jet. */
export const COLORMAP_CHOICES = ["auto", "jet"] as const;
/** One of {@link COLORMAP_CHOICES}. */
export type ColormapChoice = typeof COLORMAP_CHOICES[number];

/** How a map was coloured: the colormap, and the map values at its two ends. */
export interface ColourScale {
  colormap: ColormapName;
  /** The value drawn with the colormap's first colour (RdBu_r: −L; Reds: 0; jet: min). */
  low: number;
  /** The value drawn with its last colour (RdBu_r: +L; Reds: the limit; jet: max). */
  high: number;
}

/**
 * The colour scale of one map under `choice` (see the module's rule). Non-finite values are
 * left out of the limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourScaleOf } from "./colour_scale.ts";
 * const signed = colourScaleOf(Float32Array.of(-2, 0, 1, 1));
 * assert(signed.colormap === "RdBu_r" && signed.low === -signed.high && signed.high > 1.9);
 * assert(colourScaleOf(Float32Array.of(0, 1, 3)).colormap === "Reds");
 * const jet = colourScaleOf(Float32Array.of(-2, 0, 1), "jet");
 * assert(jet.colormap === "jet" && jet.low === -2 && jet.high === 1);
 * ```
 */
export function colourScaleOf(
  mapHW: ArrayLike<number>,
  choice: ColormapChoice = "auto",
): ColourScale {
  const finite = Array.from(mapHW).filter(Number.isFinite);
  let [min, max] = [Infinity, -Infinity];
  for (const v of finite) [min, max] = [Math.min(min, v), Math.max(max, v)];
  if (finite.length === 0) [min, max] = [0, 0];
  if (choice === "jet") return { colormap: "jet", low: min, high: max };
  const magnitudes = Float64Array.from(finite, Math.abs).sort();
  const robust = percentile(magnitudes, ROBUST_PERCENTILE);
  const limit = robust > 0 ? robust : (magnitudes.at(-1) ?? 0);
  return min < 0
    ? { colormap: "RdBu_r", low: -limit, high: limit }
    : { colormap: "Reds", low: 0, high: limit };
}

/**
 * Where `value` falls on the scale: 0 at `low`, 1 at `high`, clamped; a scale with no width
 * puts everything at its neutral point (0.5 for a diverging map, 0 otherwise).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { scalePosition } from "./colour_scale.ts";
 * const scale = { colormap: "RdBu_r" as const, low: -2, high: 2 };
 * assert(scalePosition(scale, 0) === 0.5 && scalePosition(scale, -5) === 0 && scalePosition(scale, 1) === 0.75);
 * ```
 */
export function scalePosition(scale: ColourScale, value: number): number {
  const width = scale.high - scale.low;
  if (!(width > 0)) return scale.colormap === "RdBu_r" ? 0.5 : 0;
  return Math.min(1, Math.max(0, (value - scale.low) / width));
}

/**
 * How strongly `value` should show over the image: |value| / L for a diverging scale, the
 * position for a sequential one (0 = not at all, 1 = at or past the limit).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { scaleStrength } from "./colour_scale.ts";
 * assert(scaleStrength({ colormap: "RdBu_r", low: -2, high: 2 }, -1) === 0.5);
 * assert(scaleStrength({ colormap: "Reds", low: 0, high: 4 }, 1) === 0.25);
 * ```
 */
export function scaleStrength(scale: ColourScale, value: number): number {
  if (scale.colormap !== "RdBu_r") return scalePosition(scale, value);
  // |value| / L directly, so that −v and +v show exactly alike.
  return scale.high > 0 ? Math.min(1, Math.abs(value) / scale.high) : 0;
}

/** What the colours of a scale mean, in words, for its colour bar. */
export interface ScaleMeaning {
  /** What the values are, e.g. `attribution (signed)`. */
  quantity: string;
  /** Words under the low end, the middle (diverging only) and the high end. */
  lowWord: string;
  middleWord?: string;
  highWord: string;
  /** How the limits were chosen. */
  rule: string;
}

/**
 * The words of a scale's colour bar.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { scaleMeaning } from "./colour_scale.ts";
 * const words = scaleMeaning({ colormap: "RdBu_r", low: -1, high: 1 });
 * assert(words.lowWord === "negative" && words.middleWord === "0" && words.rule.includes("99th"));
 * ```
 */
export function scaleMeaning(scale: ColourScale): ScaleMeaning {
  switch (scale.colormap) {
    case "RdBu_r":
      return {
        quantity: "attribution (signed)",
        lowWord: "negative",
        middleWord: "0",
        highWord: "positive",
        rule: `limits ±${ROBUST_PERCENTILE}th percentile of |a| per map`,
      };
    case "Reds":
      return {
        quantity: "relevance (unsigned)",
        lowWord: "low",
        highWord: "high",
        rule: `limits 0 .. ${ROBUST_PERCENTILE}th percentile of a per map`,
      };
    case "jet":
      return {
        quantity: "map, min-max normalised (jet)",
        lowWord: "min",
        highWord: "max",
        rule: "limits: the map's minimum and maximum",
      };
  }
}

/** The PNG text keyword under which the xai stage records a picture's colour scale. */
export const COLOUR_SCALE_PNG_KEYWORD = "ecg-xai colour scale";

/**
 * A scale as the text recorded in its picture (JSON, Latin-1 safe).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colourScaleText, parseColourScaleText } from "./colour_scale.ts";
 * const scale = { colormap: "Reds" as const, low: 0, high: 0.25 };
 * assert.deepStrictEqual(parseColourScaleText(colourScaleText(scale), "x.png"), scale);
 * ```
 */
export function colourScaleText(scale: ColourScale): string {
  return JSON.stringify({ colormap: scale.colormap, low: scale.low, high: scale.high });
}

/**
 * The scale recorded by {@link colourScaleText}.
 *
 * @throws {InputError} naming `source` when the text is not such a scale.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseColourScaleText } from "./colour_scale.ts";
 * assert(parseColourScaleText('{"colormap":"jet","low":0,"high":1}', "x.png").high === 1);
 * assert.throws(() => parseColourScaleText("{}", "x.png"), /x\.png/);
 * ```
 */
export function parseColourScaleText(text: string, source: string): ColourScale {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const v = value as Partial<ColourScale> | undefined;
  const known = ["RdBu_r", "Reds", "jet"];
  if (
    !v || !known.includes(v.colormap as string) || typeof v.low !== "number" ||
    typeof v.high !== "number"
  ) {
    throw new InputError(
      `${source}: the "${COLOUR_SCALE_PNG_KEYWORD}" text is not a colour scale; rerun deno task xai`,
    );
  }
  return { colormap: v.colormap!, low: v.low, high: v.high };
}
