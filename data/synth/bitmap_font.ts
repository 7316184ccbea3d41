/**
 * A built-in 5x7 bitmap font for the synthetic reports' text, so rendering needs no system
 * fonts and gives the same pixels on every machine.
 *
 * Glyphs are 5 cells wide; rows 0–6 sit above the baseline (capitals fill all seven) and
 * rows 7–8 hold descenders. The design is this project's own.
 *
 * @module
 */

/** Height of a capital letter, in font cells; callers scale cells so capitals get this tall. */
export const CAP_HEIGHT_CELLS = 7;

/** Horizontal distance from one glyph's origin to the next, in cells (5 wide + 1 gap). */
export const ADVANCE_CELLS = 6;

/** A horizontal run of inked cells: `lengthCells` cells starting at (`xCell`, `yCell`). */
export interface GlyphRun {
  /** Column of the run's first cell, from the text origin. */
  readonly xCell: number;
  /** Row of the run, 0 = top of a capital; the baseline is the bottom of row 6. */
  readonly yCell: number;
  /** Number of consecutive inked cells. */
  readonly lengthCells: number;
}

// One string per glyph: rows separated by spaces, "#" = ink. Descender glyphs have 9 rows.
const GLYPH_ROWS: Record<string, string> = {
  "A": ".###. #...# #...# ##### #...# #...# #...#",
  "B": "####. #...# #...# ####. #...# #...# ####.",
  "C": ".###. #...# #.... #.... #.... #...# .###.",
  "D": "###.. #..#. #...# #...# #...# #..#. ###..",
  "E": "##### #.... #.... ####. #.... #.... #####",
  "F": "##### #.... #.... ####. #.... #.... #....",
  "G": ".###. #...# #.... #.### #...# #...# .####",
  "H": "#...# #...# #...# ##### #...# #...# #...#",
  "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  "L": "#.... #.... #.... #.... #.... #.... #####",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
  "O": ".###. #...# #...# #...# #...# #...# .###.",
  "P": "####. #...# #...# ####. #.... #.... #....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
  "R": "####. #...# #...# ####. #.#.. #..#. #...#",
  "S": ".#### #.... #.... .###. ....# ....# ####.",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "U": "#...# #...# #...# #...# #...# #...# .###.",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  "Z": "##### ....# ...#. ..#.. .#... #.... #####",
  "a": "..... ..... .###. ....# .#### #...# .####",
  "b": "#.... #.... #.##. ##..# #...# #...# ####.",
  "c": "..... ..... .###. #.... #.... #...# .###.",
  "d": "....# ....# .##.# #..## #...# #...# .####",
  "e": "..... ..... .###. #...# ##### #.... .###.",
  "f": "..##. .#..# .#... ###.. .#... .#... .#...",
  "g": "..... ..... .#### #...# #...# .#### ....# ....# .###.",
  "h": "#.... #.... #.##. ##..# #...# #...# #...#",
  "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
  "j": "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
  "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
  "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "m": "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
  "n": "..... ..... #.##. ##..# #...# #...# #...#",
  "o": "..... ..... .###. #...# #...# #...# .###.",
  "p": "..... ..... ####. #...# #...# ####. #.... #.... #....",
  "q": "..... ..... .#### #...# #...# .#### ....# ....# ....#",
  "r": "..... ..... #.##. ##..# #.... #.... #....",
  "s": "..... ..... .###. #.... .###. ....# ####.",
  "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
  "u": "..... ..... #...# #...# #...# #..## .##.#",
  "v": "..... ..... #...# #...# #...# .#.#. ..#..",
  "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
  "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
  "y": "..... ..... #...# #...# #...# .#### ....# ....# .###.",
  "z": "..... ..... ##### ...#. ..#.. .#... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "####. ....# ....# .###. ....# ....# ####.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ":": "..... ..#.. ..#.. ..... ..... ..#.. ..#..",
  "/": "....# ....# ...#. ..#.. .#... #.... #....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  ",": "..... ..... ..... ..... ..... ..#.. ..#.. .#...",
  "-": "..... ..... ..... .###. ..... ..... .....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
  "%": "##..# ##..# ...#. ..#.. .#... #..## #..##",
  "~": "..... ..... .#... #.#.# ...#. ..... .....",
  "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  "=": "..... ..... ##### ..... ##### ..... .....",
  "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
  "_": "..... ..... ..... ..... ..... ..... #####",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  "\u2665": "..... ##.## ##### ##### .###. ..#.. .....",
};

/** Each glyph's inked runs relative to its own origin, parsed once. */
const GLYPH_RUNS: ReadonlyMap<string, readonly GlyphRun[]> = new Map(
  Object.entries(GLYPH_ROWS).map(([char, rows]) => [char, parseGlyph(rows)]),
);

function parseGlyph(rows: string): GlyphRun[] {
  const runs: GlyphRun[] = [];
  rows.split(" ").forEach((row, yCell) => {
    let start = -1;
    for (let x = 0; x <= row.length; x++) {
      const inked = row[x] === "#";
      if (inked && start < 0) start = x;
      if (!inked && start >= 0) {
        runs.push({ xCell: start, yCell, lengthCells: x - start });
        start = -1;
      }
    }
  });
  return runs;
}

/**
 * True when the font has a glyph for `char` (one UTF-16 code unit).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { hasGlyph } from "./bitmap_font.ts";
 * assert(hasGlyph("A") && hasGlyph("%") && !hasGlyph("@"));
 * ```
 */
export function hasGlyph(char: string): boolean {
  return GLYPH_RUNS.has(char);
}

/**
 * Width of `text` in cells, from the first glyph's origin to the last glyph's right edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { textWidthCells } from "./bitmap_font.ts";
 * assert(textWidthCells("II") === 11);
 * ```
 */
export function textWidthCells(text: string): number {
  return text.length === 0 ? 0 : text.length * ADVANCE_CELLS - 1;
}

/**
 * The inked runs of `text` laid out left to right; characters without a glyph throw, so
 * a typo in a header field cannot silently vanish from the page.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { textRuns } from "./bitmap_font.ts";
 * const runs = textRuns("-");
 * assert(runs.length === 1 && runs[0].lengthCells === 3 && runs[0].yCell === 3);
 * ```
 */
export function textRuns(text: string): GlyphRun[] {
  const runs: GlyphRun[] = [];
  for (let i = 0; i < text.length; i++) {
    const glyph = GLYPH_RUNS.get(text[i]);
    if (glyph === undefined) {
      throw new RangeError(`bitmap font: no glyph for ${JSON.stringify(text[i])} in "${text}"`);
    }
    const xOrigin = i * ADVANCE_CELLS;
    for (const run of glyph) runs.push({ ...run, xCell: run.xCell + xOrigin });
  }
  return runs;
}
