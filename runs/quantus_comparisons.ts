/**
 * The comparison tables beside the Quantus summary, made from the per-image files alone, so they
 * can be rebuilt at any time without re-scoring:
 *
 * - `<out>/results/quantus_comparisons.csv`: per model, metric and pair of methods, the paired
 *   difference with its bootstrap interval and Wilcoxon p-value, Holm-corrected, and the better
 *   method (`metrics/comparisons.ts`);
 * - `<out>/results/quantus_agreement.csv`: per model and pair of metrics, Kendall's τ between
 *   their rankings of the methods (`metrics/agreement.ts`);
 * - `<out>/results/quantus_validity.csv`: per model and metric, Kendall's τ between its ranking
 *   of the methods and a ground-truth localisation metric's, with bootstrap intervals
 *   (`metrics/validity.ts`); only where that metric was scored (a data set with evidence masks),
 *   else not written (an earlier one is removed) and the report card says why;
 * - `<out>/results/quantus_report_card.csv`: per model and metric, its validity, its mean
 *   agreement with the other metrics, and MetaQuantus's criteria from `deno task meta`'s
 *   `results/meta_evaluation.csv`, "not computed" until they are (`metrics/report_card.ts`).
 *
 * All are pure functions of `<out>/metrics/quantus_<model>_<method>.csv` (their bootstrap
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
import {
  NOT_COMPUTED,
  QUANTUS_REPORT_CARD_COLUMNS,
  type ReportCard,
  reportCards,
} from "../metrics/report_card.ts";
import {
  DEFAULT_VALIDITY_REFERENCE,
  GROUND_TRUTH_METRICS,
  type MetricValidity,
  metricValidity,
  type ModelValidity,
  QUANTUS_VALIDITY_COLUMNS,
} from "../metrics/validity.ts";
import type { OutputSelection } from "./selection.ts";
import { type MetaCriteria, metaEvaluationFile, readMetaCriteria } from "./meta_outputs.ts";
import { getMetric } from "../metrics/registry.ts";
import {
  formatScore,
  QUANTUS_ROW_COLUMNS,
  quantusScoreFiles,
  readQuantusSummary,
} from "./quantus_outputs.ts";

/** Seed of the comparisons' bootstrap streams (forked per model, metric and pair). */
const COMPARISON_SEED = 0xc0a1;

/** The tables. */
export interface QuantusComparisons {
  comparisons: MethodComparison[];
  agreement: MetricAgreement[];
  /** Validity against ground truth, of the models with reference scores. */
  validity: MetricValidity[];
  reportCard: ReportCard[];
  /** One line per model without validity, saying why (also each card's `validity_note`). */
  validityAbsent: string[];
}

/**
 * Where the tables are, beside `quantus_summary.csv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { comparisonFiles } from "./quantus_comparisons.ts";
 * assert(comparisonFiles("o").agreement === "o/results/quantus_agreement.csv");
 * assert(comparisonFiles("o").reportCard === "o/results/quantus_report_card.csv");
 * ```
 */
