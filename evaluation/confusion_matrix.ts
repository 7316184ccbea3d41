/**
 * The confusion matrix (rows: true class, columns: predicted class, as scikit-learn's
 * `confusion_matrix`), its CSV, and a heatmap PNG drawn without any font or canvas library.
 *
 * @module
 */
import { png, stringifyCsv } from "../deps.ts";
import { ADVANCE_CELLS, CAP_HEIGHT_CELLS, textRuns } from "../data/synth/bitmap_font.ts";

/**
 * Counts `[true][predicted]` over `numClasses` classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrix } from "./confusion_matrix.ts";
 * assert(JSON.stringify(confusionMatrix([0, 1, 1], [0, 0, 1], 2)) === "[[1,0],[1,1]]");
 * ```
 */
export function confusionMatrix(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < actual.length; i++) matrix[actual[i]][predicted[i]]++;
  return matrix;
}

/**
 * The matrix as CSV: a header row of predicted classes, then one row per true class.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrixCsv } from "./confusion_matrix.ts";
 * assert(confusionMatrixCsv([[1, 0], [1, 1]], ["a", "b"]) === "true\\pred,a,b\na,1,0\nb,1,1\n");
 * ```
 */
export function confusionMatrixCsv(
  matrix: readonly number[][],
  classes: readonly string[],
): string {
  return stringifyCsv([
    ["true\\pred", ...classes],
    ...matrix.map((row, i) => [classes[i], ...row.map(String)]),
  ]);
}

const CELL_PX = 112;
const FONT_SCALE_PX = 2;
const LABEL_MARGIN_PX = 140;
const TITLE_PX = 40;

/** White → dark blue, like matplotlib's "Blues". */
function blues(fraction: number): [number, number, number] {
  const light = [247, 251, 255], dark = [8, 48, 107];
  return light.map((l, i) => Math.round(l + (dark[i] - l) * fraction)) as [number, number, number];
}

type Rgba = { widthPx: number; heightPx: number; data: Uint8Array };

function fillRect(image: Rgba, x0: number, y0: number, w: number, h: number, rgb: number[]) {
  for (let y = Math.max(0, y0); y < Math.min(image.heightPx, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(image.widthPx, x0 + w); x++) {
      const o = (y * image.widthPx + x) * 4;
      image.data.set([rgb[0], rgb[1], rgb[2], 255], o);
    }
  }
}

/** Draws `text` with its top-left corner at (x, y); `centre` centres it on x instead. */
function drawText(image: Rgba, text: string, x: number, y: number, rgb: number[], centre = false) {
  const s = FONT_SCALE_PX;
  const left = centre ? Math.round(x - ((text.length * ADVANCE_CELLS - 1) * s) / 2) : x;
  for (const run of textRuns(text)) {
    fillRect(image, left + run.xCell * s, y + run.yCell * s, run.lengthCells * s, s, rgb);
  }
}

/**
 * A heatmap PNG of the matrix: cells shaded by count, counts written in, class names on both
 * axes (true classes down the side, predicted ones across the top).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrixPng } from "./confusion_matrix.ts";
 * const bytes = confusionMatrixPng([[3, 1], [0, 4]], ["A", "B"]);
 * assert(bytes[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export function confusionMatrixPng(
  matrix: readonly number[][],
  classes: readonly string[],
): Uint8Array {
  const k = classes.length;
  const widthPx = LABEL_MARGIN_PX + k * CELL_PX + 16;
  const heightPx = TITLE_PX + LABEL_MARGIN_PX / 2 + k * CELL_PX + 16;
  const image: Rgba = { widthPx, heightPx, data: new Uint8Array(widthPx * heightPx * 4) };
  fillRect(image, 0, 0, widthPx, heightPx, [255, 255, 255]);
  const black = [0, 0, 0];
  const gridTop = TITLE_PX + LABEL_MARGIN_PX / 2;
  drawText(image, "rows: true class, columns: predicted", 8, 10, black);
  const max = Math.max(1, ...matrix.flat());
  const textHeightPx = CAP_HEIGHT_CELLS * FONT_SCALE_PX;
  classes.forEach((name, c) => {
    const centreX = LABEL_MARGIN_PX + c * CELL_PX + CELL_PX / 2;
    drawText(image, name, centreX, gridTop - textHeightPx - 10, black, true);
    drawText(image, name, 8, gridTop + c * CELL_PX + (CELL_PX - textHeightPx) / 2, black);
  });
  matrix.forEach((row, r) =>
    row.forEach((count, c) => {
      const x = LABEL_MARGIN_PX + c * CELL_PX, y = gridTop + r * CELL_PX;
      const fraction = count / max;
      fillRect(image, x, y, CELL_PX, CELL_PX, blues(fraction));
      const ink = fraction > 0.5 ? [255, 255, 255] : black;
      drawText(image, String(count), x + CELL_PX / 2, y + (CELL_PX - textHeightPx) / 2, ink, true);
    })
  );
  return png.encode({ width: widthPx, height: heightPx, data: image.data, channels: 4, depth: 8 });
}
