/**
 * Reading the `index.csv` the xai stage writes beside each method's maps and overlays.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";

/** One explained image of an `index.csv`. */
export interface ExplainedImage {
  id: string;
  /** The source image the overlay was drawn on. */
  file: string;
  trueClass: string;
  predictedClass: string;
  /** Softmax probability of the predicted class. */
  probability: number;
}

/**
 * The rows of an `index.csv` (text of the file at `path`).
 *
 * @throws {InputError} naming the file when a column is missing or a probability is not a
 * number in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseExplanationIndex } from "./explanation_index.ts";
 * const text = "id,file,true_class,predicted_class,probability,target_class\n" +
 *   "test/MI/a,d/a.jpg,MI,Normal,0.75,Normal\n";
 * const [row] = parseExplanationIndex(text, "index.csv");
 * assert(row.predictedClass === "Normal" && row.probability === 0.75);
 * ```
 */
export function parseExplanationIndex(text: string, path: string): ExplainedImage[] {
  const [header, ...rows]: string[][] = parseCsv(text);
  const column = (name: string) => {
    const i = header?.indexOf(name) ?? -1;
    if (i < 0) throw new InputError(`${path}: no column "${name}"; rerun deno task xai`);
    return i;
  };
  const [id, file, trueClass, predictedClass, probability] = [
    "id",
    "file",
    "true_class",
    "predicted_class",
    "probability",
  ].map(column);
  return rows.map((row, r) => {
    const p = Number(row[probability]);
    if (!(p >= 0 && p <= 1)) {
      throw new InputError(
        `${path} row ${r + 2}: probability "${
          row[probability]
        }" is not in [0, 1]; rerun deno task xai`,
      );
    }
    return {
      id: row[id],
      file: row[file],
      trueClass: row[trueClass],
      predictedClass: row[predictedClass],
      probability: p,
    };
  });
}

/**
 * The overlay picture of an explained image: `<methodDir>/overlay/<id>.png`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { overlayFile } from "./explanation_index.ts";
 * assert(overlayFile("e/ecgnet/saliency", "test/MI/a") === "e/ecgnet/saliency/overlay/test/MI/a.png");
 * ```
 */
export function overlayFile(methodDir: string, id: string): string {
  return join(methodDir, "overlay", `${id}.png`);
}
