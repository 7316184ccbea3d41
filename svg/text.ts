/**
 * Text on image figures: sizes, and how wide a line will be, so a figure can be laid out
 * before resvg draws its text in DejaVu Sans (`svg/rasterise.ts`, the charts' font). Text stays
 * text (full Unicode; a character DejaVu Sans lacks draws as its empty box, never as `?`).
 *
 * Widths come from DejaVu Sans's advance widths for printable ASCII, measured with resvg
 * (font units / 2048, rounded up to 1/100 em); any other character counts as 0.8 em, wider
 * than most Latin, Greek and Cyrillic letters, so a laid-out line does not overflow.
 *
 * @module
 */

/** Font size of captions, headers and legends, in pixels. */
export const LABEL_FONT_PX = 14;
/** Font size of titles, in pixels. */
export const TITLE_FONT_PX = 20;
/** Font size of colour-bar numbers and words, in pixels. */
export const SMALL_FONT_PX = 12;

/** Advance widths of " " .. "~" in hundredths of an em. */
const ASCII_ADVANCE_EM100 = [
  32,
  40,
  46,
  84,
  64,
  95,
  78,
  27,
  39,
  39,
  50,
  84,
  32,
  36,
  32,
  34, // space .. /
  64,
  64,
  64,
  64,
  64,
  64,
  64,
  64,
  64,
  64,
  34,
  34,
  84,
  84,
  84,
  53, // 0 .. ?
  100,
  71,
  69,
  70,
  77,
  63,
  58,
  77,
  75,
  29,
  29,
  66,
  56,
  86,
  75,
  79, // @ .. O
  60,
  79,
  69,
  63,
  60,
  73,
  68,
  99,
  69,
  61,
  69,
  39,
  34,
  39,
  84,
  50, // P .. _
  50,
  61,
  63,
  55,
  63,
  62,
  34,
  63,
  63,
  28,
  28,
  58,
  28,
  97,
  63,
  61, // ` .. o
  63,
  63,
  40,
  52,
  39,
  63,
  59,
  82,
  59,
  59,
  52,
  64,
  34,
  64,
  84, // p .. ~
];
const OTHER_ADVANCE_EM100 = 80;

/**
 * Line height for a font size: the size and a fifth of it for descenders and spacing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lineHeightPx } from "./text.ts";
 * assert(lineHeightPx(20) === 26);
 * ```
 */
export function lineHeightPx(fontPx: number): number {
  return Math.ceil(fontPx * 1.3);
}

/**
 * The width of `text` in DejaVu Sans at `fontPx`, in pixels (see the module note).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { textWidthPx } from "./text.ts";
 * assert(textWidthPx("ii", 100) === 56 && textWidthPx("Ω", 10) === 8);
 * ```
 */
export function textWidthPx(text: string, fontPx: number): number {
  // Summed in whole hundredths of an em, so that no rounding error pushes ceil up a pixel.
  let em100 = 0;
  for (const c of text) {
    const code = c.codePointAt(0)!;
    em100 += code >= 32 && code <= 126 ? ASCII_ADVANCE_EM100[code - 32] : OTHER_ADVANCE_EM100;
  }
  return Math.ceil((em100 * fontPx) / 100);
}

/**
 * The longest prefix of `text` (ending in `…` when cut) that fits in `maxWidthPx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { textWidthPx, truncateToWidth } from "./text.ts";
 * assert(truncateToWidth("short", 14, 200) === "short");
 * const cut = truncateToWidth("a rather long caption for a small tile", 14, 120);
 * assert(cut.endsWith("…") && textWidthPx(cut, 14) <= 120);
 * ```
 */
export function truncateToWidth(text: string, fontPx: number, maxWidthPx: number): string {
  if (textWidthPx(text, fontPx) <= maxWidthPx) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidthPx(`${chars.join("")}…`, fontPx) > maxWidthPx) chars.pop();
  return `${chars.join("")}…`;
}

/**
 * `text` broken into lines no wider than `maxWidthPx` at spaces (a word wider than that keeps
 * its own line).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { wrapToWidth } from "./text.ts";
 * assert.deepStrictEqual(wrapToWidth("one two three", 14, 70), ["one two", "three"]);
 * ```
 */
export function wrapToWidth(text: string, fontPx: number, maxWidthPx: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (line !== "" && textWidthPx(candidate, fontPx) > maxWidthPx) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  if (line !== "") lines.push(line);
  return lines;
}
