/**
 * The comparison tables beside the Quantus summary, made from the per-image files alone, so they
 * can be rebuilt at any time without re-scoring:
 *
 * - `<out>/results/quantus_comparisons.csv`: per model, metric and pair of methods, the paired
 *   difference with its bootstrap interval and Wilcoxon p-value, Holm-corrected, and the better
 *   method (`metrics/comparisons.ts`);
 * - `<out>/results/quantus_agreement.csv`: per model and pair of metrics, Kendall's τ between
 *   their rankings of the methods (`metrics/agreement.ts`).
 *
 * Both are pure functions of `<out>/metrics/quantus_<model>_<method>.csv` (their bootstrap
 * streams have a fixed seed, forked by model, metric and pair), so rebuilding gives the same
 * bytes. A metric's direction comes from `quantus_summary.csv` where it has the metric, else
 * from the metric registry. `deno task compare` rebuilds them; `deno task plots` rebuilds them
 * first when they are missing or older than a per-image file or the summary ("stale"; a
 * per-image file deleted since is not noticed: run `deno task compare` then).
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { SeededRandom } from "../core/random.ts";
import {
  type MetricAgreement,
  metricAgreement,
  QUANTUS_AGREEMENT_COLUMNS,
} from "../metrics/agreement.ts";
import {
  compareMethods,
  type MethodComparison,
  type MetricScores,
  type ModelScores,
  QUANTUS_COMPARISON_COLUMNS,
} from "../metrics/comparisons.ts";
import type { ScoreDirection } from "../metrics/metric.ts";
import type { OutputSelection } from "./selection.ts";
import { getMetric } from "../metrics/registry.ts";
import {
  formatScore,
  QUANTUS_ROW_COLUMNS,
  quantusScoreFiles,
  readQuantusSummary,
} from "./quantus_outputs.ts";

/** Seed of the comparisons' bootstrap streams (forked per model, metric and pair). */
const COMPARISON_SEED = 0xc0a1;

/** The two tables. */
export interface QuantusComparisons {
  comparisons: MethodComparison[];
  agreement: MetricAgreement[];
}

/**
 * Where the two tables are, beside `quantus_summary.csv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { comparisonFiles } from "./quantus_comparisons.ts";
 * assert(comparisonFiles("o").agreement === "o/results/quantus_agreement.csv");
 * ```
 */
export function comparisonFiles(out: string): { comparisons: string; agreement: string } {
  return {
    comparisons: join(out, "results", "quantus_comparisons.csv"),
    agreement: join(out, "results", "quantus_agreement.csv"),
  };
}

/** A score cell: `NaN`, `nan` or empty for undefined, else a number. */
function scoreCell(text: string, source: string, row: number, column: string): number {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "nan") return NaN;
  const value = Number(trimmed);
  if (Number.isNaN(value)) {
    throw new InputError(
      `${source}: row ${row + 2}, column "${column}" holds "${trimmed}", not a number; ` +
        "rerun deno task quantus for it",
    );
  }
  return value;
}

/** One model's files as read: its methods, its image ids, metric -> method -> image -> score. */
interface Gathered {
  methods: string[];
  images: Set<string>;
  columns: Map<string, Map<string, Map<string, number>>>;
}

/**
 * Every model's per-image scores, read from `<out>/metrics/quantus_<model>_<method>.csv` (those
 * `selection` keeps; default: each model's current checkpoint and training data): methods in
 * file-name order, images in the order they first appear, scores NaN where a method has no
 * score for an image. Empty when there is no per-image file.
 *
 * @throws {InputError} for a cell that is not a number, or a metric that is neither in the
 *   summary nor registered.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readModelScores } from "./quantus_comparisons.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/metrics`);
 * await Deno.writeTextFile(
 *   `${out}/metrics/quantus_ecgnet_gradcam.csv`,
 *   "id,file,true_class,target_class,sparseness,nan_reasons\na,a.png,N,N,0.5,\nb,b.png,N,N,NaN,x\n",
 * );
 * const [table] = await readModelScores(out);
 * assert(table.model === "ecgnet" && table.images.join() === "a,b");
 * assert(table.metrics[0].direction === "higher" && table.metrics[0].scores.get("gradcam")![0] === 0.5);
 * ```
 */
