/**
 * The files of the `meta` stage (MetaQuantus's meta-evaluation, Hedström et al. 2023):
 *
 * - `<out>/meta/<model>/<metric>.csv`: every score behind the criteria, one row per image, test,
 *   iteration, perturbation and method ({@link META_ROW_COLUMNS}); a run keeps each finished
 *   batch as a part in `<out>/meta/<model>/<metric>/` until the file is complete (resume,
 *   shards, `deno task merge`);
 * - `<out>/results/meta_evaluation.csv`: per model, metric and test space (model, input) the
 *   four criteria and the MC score ({@link META_EVALUATION_COLUMNS}), rebuilt from every
 *   per-metric file after each merge, so the criteria's Wilcoxon tests see all the images
 *   however they were batched.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import {
  type MetaConsistency,
  metaConsistency,
  nanMean,
  type PerturbationTestScores,
  type PerturbedScores,
} from "../metrics/meta/consistency.ts";
import type { MetaBatchScores } from "../metrics/meta/meta_evaluation.ts";
import type { PerturbationSpace } from "../metrics/meta/perturbation_tests.ts";
import type { ScoreDirection } from "../metrics/metric.ts";
import { getMetric } from "../metrics/registry.ts";
import { plannedRecord, writeProvenance } from "./provenance.ts";
import { formatScore } from "./quantus_outputs.ts";
import { readAllParts } from "./shard.ts";

/** Columns of a per-metric file: one row per image, test, iteration, perturbation, method. */
export const META_ROW_COLUMNS = [
  "id",
  "test",
  "iteration",
  "perturbation",
  "method",
  "prediction_kept",
  "q_star",
  "q_hat",
] as const;

/** Columns of `results/meta_evaluation.csv`. */
export const META_EVALUATION_COLUMNS = [
  "model",
  "metric",
  "direction",
  "test",
  "iac_nr",
  "iac_ar",
  "iec_nr",
  "iec_ar",
  "mc",
  "mc_std",
  "iterations",
  "perturbations",
  "methods",
  "images",
] as const;

/** One row of `results/meta_evaluation.csv`. */
export interface MetaEvaluationRow extends MetaConsistency {
  model: string;
  metric: string;
  direction: ScoreDirection;
  test: PerturbationSpace;
  iterations: number;
  perturbations: number;
  methods: string[];
  images: number;
}

/**
 * `<out>/meta/<model>/<metric>`, the parts folder of one model and metric (its merged file is
 * this with `.csv`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaFolder } from "./meta_outputs.ts";
 * assert(metaFolder("o", "ecgnet", "mprt") === "o/meta/ecgnet/mprt");
 * ```
 */
export function metaFolder(out: string, model: string, metric: string): string {
  return join(out, "meta", model, metric);
}

/**
 * `<out>/results/meta_evaluation.csv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaEvaluationFile } from "./meta_outputs.ts";
 * assert(metaEvaluationFile("o") === "o/results/meta_evaluation.csv");
 * ```
 */
export function metaEvaluationFile(out: string): string {
  return join(out, "results", "meta_evaluation.csv");
}

/**
 * A batch's rows of the per-metric file, header first: per perturbation, image and method.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaPartRows } from "./meta_outputs.ts";
 * const rows = metaPartRows(["a"], Int32Array.of(1), ["saliency"], {
 *   qStarMN: [Float64Array.of(0.5)],
 *   perturbations: [{ space: "model", kind: "adversary", iteration: 0, perturbation: 2,
 *     predictions: Int32Array.of(0), qHatMN: [Float64Array.of(NaN)] }],
 * });
 * assert(rows[1].join() === "a,model_adversary,0,2,saliency,0,0.5,NaN");
 * ```
 */
export function metaPartRows(
  imageIds: readonly string[],
  targets: Int32Array,
  methods: readonly string[],
  scores: MetaBatchScores,
): string[][] {
  return [
    [...META_ROW_COLUMNS],
    ...scores.perturbations.flatMap((p) =>
      imageIds.flatMap((id, i) =>
        methods.map((method, m) => [
          id,
          `${p.space}_${p.kind}`,
          String(p.iteration),
          String(p.perturbation),
          method,
          p.predictions[i] === targets[i] ? "1" : "0",
          formatScore(scores.qStarMN[m][i]),
          formatScore(p.qHatMN[m][i]),
        ])
      )
    ),
  ];
}