export function comparisonFiles(
  out: string,
): { comparisons: string; agreement: string; validity: string; reportCard: string } {
  return {
    comparisons: join(out, "results", "quantus_comparisons.csv"),
    agreement: join(out, "results", "quantus_agreement.csv"),
    validity: join(out, "results", "quantus_validity.csv"),
    reportCard: join(out, "results", "quantus_report_card.csv"),
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
 * Every table for the models' scores, validity against the ground-truth metric `reference`.
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
 * // No relevance_mass_accuracy scores: no validity, and the card says why.
 * assert(tables.validity.length === 0 && tables.validityAbsent[0].startsWith("m: no relevance_mass"));
 * assert(tables.reportCard[0].validityNote === tables.validityAbsent[0]);
 * ```
 */
export function quantusComparisons(
  models: readonly ModelScores[],
  reference: string = DEFAULT_VALIDITY_REFERENCE,
  meta: ReadonlyMap<string, MetaCriteria> = new Map(),
): QuantusComparisons {
  const random = new SeededRandom(COMPARISON_SEED);
  const agreement = models.flatMap(metricAgreement);
  const validity = new Map<string, ModelValidity>(
    models.map((table) => [table.model, metricValidity(table, reference, random)]),
  );
  const valid = [...validity.values()];
  return {
    comparisons: models.flatMap((table) =>
      table.metrics.flatMap((metric) => compareMethods(table.model, table.methods, metric, random))
    ),
    agreement,
    validity: valid.flatMap((v) => "rows" in v ? v.rows : []),
    reportCard: reportCards(models, validity, agreement, reference, meta),
    validityAbsent: valid.flatMap((v) => "absent" in v ? [v.absent] : []),
  };
}

/**
 * Rebuilds the tables from the per-image files `selection` keeps, validity against the
 * ground-truth metric `reference`, and writes them; returns what was written.
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
  reference: string = DEFAULT_VALIDITY_REFERENCE,
): Promise<QuantusComparisons & { models: ModelScores[] }> {
  const models = await readModelScores(out, selection);
  if (models.length === 0) {
    throw new InputError(
      `no per-image scores in ${join(out, "metrics")} (quantus_<model>_<method>.csv); ` +
        "run deno task quantus first (and deno task merge after sharded runs)",
    );
  }
  return { ...await writeTables(out, models, reference), models };
}

async function writeTables(
  out: string,
  models: ModelScores[],
  reference: string,
): Promise<QuantusComparisons> {
  const tables = quantusComparisons(models, reference, await readMetaCriteria(out));
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
  if (tables.validity.length > 0) {
    await writeFileAtomic(
      files.validity,
      stringifyCsv([
        [...QUANTUS_VALIDITY_COLUMNS],
        ...tables.validity.map((v) => [
          v.model,
          v.metric,
          v.reference,
          String(v.methods),
          ...[v.tauOverall, v.ciLow, v.ciHigh].map(formatScore),
          String(v.images),
          ...[v.tauPerImage, v.perImageCiLow, v.perImageCiHigh].map(formatScore),
        ]),
      ]),
    );
  } else {
    // An earlier run's validity (another data set, with masks) would be read as this one's.
    await Deno.remove(files.validity).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const criterion = (value: number | undefined) =>
    value === undefined ? NOT_COMPUTED : formatScore(value);
  await writeFileAtomic(
    files.reportCard,
    stringifyCsv([
      [...QUANTUS_REPORT_CARD_COLUMNS],
      ...tables.reportCard.map((c) => [
        c.model,
        c.metric,
        c.direction,
        c.validityReference,
        ...[c.validityTau, c.validityCiLow, c.validityCiHigh].map(formatScore),
        String(c.validityImages),
        c.validityNote,
        formatScore(c.agreementTau),
        String(c.agreementMetrics),
        criterion(c.noiseResilience),
        criterion(c.reactivity),
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
 * Reads the tables back (validity empty when its file is absent: no model had reference
 * scores; `validityAbsent` from the cards of the models without validity).
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
  const validityText = await Deno.readTextFile(files.validity).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  const validity = validityText === undefined
    ? []
    : csvRecords(validityText, files.validity, QUANTUS_VALIDITY_COLUMNS).map((r, i) => {
      const num = (c: string) => scoreCell(r[c], files.validity, i, c);
      return {
        model: r.model,
        metric: r.metric,
        reference: r.reference,
        methods: num("methods"),
        tauOverall: num("tau_overall"),
        ciLow: num("ci_low"),
        ciHigh: num("ci_high"),
        images: num("images"),
        tauPerImage: num("tau_per_image"),
        perImageCiLow: num("per_image_ci_low"),
        perImageCiHigh: num("per_image_ci_high"),
      };
    });
  const reportCard = csvRecords(
    await Deno.readTextFile(files.reportCard),
    files.reportCard,
    QUANTUS_REPORT_CARD_COLUMNS,
  ).map((r, i): ReportCard => {
    const num = (c: string) => scoreCell(r[c], files.reportCard, i, c);
    const criterion = (c: string) => r[c] === NOT_COMPUTED ? undefined : num(c);
    const noiseResilience = criterion("noise_resilience"), reactivity = criterion("reactivity");
    return {
      model: r.model,
      metric: r.metric,
      direction: r.direction === "lower" ? "lower" : "higher",
      validityReference: r.validity_reference,
      validityTau: num("validity_tau"),
      validityCiLow: num("validity_ci_low"),
      validityCiHigh: num("validity_ci_high"),
      validityImages: num("validity_images"),
      validityNote: r.validity_note,
      agreementTau: num("agreement_tau"),
      agreementMetrics: num("agreement_metrics"),
      ...(noiseResilience === undefined ? {} : { noiseResilience }),
      ...(reactivity === undefined ? {} : { reactivity }),
    };
  });
  const validityAbsent = [
    ...new Set(
      reportCard.filter((c) => !validity.some((v) => v.model === c.model)).map((c) =>
        c.validityNote
      ),
    ),
  ];
  return { comparisons, agreement, validity, reportCard, validityAbsent };
}

/**
 * Whether the tables exist (validity's only where a model has it), are at least as new as every per-image file and the summary, and
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
  const written = await Promise.all(
    [files.comparisons, files.agreement, files.reportCard].map(statOrUndefined),
  );
  if (written.some((s) => !s?.mtime)) return false;
  const oldest = Math.min(...written.map((s) => s!.mtime!.getTime()));
  const scoreFiles = (await statOrUndefined(join(out, "metrics")))?.isDirectory
    ? await quantusScoreFiles(out, selection)
    : [];
  const inputs = [
    ...scoreFiles.map((f) => f.path),
    join(out, "results", "quantus_summary.csv"),
    metaEvaluationFile(out),
  ];
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
    tables.agreement.every((a) => scoreFiles.some((f) => f.model === a.model)) &&
    tables.reportCard.every((c) => scoreFiles.some((f) => f.model === c.model));
}

/**
 * The tables, rebuilt first when they are missing or stale; undefined when there is no
 * per-image file to build them from. `rebuilt` says whether they were written now. A rebuild
 * keeps the ground-truth reference the report card names (`deno task compare
 * --validity-reference` chose it), else takes the default.
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
  const earlier = await readQuantusComparisons(out).catch(() => undefined);
  const named = earlier?.reportCard[0]?.validityReference;
  const reference = GROUND_TRUTH_METRICS.includes(named ?? "")
    ? named!
    : DEFAULT_VALIDITY_REFERENCE;
  return { ...await writeTables(out, models, reference), rebuilt: true };
}