export async function readModelScores(
  out: string,
  selection?: OutputSelection,
): Promise<ModelScores[]> {
  if (!(await statOrUndefined(join(out, "metrics")))?.isDirectory) return [];
  const summaryDirection = new Map<string, ScoreDirection>();
  if (await statOrUndefined(join(out, "results", "quantus_summary.csv"))) {
    for (const r of await readQuantusSummary(out)) {
      if (r.direction === "higher" || r.direction === "lower") {
        summaryDirection.set(`${r.model}\t${r.metric}`, r.direction);
      }
    }
  }
  const tables = new Map<string, Gathered>();
  for (const { model, method, path } of await quantusScoreFiles(out, selection)) {
    const [header = [], ...body]: string[][] = parseCsv(await Deno.readTextFile(path));
    const table: Gathered = tables.get(model) ??
      { methods: [], images: new Set(), columns: new Map() };
    tables.set(model, table);
    table.methods.push(method);
    for (const row of body) table.images.add(row[0]);
    for (const [column, metric] of header.entries()) {
      if (column < QUANTUS_ROW_COLUMNS.length || metric === "nan_reasons") continue;
      const byMethod = table.columns.get(metric) ?? new Map();
      table.columns.set(metric, byMethod);
      byMethod.set(
        method,
        new Map(body.map((row, i) => [row[0], scoreCell(row[column] ?? "", path, i, metric)])),
      );
    }
  }
  return [...tables].map(([model, table]) => {
    const images = [...table.images];
    const metrics: MetricScores[] = [...table.columns].map(([metric, byMethod]) => ({
      metric,
      direction: summaryDirection.get(`${model}\t${metric}`) ?? getMetric(metric).direction,
      scores: new Map(
        [...byMethod].map((
          [method, byImage],
        ) => [method, Float64Array.from(images, (id) => byImage.get(id) ?? NaN)]),
      ),
    }));
    return { model, images, methods: table.methods, metrics };
  });
}

/**
 * Both tables for the models' scores.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusComparisons } from "./quantus_comparisons.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const tables = quantusComparisons([{
 *   model: "m", images: ["i", "j"], methods: ["a", "b"],
 *   metrics: [{ metric: "x", direction: "higher", scores: new Map([["a", up(1, 2)], ["b", up(0, 1)]]) }],
 * }]);
 * assert(tables.comparisons[0].meanDiff === 1 && tables.agreement.length === 0);
 * ```
 */
export function quantusComparisons(models: readonly ModelScores[]): QuantusComparisons {
  const random = new SeededRandom(COMPARISON_SEED);
  return {
    comparisons: models.flatMap((table) =>
      table.metrics.flatMap((metric) => compareMethods(table.model, table.methods, metric, random))
    ),
    agreement: models.flatMap(metricAgreement),
  };
}

/**
 * Rebuilds both tables from the per-image files `selection` keeps and writes them; returns what
 * was written.
 *
 * @throws {InputError} when there is no per-image file to compare.
 *
 * @example
 * ```ts ignore
 * const { comparisons } = await writeQuantusComparisons("outputs");
 * ```
 */
export async function writeQuantusComparisons(
  out: string,
  selection?: OutputSelection,
): Promise<QuantusComparisons & { models: ModelScores[] }> {
  const models = await readModelScores(out, selection);
  if (models.length === 0) {
    throw new InputError(
      `no per-image scores in ${join(out, "metrics")} (quantus_<model>_<method>.csv); ` +
        "run deno task quantus first (and deno task merge after sharded runs)",
    );
  }
  return { ...await writeTables(out, models), models };
}

async function writeTables(out: string, models: ModelScores[]): Promise<QuantusComparisons> {
  const tables = quantusComparisons(models);
  const files = comparisonFiles(out);
  await writeFileAtomic(
    files.comparisons,
    stringifyCsv([
      [...QUANTUS_COMPARISON_COLUMNS],
      ...tables.comparisons.map((c) => [
        c.model,
        c.metric,
        c.methodA,
        c.methodB,
        String(c.n),
        ...[c.meanDiff, c.ciLow, c.ciHigh, c.p, c.pHolm].map(formatScore),
        c.better,
      ]),
    ]),
  );
  await writeFileAtomic(
    files.agreement,
    stringifyCsv([
      [...QUANTUS_AGREEMENT_COLUMNS],
      ...tables.agreement.map((a) => [
        a.model,
        a.metricA,
        a.metricB,
        String(a.methods),
        formatScore(a.tauOverall),
        String(a.images),
        formatScore(a.tauPerImage),
      ]),
    ]),
  );
  return tables;
}

