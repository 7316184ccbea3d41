/**
 * The colormaps explanations are drawn with:
 *
 * - `RdBu_r` (diverging) for signed maps: blue negative, neutral grey-white `#f7f7f7` at the
 *   centre, red positive. ColorBrewer's 11-class RdBu, reversed, as matplotlib's `RdBu_r`.
 * - `Reds` (sequential) for unsigned maps: near-white `#fff5f0` at the bottom, dark red at the
 *   top. ColorBrewer's 9-class Reds, as matplotlib's `Reds`.
 * - `jet`, matplotlib's, bit-exact (the same segment data, 256-entry lookup table and value →
 *   entry rule as `matplotlib.cm.jet(x, bytes=True)`): the reference project's rendering, kept
 *   for side-by-side comparison with its figures.
 *
 * The two ColorBrewer maps are interpolated linearly between their colours (matplotlib's
 * `LinearSegmentedColormap.from_list`) without its 256-entry quantisation, so that the
 * centre of `RdBu_r` is exactly its neutral colour; a colour differs from matplotlib's byte
 * table by at most a few levels.
 *
 * @module
 */
import type { RgbaImage } from "../data/image.ts";

/** The colormaps of {@link colormapRgb}. */
export type ColormapName = "RdBu_r" | "Reds" | "jet";

/** ColorBrewer RdBu (11 classes) reversed: from negative (blue) to positive (red). */
const RDBU_R_STOPS = [
  "053061",
  "2166ac",
  "4393c3",
  "92c5de",
  "d1e5f0",
  "f7f7f7",
  "fddbc7",
  "f4a582",
  "d6604d",
  "b2182b",
  "67001f",
].map(hexRgb);

/** ColorBrewer Reds (9 classes): from low (near white) to high (dark red). */
const REDS_STOPS = [
  "fff5f0",
  "fee0d2",
  "fcbba1",
  "fc9272",
  "fb6a4a",
  "ef3b2c",
  "cb181d",
  "a50f15",
  "67000d",
].map(hexRgb);

