/**
 * The per-image similarity rows of the sanity checks and their CSV form: one file per model and
 * method while the run goes (the unit of resume), and the combined tables
 * `sanity_data_randomisation.csv` and `sanity_seeds.csv` the stage writes from them.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import { damagedFile, parseStateCsv } from "../core/state_file.ts";

/** Which two models a row compares. */
export type SanityComparison = "data_randomisation" | "seeds";

/** The similarity of two models' maps of one image under one method. */
export interface SimilarityRow {
  /** The architecture. */
  model: string;
  method: string;
  comparison: SanityComparison;
  /** Training seeds of the two models (for data_randomisation: the real model's, twice). */
  seedA: number;
  seedB: number;
  /** The test image's sample id. */
  image: string;
  spearman: number;
  ssim: number;
}

/** Columns of a model's per-method file, `<out>/sanity/<model>/<method>.csv`. */
export const PART_COLUMNS = [
  "comparison",
  "seed_a",
  "seed_b",
  "image",
  "spearman",
  "ssim",
] as const;

/** Columns of `sanity_data_randomisation.csv`. */
export const DATA_RANDOMISATION_COLUMNS = ["model", "method", "image", "spearman", "ssim"] as const;

/** Columns of `sanity_seeds.csv`. */
export const SEEDS_COLUMNS = [
  "model",
  "method",
  "seed_a",
  "seed_b",
  "image",
  "spearman",
  "ssim",
] as const;

/**
 * The CSV of one model's and method's rows ({@link PART_COLUMNS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { partCsv } from "./similarity_table.ts";
 * const row = { model: "m", method: "saliency", comparison: "seeds" as const, seedA: 1, seedB: 2,
 *   image: "test/A/a", spearman: 0.5, ssim: NaN };
 * assert(partCsv([row]).split("\n")[1] === "seeds,1,2,test/A/a,0.5,NaN");
 * ```
 */
export function partCsv(rows: readonly SimilarityRow[]): string {
  return stringifyCsv([
    [...PART_COLUMNS],
    ...rows.map((r) => [r.comparison, r.seedA, r.seedB, r.image, r.spearman, r.ssim].map(String)),
  ]);
}

/**
 * Reads a per-method file back (`model` and `method` come from its place).
 *
 * @throws {InputError} naming the file and the fix when it is not such a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parsePartCsv, partCsv } from "./similarity_table.ts";
 * const row = { model: "m", method: "saliency", comparison: "data_randomisation" as const,
 *   seedA: 1, seedB: 1, image: "test/A/a", spearman: 0.25, ssim: NaN };
 * const [back] = parsePartCsv(partCsv([row]), "m.csv", "m", "saliency");
 * assert(back.spearman === 0.25 && Number.isNaN(back.ssim) && back.comparison === "data_randomisation");
 * ```
 */
export function parsePartCsv(
  text: string,
  file: string,
  model: string,
  method: string,
): SimilarityRow[] {
  const fix = "delete it and rerun deno task sanity";
  const [header, ...rows] = parseStateCsv(text, file, fix);
  if (header.join() !== PART_COLUMNS.join()) {
    throw damagedFile(
      file,
      `columns ${header.join(", ")}, expected ${PART_COLUMNS.join(", ")}`,
      fix,
    );
  }
  return rows.map(([comparison, seedA, seedB, image, spearman, ssim], i) => {
    if (comparison !== "data_randomisation" && comparison !== "seeds") {
      throw damagedFile(file, `row ${i + 1}: comparison "${comparison}"`, fix);
    }
    return {
      model,
      method,
      comparison,
      seedA: Number(seedA),
      seedB: Number(seedB),
      image,
      spearman: Number(spearman),
      ssim: Number(ssim),
    };
  });
}

/**
 * The combined tables: `dataRandomisation` ({@link DATA_RANDOMISATION_COLUMNS}) and `seeds`
 * ({@link SEEDS_COLUMNS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { combinedCsvs } from "./similarity_table.ts";
 * const row = { model: "m", method: "saliency", seedA: 1, seedB: 2, image: "i", spearman: 1, ssim: 1 };
 * const csv = combinedCsvs([{ ...row, comparison: "seeds" }, { ...row, comparison: "data_randomisation" }]);
 * assert(csv.dataRandomisation.split("\n")[1] === "m,saliency,i,1,1");
 * assert(csv.seeds.split("\n")[1] === "m,saliency,1,2,i,1,1");
 * ```
 */
export function combinedCsvs(
  rows: readonly SimilarityRow[],
): { dataRandomisation: string; seeds: string } {
  const of = (comparison: SanityComparison) => rows.filter((r) => r.comparison === comparison);
  return {
    dataRandomisation: stringifyCsv([
      [...DATA_RANDOMISATION_COLUMNS],
      ...of("data_randomisation").map((r) =>
        [r.model, r.method, r.image, r.spearman, r.ssim].map(String)
      ),
    ]),
    seeds: stringifyCsv([
      [...SEEDS_COLUMNS],
      ...of("seeds").map((r) =>
        [r.model, r.method, r.seedA, r.seedB, r.image, r.spearman, r.ssim].map(String)
      ),
    ]),
  };
}