/**
 * The criteria of one model and metric per test space, from its per-metric file's rows (header
 * first), as MetaQuantus aggregates them (`metrics/meta/consistency.ts`).
 *
 * @throws {InputError} naming `source` for a row that does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaEvaluationOf, metaPartRows } from "./meta_outputs.ts";
 * const q = Float64Array.of(1, 2, 3, 4, 5, 6);
 * const ids = ["a", "b", "c", "d", "e", "f"];
 * const kept = Int32Array.of(0, 0, 0, 0, 0, 0);
 * const tests = ["model", "input"].flatMap((space) => [
 *   { space, kind: "resilience", iteration: 0, perturbation: 0, predictions: kept, qHatMN: [q] },
 *   { space, kind: "adversary", iteration: 0, perturbation: 0, predictions: kept.map(() => 1),
 *     qHatMN: [q.map((v, i) => v + 10 + i)] },
 * ]) as never;
 * const rows = metaPartRows(ids, kept, ["m"], { qStarMN: [q], perturbations: tests });
 * const [model] = metaEvaluationOf("ecgnet", "complexity", rows, "f.csv"); // lower is better
 * assert(model.test === "model" && model.iacNr === 1 && model.iecAr === 1 && model.images === 6);
 * ```
 */
export function metaEvaluationOf(
  model: string,
  metric: string,
  rows: readonly string[][],
  source: string,
): MetaEvaluationRow[] {
  const header = rows[0] ?? [];
  if (META_ROW_COLUMNS.some((c, k) => header[k] !== c)) {
    throw new InputError(
      `${source}: expected the columns ${META_ROW_COLUMNS.join(", ")}; rerun deno task meta`,
    );
  }
  const direction = getMetric(metric).direction;
  const images = new Map<string, number>(), methods = new Map<string, number>();
  for (const row of rows.slice(1)) {
    if (!images.has(row[0])) images.set(row[0], images.size);
    if (!methods.has(row[4])) methods.set(row[4], methods.size);
  }
  const value = (text: string, r: number) => {
    const v = Number(text);
    if (text === "" || (Number.isNaN(v) && text !== "NaN")) {
      throw new InputError(`${source}: row ${r + 1} has "${text}" where a number belongs`);
    }
    return v;
  };
  const spaces: PerturbationSpace[] = ["model", "input"];
  return spaces.flatMap((space): MetaEvaluationRow[] => {
    const matrix = () => [...methods.keys()].map(() => new Float64Array(images.size).fill(NaN));
    const qStarMN = matrix();
    const perturbed = {
      resilience: [] as PerturbedScores[][],
      adversary: [] as PerturbedScores[][],
    };
    let iterations = 0, perturbations = 0;
    for (const [r, row] of rows.slice(1).entries()) {
      const [id, test, iterationText, perturbationText, method, kept, qStar, qHat] = row;
      const [rowSpace, kind] = test.split("_");
      if (rowSpace !== space) continue;
      if (kind !== "resilience" && kind !== "adversary") {
        throw new InputError(`${source}: row ${r + 1} names an unknown test "${test}"`);
      }
      const [it, k] = [value(iterationText, r), value(perturbationText, r)];
      iterations = Math.max(iterations, it + 1);
      perturbations = Math.max(perturbations, k + 1);
      const cell = ((perturbed[kind][it] ??= [])[k] ??= {
        qHatMN: matrix(),
        predictionKept: Array(images.size).fill(false),
      });
      const [i, m] = [images.get(id)!, methods.get(method)!];
      qStarMN[m][i] = value(qStar, r);
      cell.qHatMN[m][i] = value(qHat, r);
      (cell.predictionKept as boolean[])[i] = kept === "1";
    }
    if (iterations === 0) return [];
    const scores: PerturbationTestScores = { qStarMN, ...perturbed };
    return [{
      model,
      metric,
      direction,
      test: space,
      ...metaConsistency(scores, direction),
      iterations,
      perturbations,
      methods: [...methods.keys()],
      images: images.size,
    }];
  });
}

/**
 * Every parts folder under `<out>/meta/` (a sharded or interrupted run's), for `merge` and
 * `status`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metaPartsFolders } from "./meta_outputs.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/meta/ecgnet/sparseness`, { recursive: true });
 * await Deno.writeTextFile(`${out}/meta/ecgnet/mprt.csv`, "a\n"); // a finished file, not parts
 * const [only, ...rest] = await metaPartsFolders(out);
 * assert(only.model === "ecgnet" && only.metric === "sparseness" && rest.length === 0);
 * ```
 */
export async function metaPartsFolders(
  out: string,
): Promise<{ model: string; metric: string; dir: string }[]> {
  const root = join(out, "meta");
  if (!(await statOrUndefined(root))?.isDirectory) return [];
  const found = [];
  for (const model of await listDirSorted(root)) {
    if (!model.isDirectory) continue;
    for (const entry of await listDirSorted(join(root, model.name))) {
      if (entry.isDirectory) {
        found.push({
          model: model.name,
          metric: entry.name,
          dir: join(root, model.name, entry.name),
        });
      }
    }
  }
  return found;
}