/** Rows of a CSV by column name, checking that the `columns` are there. */
function csvRecords(text: string, source: string, columns: readonly string[]) {
  const records = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const missing = columns.filter((c) => records.length > 0 && !(c in records[0]));
  if (missing.length > 0) {
    throw new InputError(
      `${source}: missing column(s) ${missing.join(", ")}; rebuild it with deno task compare`,
    );
  }
  return records;
}

/**
 * Reads both tables back.
 *
 * @throws {InputError} for a missing column or a cell that is not a number.
 *
 * @example
 * ```ts ignore
 * const { agreement } = await readQuantusComparisons("outputs");
 * ```
 */
export async function readQuantusComparisons(out: string): Promise<QuantusComparisons> {
  const files = comparisonFiles(out);
  const comparisons = csvRecords(
    await Deno.readTextFile(files.comparisons),
    files.comparisons,
    QUANTUS_COMPARISON_COLUMNS,
  ).map((r, i) => {
    const num = (c: string) => scoreCell(r[c], files.comparisons, i, c);
    return {
      model: r.model,
      metric: r.metric,
      methodA: r.method_a,
      methodB: r.method_b,
      n: num("n"),
      meanDiff: num("mean_diff"),
      ciLow: num("ci_low"),
      ciHigh: num("ci_high"),
      p: num("p"),
      pHolm: num("p_holm"),
      better: r.better,
    };
  });
  const agreement = csvRecords(
    await Deno.readTextFile(files.agreement),
    files.agreement,
    QUANTUS_AGREEMENT_COLUMNS,
  ).map((r, i) => {
    const num = (c: string) => scoreCell(r[c], files.agreement, i, c);
    return {
      model: r.model,
      metricA: r.metric_a,
      metricB: r.metric_b,
      methods: num("methods"),
      tauOverall: num("tau_overall"),
      images: num("images"),
      tauPerImage: num("tau_per_image"),
    };
  });
  return { comparisons, agreement };
}

/**
 * Whether both tables exist, are at least as new as every per-image file and the summary, and
 * hold no model or method whose per-image file `selection` does not keep (one of another
 * checkpoint or data set, or moved away with its run).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { comparisonsAreFresh } from "./quantus_comparisons.ts";
 * assert(!(await comparisonsAreFresh(await Deno.makeTempDir())));
 * ```
 */
export async function comparisonsAreFresh(
  out: string,
  selection?: OutputSelection,
): Promise<boolean> {
  const files = comparisonFiles(out);
  const written = await Promise.all([files.comparisons, files.agreement].map(statOrUndefined));
  if (written.some((s) => !s?.mtime)) return false;
  const oldest = Math.min(...written.map((s) => s!.mtime!.getTime()));
  const scoreFiles = (await statOrUndefined(join(out, "metrics")))?.isDirectory
    ? await quantusScoreFiles(out, selection)
    : [];
  const inputs = [...scoreFiles.map((f) => f.path), join(out, "results", "quantus_summary.csv")];
  for (const path of inputs) {
    const mtime = (await statOrUndefined(path))?.mtime?.getTime();
    if (mtime !== undefined && mtime > oldest) return false;
  }
  const kept = new Set(scoreFiles.map((f) => `${f.model}\t${f.method}`));
  const tables = await readQuantusComparisons(out).catch(() => undefined);
  return tables !== undefined &&
    tables.comparisons.every((c) =>
      kept.has(`${c.model}\t${c.methodA}`) && kept.has(`${c.model}\t${c.methodB}`)
    ) &&
    tables.agreement.every((a) => scoreFiles.some((f) => f.model === a.model));
}

/**
 * The two tables, rebuilt first when they are missing or stale; undefined when there is no
 * per-image file to build them from. `rebuilt` says whether they were written now.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { freshQuantusComparisons } from "./quantus_comparisons.ts";
 * assert((await freshQuantusComparisons(await Deno.makeTempDir())) === undefined);
 * ```
 */
export async function freshQuantusComparisons(
  out: string,
  selection?: OutputSelection,
): Promise<(QuantusComparisons & { rebuilt: boolean }) | undefined> {
  if (await comparisonsAreFresh(out, selection)) {
    return { ...await readQuantusComparisons(out), rebuilt: false };
  }
  const models = await readModelScores(out, selection);
  if (models.length === 0) return undefined;
  return { ...await writeTables(out, models), rebuilt: true };
}