function hexRgb(hex: string): [number, number, number] {
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** One channel's segments, as matplotlib writes them: (x, y below x, y above x). */
type Segments = readonly (readonly [number, number, number])[];

/** `matplotlib._cm._jet_data`. */
const JET_SEGMENTS: Readonly<Record<"red" | "green" | "blue", Segments>> = {
  red: [[0, 0, 0], [0.35, 0, 0], [0.66, 1, 1], [0.89, 1, 1], [1, 0.5, 0.5]],
  green: [[0, 0, 0], [0.125, 0, 0], [0.375, 1, 1], [0.64, 1, 1], [0.91, 0, 0], [1, 0, 0]],
  blue: [[0, 0.5, 0.5], [0.11, 1, 1], [0.34, 1, 1], [0.65, 0, 0], [1, 0, 0]],
};

/** Entries of matplotlib's default lookup table (`rcParams["image.lut"]`). */
export const JET_LUT_SIZE = 256;

/**
 * `matplotlib.colors._create_lookup_table(n, segments)` with gamma 1, in the same float64
 * operation order, so that the byte table below truncates exactly where NumPy's does.
 */
function lookupTable(n: number, segments: Segments): Float64Array {
  const x = segments.map(([at]) => at * (n - 1));
  const step = 1 / (n - 1);
  const lut = new Float64Array(n);
  lut[0] = segments[0][2];
  lut[n - 1] = segments[segments.length - 1][1];
  for (let i = 1; i < n - 1; i++) {
    const xind = (n - 1) * (i * step);
    // np.searchsorted (side "left"): the first breakpoint at or after xind.
    const ind = x.findIndex((v) => v >= xind);
    const distance = (xind - x[ind - 1]) / (x[ind] - x[ind - 1]);
    lut[i] = distance * (segments[ind][1] - segments[ind - 1][2]) + segments[ind - 1][2];
  }
  return lut.map((v) => Math.min(1, Math.max(0, v)));
}

/**
 * The jet lookup table as bytes, `(lut * 255).astype(np.uint8)`: entry i holds R, G, B at
 * `3 i`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { JET_RGB8 } from "./colormap.ts";
 * assert(JET_RGB8.slice(0, 3).join() === "0,0,127"); // dark blue
 * assert(JET_RGB8.slice(-3).join() === "127,0,0"); // dark red
 * ```
 */
export const JET_RGB8: Uint8Array = (() => {
  const channels = [JET_SEGMENTS.red, JET_SEGMENTS.green, JET_SEGMENTS.blue]
    .map((segments) => lookupTable(JET_LUT_SIZE, segments));
  const table = new Uint8Array(JET_LUT_SIZE * 3);
  for (let i = 0; i < JET_LUT_SIZE; i++) {
    for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.trunc(channels[c][i] * 255);
  }
  return table;
})();

/**
 * The lookup-table entry matplotlib uses for `value`: `floor(value · 256)`, with 1 in the last
 * entry and values outside [0, 1] clamped (matplotlib's default under/over colours are the end
 * colours). NaN takes entry 0, where matplotlib would draw a transparent "bad" pixel, so that a
 * heatmap PNG never holds an undefined colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jetIndex } from "./colormap.ts";
 * assert(jetIndex(0) === 0 && jetIndex(0.5) === 128 && jetIndex(1) === 255);
 * assert(jetIndex(Number.NaN) === 0 && jetIndex(-2) === 0 && jetIndex(7) === 255);
 * ```
 */
export function jetIndex(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(JET_LUT_SIZE - 1, Math.floor(value * JET_LUT_SIZE));
}

/**
 * Colours a [0, 1] map with jet: an opaque RGBA image of `widthPx x heightPx`.
 *
 * @param mapHW row-major values, `widthPx * heightPx` of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jetImage } from "./colormap.ts";
 * const image = jetImage(new Float32Array([0, 1]), 2, 1);
 * assert(image.data.join() === "0,0,127,255,127,0,0,255");
 * ```
 */
export function jetImage(mapHW: ArrayLike<number>, widthPx: number, heightPx: number): RgbaImage {
  if (mapHW.length !== widthPx * heightPx) {
    throw new RangeError(`jetImage: ${mapHW.length} values are not ${widthPx} x ${heightPx}`);
  }
  const data = new Uint8Array(mapHW.length * 4);
  for (let p = 0; p < mapHW.length; p++) {
    const entry = jetIndex(mapHW[p]) * 3;
    data.set(JET_RGB8.subarray(entry, entry + 3), p * 4);
    data[p * 4 + 3] = 255;
  }
  return { widthPx, heightPx, data };
}

/**
 * The colour of position `t` in [0, 1] of a colormap, as bytes. Positions outside [0, 1] take
 * the end colours; NaN takes the first (as {@link jetIndex} does), so a picture never holds an
 * undefined colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colormapRgb } from "./colormap.ts";
 * assert(colormapRgb("RdBu_r", 0.5).join() === "247,247,247"); // neutral at the centre
 * assert(colormapRgb("RdBu_r", 0).join() === "5,48,97" && colormapRgb("RdBu_r", 1).join() === "103,0,31");
 * assert(colormapRgb("Reds", 0).join() === "255,245,240");
 * assert(colormapRgb("jet", 0).join() === "0,0,127");
 * ```
 */
export function colormapRgb(name: ColormapName, t: number): [number, number, number] {
  if (name === "jet") {
    const entry = jetIndex(t) * 3;
    return [JET_RGB8[entry], JET_RGB8[entry + 1], JET_RGB8[entry + 2]];
  }
  const stops = name === "RdBu_r" ? RDBU_R_STOPS : REDS_STOPS;
  const at = (t > 0 ? Math.min(1, t) : 0) * (stops.length - 1);
  const low = Math.min(stops.length - 2, Math.floor(at));
  const f = at - low;
  return stops[low].map((c, i) => Math.round(c + f * (stops[low + 1][i] - c))) as [
    number,
    number,
    number,
  ];
}