/**
 * Merges a parts folder whose chunks are all done into its per-metric file, removes the folder,
 * writes the file's provenance record and rebuilds `results/meta_evaluation.csv`; returns the
 * number of rows.
 *
 * @throws {InputError} listing the chunks not done yet.
 *
 * @example
 * ```ts ignore
 * // After every shard of `deno task meta --shard I/N` finished into <out>/meta/ecgnet/mprt/:
 * const rows = await mergeMetaParts("outputs/meta/ecgnet/mprt");
 * ```
 */
export async function mergeMetaParts(dir: string): Promise<number> {
  const planned = await plannedRecord(dir);
  const rows = await readAllParts(dir);
  const out = join(dir, "..", "..", "..");
  await writeFileAtomic(`${dir}.csv`, stringifyCsv(rows));
  await Deno.remove(dir, { recursive: true });
  if (planned) await writeProvenance(out, planned);
  await writeMetaEvaluation(out);
  return rows.length - 1;
}

/**
 * Rebuilds `<out>/results/meta_evaluation.csv` from every per-metric file under `<out>/meta/`;
 * returns the file and its rows (none and no file when no per-metric file is there).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeMetaEvaluation } from "./meta_outputs.ts";
 * const { file, rows } = await writeMetaEvaluation(await Deno.makeTempDir());
 * assert(rows.length === 0 && file.endsWith("results/meta_evaluation.csv"));
 * ```
 */
export async function writeMetaEvaluation(
  out: string,
): Promise<{ file: string; rows: MetaEvaluationRow[] }> {
  const file = metaEvaluationFile(out);
  const rows: MetaEvaluationRow[] = [];
  const root = join(out, "meta");
  if ((await statOrUndefined(root))?.isDirectory) {
    for (const model of await listDirSorted(root)) {
      if (!model.isDirectory) continue;
      for (const entry of await listDirSorted(join(root, model.name))) {
        if (!entry.isFile || !entry.name.endsWith(".csv")) continue;
        const path = join(root, model.name, entry.name);
        const table = parseCsv(await Deno.readTextFile(path)) as string[][];
        rows.push(...metaEvaluationOf(model.name, entry.name.slice(0, -4), table, path));
      }
    }
  }
  if (rows.length > 0) {
    await writeFileAtomic(
      file,
      stringifyCsv([
        [...META_EVALUATION_COLUMNS],
        ...rows.map((r) => [
          r.model,
          r.metric,
          r.direction,
          r.test,
          ...[r.iacNr, r.iacAr, r.iecNr, r.iecAr, r.mc, r.mcStd].map(formatScore),
          String(r.iterations),
          String(r.perturbations),
          r.methods.join(";"),
          String(r.images),
        ]),
      ]),
    );
  }
  return { file, rows };
}

/** A metric's MetaQuantus criteria on the report card. */
export interface MetaCriteria {
  /** Mean over the test spaces of (IAC_NR + IEC_NR) / 2. */
  noiseResilience: number;
  /** Mean over the test spaces of (IAC_AR + IEC_AR) / 2. */
  reactivity: number;
}

/**
 * The report card's criteria per `model\tmetric` from `results/meta_evaluation.csv` (empty
 * when the file is absent): noise resilience is the mean of IAC_NR and IEC_NR, reactivity of
 * IAC_AR and IEC_AR, each averaged over the model and input tests (NaNs left out).
 *
 * @throws {InputError} naming the file and column for a cell that is not a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readMetaCriteria } from "./meta_outputs.ts";
 * assert((await readMetaCriteria(await Deno.makeTempDir())).size === 0);
 * ```
 */
export async function readMetaCriteria(out: string): Promise<Map<string, MetaCriteria>> {
  const file = metaEvaluationFile(out);
  const text = await Deno.readTextFile(file).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  const byMetric = new Map<string, { nr: number[]; ar: number[] }>();
  if (text === undefined) return new Map();
  const records = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  for (const [r, record] of records.entries()) {
    const num = (column: string) => {
      const v = Number(record[column]);
      if (record[column] === undefined || (Number.isNaN(v) && record[column] !== "NaN")) {
        throw new InputError(
          `${file}: row ${r + 1}, ${column} is "${record[column]}"; rebuild it with deno task meta`,
        );
      }
      return v;
    };
    const key = `${record.model}\t${record.metric}`;
    const entry = byMetric.get(key) ?? { nr: [], ar: [] };
    entry.nr.push(nanMean([num("iac_nr"), num("iec_nr")]));
    entry.ar.push(nanMean([num("iac_ar"), num("iec_ar")]));
    byMetric.set(key, entry);
  }
  return new Map(
    [...byMetric].map(([key, { nr, ar }]) => [key, {
      noiseResilience: nanMean(nr),
      reactivity: nanMean(ar),
    }]),
  );
}
