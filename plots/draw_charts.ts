/**
 * Gathering every chart the outputs folder allows, and drawing them: each chart needs only the
 * files it draws from; for each one that cannot be drawn there is one line naming the missing
 * input and the stage that makes it.
 *
 * @module
 */
import { join } from "node:path";
import { stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { countSamples, openDataset } from "../data/dataset.ts";
import { MODEL_PERFORMANCE_COLUMNS } from "../evaluation/model_performance.ts";
import { type HistoryRow, parseHistoryCsv } from "../training/history.ts";
import type { RecordedStage } from "../runs/provenance.ts";
import { OutputSelection } from "../runs/selection.ts";
import { xaiMethodDirs } from "../runs/xai_merge.ts";
import {
  type CsvRecord,
  type ModelPerformanceRow,
  parseCsvRecords,
  parseModelPerformance,
  parseQuantusSummary,
  type QuantusSummaryRow,
  readCsvRecords,
} from "./inputs.ts";
import { planComparisonCharts } from "./comparison_charts.ts";
import { planSanityCharts, type SanityChartPlan } from "./sanity_charts.ts";
import type { QuantusComparisons } from "../runs/quantus_comparisons.ts";
import { type ChartSpec, type PlannedChart, writeChart } from "./render.ts";
import type { RenderOptions } from "../svg/rasterise.ts";
import { confidenceHistogramChart, predictionConfidences } from "./charts/confidence_histogram.ts";
import { confusionMatrixChart, parseConfusionCsv } from "./charts/confusion_matrix.ts";
import { classDistributionChart, dataSplitChart } from "./charts/dataset_charts.ts";
import { markdownTable } from "./charts/performance_table.ts";
import { methodRankCells } from "./charts/method_ranks.ts";
import { latexOf, markdownOf, quantusSummaryTable, recordsTable } from "./charts/paper_tables.ts";
import { type LeadShareRow, leadSharesChart, parseLeadShares } from "./charts/lead_shares.ts";
import { performanceVsXaiChart } from "./charts/performance_vs_xai.ts";
import { quantusMetricsChart } from "./charts/quantus_metrics.ts";
import { significanceMarks } from "./charts/significance_marks.ts";
import { quantusRadarChart } from "./charts/quantus_radar.ts";
import { quantusScatterChart, sensitivityTrendChart } from "./charts/quantus_scatter.ts";
import { orientedScores } from "./charts/quantus_scores.ts";
import { trainingCurvesChart, validationLossChart } from "./charts/training_curves.ts";

/** Where the charts' inputs are. */
export interface ChartInputs {
  /** The outputs folder the stages wrote (`--out`). */
  out: string;
  /** The data set root (`--data`), for the class and split counts. */
  data: string;
  /** Class names in label order (the config's `classes`). */
  classes: readonly string[];
  /** Seed of a `labels.csv` split (the config's `seed`). */
  seed: number;
  /**
   * Which outputs belong to each model's current checkpoint and the data set described; the
   * rest is left out, one line each in {@link ChartPlan.leftOut}. Default: each model's
   * training data.
   */
  selection?: OutputSelection;
}

/** The charts the inputs allow, what was skipped and why, and the tables read on the way. */
export interface ChartPlan {
  charts: PlannedChart[];
  /** One line per chart that cannot be drawn: the chart, the missing input, the stage. */
  skipped: string[];
  /** Models found in the outputs, in model_performance.csv order, then by name. */
  models: string[];
  performance?: {
    columns: string[];
    records: CsvRecord[];
    rows: ModelPerformanceRow[];
    csvText: string;
  };
  quantus?: QuantusSummaryRow[];
  /** The method comparisons and metric agreement (`results/quantus_{comparisons,agreement}.csv`). */
  comparisons?: QuantusComparisons;
  /** One line per output left out: another checkpoint's or data set's, with why. */
  leftOut?: string[];
  /** The lead shares in the affected leads beside chance (`results/lead_affected.csv`). */
  leadAffected?: CsvRecord[];
  /** The sanity checks' tables and charts (`deno task sanity`), when it has run. */
  sanity?: SanityChartPlan;
  /** The selection the plan was made with (the dashboard reads the explanations through it). */
  selection?: OutputSelection;
}

/** The folders and files the charts read, under an outputs folder. */
export function chartInputPaths(out: string) {
  return {
    metrics: join(out, "metrics"),
    modelMetrics: (model: string) => join(out, "metrics", model),
    performance: join(out, "results", "model_performance.csv"),
    quantusSummary: join(out, "results", "quantus_summary.csv"),
    leadShares: join(out, "results", "lead_shares.csv"),
    leadAffected: join(out, "results", "lead_affected.csv"),
  };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function findModels(
  metricsDir: string,
  performance: readonly ModelPerformanceRow[],
  quantus: readonly QuantusSummaryRow[],
  leadShares: readonly LeadShareRow[],
): Promise<string[]> {
  const folders = (await statOrUndefined(metricsDir))?.isDirectory
    ? (await listDirSorted(metricsDir)).filter((e) => e.isDirectory).map((e) => e.name)
    : [];
  const all = new Set([
    ...performance.map((p) => p.model),
    ...[...folders, ...quantus.map((q) => q.model), ...leadShares.map((r) => r.model)].sort(),
  ]);
  return [...all];
}

function performanceTable(csvText: string, source: string, rows: ModelPerformanceRow[]) {
  const all = parseCsvRecords(csvText, source);
  const columns = all.length > 0 ? Object.keys(all[0]) : [...MODEL_PERFORMANCE_COLUMNS];
  // Rows of models left out (another checkpoint's evaluation) leave the table too.
  const records = all.filter((r) => rows.some((row) => row.model === r.Model));
  const text = records.length === all.length
    ? csvText
    : stringifyCsv([columns, ...records.map((r) => columns.map((c) => r[c]))]);
  return { columns, records, rows, csvText: text };
}

function missing(chart: string, path: string, stage: string): string {
  return `${chart}: missing ${path}; run deno task ${stage}`;
}

/** The line for a chart of training that an imported model cannot have. */
function importedLine(chart: string, model: string, file: string): string {
  return `${chart}: ${model} was imported from ${file} (deno task import), not trained here: ` +
    "no training history";
}

/**
 * Reads what the outputs folder holds and plans every chart it allows; nothing is drawn yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { planCharts } from "./draw_charts.ts";
 * const out = await Deno.makeTempDir();
 * const plan = await planCharts({ out, data: `${out}/none`, classes: ["A"], seed: 1 });
 * assert(plan.charts.length === 0 && plan.skipped.some((l) => l.includes("quantus_summary.csv")));
 * ```
 */
export async function planCharts(inputs: ChartInputs): Promise<ChartPlan> {
  const paths = chartInputPaths(inputs.out);
  const charts: PlannedChart[] = [];
  const skipped: string[] = [];
  const add = (name: string, folder: string, chart: ChartSpec, model?: string) =>
    charts.push({ name, folder, chart, ...(model === undefined ? {} : { model }) });

  const selection = inputs.selection ?? await OutputSelection.open(inputs.out);
  const leftOut = new Set<string>();
  const kept = (stage: RecordedStage, model: string, method?: string) => {
    const line = selection.leftOutLine(stage, model, method);
    if (line !== undefined) leftOut.add(line);
    return line === undefined;
  };
  const performanceText = await readText(paths.performance);
  const performance = performanceText === undefined
    ? undefined
    : parseModelPerformance(performanceText, paths.performance).filter((r) =>
      kept("eval", r.model)
    );
  const quantusText = await readText(paths.quantusSummary);
  const quantus = quantusText === undefined
    ? undefined
    : parseQuantusSummary(quantusText, paths.quantusSummary)
      .filter((r) => kept("quantus", r.model, r.method));
  const scores = quantus ? orientedScores(quantus) : [];
  // Relevance per lead comes from the optional leads stage: drawn when it has run, no line when
  // it has not.
  const leadSharesText = await readText(paths.leadShares);
  const leadShares = leadSharesText === undefined
    ? []
    : parseLeadShares(leadSharesText, paths.leadShares);
  const leadAffected = await readCsvRecords(paths.leadAffected);
  const models = await findModels(paths.metrics, performance ?? [], quantus ?? [], leadShares);
  // The dashboard shows the explanations the selection keeps; the others are named here.
  for (const { model, method } of await xaiMethodDirs(inputs.out)) kept("xai", model, method);

  const histories = new Map<string, HistoryRow[]>();
  if (models.length === 0) {
    skipped.push(
      missing("per-model charts", join(paths.metrics, "<model>"), "train and deno task eval"),
    );
  }
  for (const model of models) {
    const dir = paths.modelMetrics(model);
    const folder = join("per_model", model);
    const cmFile = join(dir, "confusion_matrix.csv");
    // An evaluation of another checkpoint or data set is left out (its line says why).
    const evaluated = kept("eval", model);
    const cmText = evaluated ? await readText(cmFile) : undefined;
    if (evaluated && cmText === undefined) {
      skipped.push(missing(`${model} confusion_matrix`, cmFile, "eval"));
    } else if (cmText !== undefined) {
      add(
        "confusion_matrix",
        folder,
        confusionMatrixChart(model, parseConfusionCsv(cmText, cmFile)),
        model,
      );
    }

    const historyFile = join(dir, "history.csv");
    const historyText = await readText(historyFile);
    const imported = selection.checkpoint(model)?.meta.imported;
    if (historyText === undefined && imported) {
      // Imported weights were trained elsewhere: no history to draw, and nothing to run.
      skipped.push(importedLine(`${model} training_curves`, model, imported.file));
    } else if (historyText === undefined) {
      skipped.push(missing(`${model} training_curves`, historyFile, "train"));
    } else {
      const history = parseHistoryCsv(historyText, historyFile);
      histories.set(model, history);
      add("training_curves", folder, trainingCurvesChart(model, history), model);
    }

    const predictionsFile = join(dir, "predictions.csv");
    const predictions = evaluated
      ? await readCsvRecords(predictionsFile, ["file", "true", "pred"])
      : undefined;
    if (evaluated && predictions === undefined) {
      skipped.push(missing(`${model} confidence_histogram`, predictionsFile, "eval"));
    } else if (predictions !== undefined) {
      add(
        "confidence_histogram",
        folder,
        confidenceHistogramChart(model, predictionConfidences(predictions, predictionsFile)),
        model,
      );
    }

    if (!quantus) {
      skipped.push(missing(`${model} quantus_radar`, paths.quantusSummary, "quantus"));
    } else if (!scores.some((s) => s.model === model)) {
      skipped.push(
        `${model} quantus_radar: no finite results for ${model} in ${paths.quantusSummary}; ` +
          `run deno task quantus --models ${model}`,
      );
    } else {
      add("quantus_radar", folder, quantusRadarChart(model, scores), model);
    }
    const leadChart = leadSharesChart(model, leadShares);
    if (leadChart) add("lead_shares", folder, leadChart, model);
  }

  const compared = await planComparisonCharts(inputs.out, models, quantus, selection);
  charts.push(...compared.charts);
  skipped.push(...compared.skipped);
  // The sanity checks are optional, like the leads: drawn when they have run, no line otherwise.
  const sanity = await planSanityCharts(inputs.out);
  charts.push(...sanity.charts);

  const importedModels = models.filter((m) => selection.checkpoint(m)?.meta.imported);
  if (histories.size === 0 && models.length > 0 && importedModels.length === models.length) {
    skipped.push(
      `validation_loss: ${models.join(", ")} ${
        models.length === 1 ? "was" : "were"
      } imported (deno task import), not trained here: no training history`,
    );
  } else if (histories.size === 0) {
    skipped.push(
      missing("validation_loss", join(paths.metrics, "<model>", "history.csv"), "train"),
    );
  } else add("validation_loss", "comparison", validationLossChart(histories));
  if (!performance) skipped.push(missing("model_performance table", paths.performance, "eval"));
  if (!quantus) {
    for (const name of ["quantus_metrics", "quantus_scatter", "sensitivity_trend"]) {
      skipped.push(missing(name, paths.quantusSummary, "quantus"));
    }
  } else {
    const pairs = compared.comparisons?.comparisons;
    const marks = pairs && significanceMarks(quantus, pairs);
    add("quantus_metrics", "comparison", quantusMetricsChart(quantus, marks));
    const scatter = quantusScatterChart(quantus);
    if (scatter) add("quantus_scatter", "comparison", scatter);
    else {
      skipped.push(
        `quantus_scatter: ${paths.quantusSummary} lacks a faithfulness metric or a sensitivity ` +
          "metric (max_sensitivity, avg_sensitivity); run deno task quantus with both",
      );
    }
    const trend = sensitivityTrendChart(quantus, models);
    if (trend) add("sensitivity_trend", "comparison", trend);
    else {
      skipped.push(
        `sensitivity_trend: ${paths.quantusSummary} has no sensitivity metric ` +
          "(max_sensitivity, avg_sensitivity); run deno task quantus with one",
      );
    }
  }
  if (!performance || !quantus) {
    const path = !performance ? paths.performance : paths.quantusSummary;
    skipped.push(missing("performance_vs_xai", path, !performance ? "eval" : "quantus"));
  } else {
    const chart = performanceVsXaiChart(performance, scores);
    if (chart) add("performance_vs_xai", "comparison", chart);
    else {
      skipped.push(
        `performance_vs_xai: no model is in both ${paths.performance} and ` +
          `${paths.quantusSummary}; run deno task eval and deno task quantus on the same models`,
      );
    }
  }

  try {
    const dataset = await openDataset(inputs.data, { classes: inputs.classes, seed: inputs.seed });
    const counts = countSamples(dataset.samples);
    add("class_distribution", "dataset", classDistributionChart(counts));
    add("data_split", "dataset", dataSplitChart(counts));
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const why = `cannot count the data set (${e.message})`;
    skipped.push(`class_distribution, data_split: ${why}`);
  }

  return {
    charts,
    skipped,
    models,
    ...(performance && performanceText !== undefined
      ? { performance: performanceTable(performanceText, paths.performance, performance) }
      : {}),
    ...(quantus ? { quantus } : {}),
    ...(compared.comparisons ? { comparisons: compared.comparisons } : {}),
    leftOut: [...leftOut],
    ...(leadAffected ? { leadAffected } : {}),
    ...(sanity.summary ? { sanity } : {}),
    selection,
  };
}

/**
 * Rank-group letters by model, metric and method, for the metrics the comparisons cover.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rankGroupLetters } from "./draw_charts.ts";
 * assert(rankGroupLetters({ charts: [], skipped: [], models: [] }) === undefined);
 * ```
 */
export function rankGroupLetters(
  plan: ChartPlan,
): Map<string, Map<string, Map<string, string>>> | undefined {
  if (!plan.quantus || !plan.comparisons) return undefined;
  const compared = plan.comparisons.comparisons;
  const groups = new Map<string, Map<string, Map<string, string>>>();
  for (const model of new Set(compared.map((c) => c.model))) {
    const byMetric = new Map<string, Map<string, string>>();
    for (const cell of methodRankCells(model, plan.quantus, compared)) {
      if (!compared.some((c) => c.model === model && c.metric === cell.metric)) continue;
      byMetric.set(
        cell.metric,
        (byMetric.get(cell.metric) ?? new Map()).set(cell.method, cell.groups),
      );
    }
    groups.set(model, byMetric);
  }
  return groups;
}

/** What {@link drawCharts} wrote. */
export interface DrawnCharts {
  /** Every file written, in order. */
  files: string[];
  /** Seconds each chart took to render and write, by `<folder>/<name>`. */
  secondsByChart: Map<string, number>;
}

/**
 * Draws the planned charts under `<out>/plots/` (`.svg`, `.png`, spec; with `options.dpi` the
 * paper export) and writes the tables, with a progress bar:
 * `plots/comparison/model_performance.{csv,md,tex}` and, from the Quantus summary (with the
 * comparisons' rank groups when they exist), `plots/comparison/quantus_summary.{md,tex}`.
 *
 * @example
 * ```ts ignore
 * const plan = await planCharts({ out: "outputs", data: "outputs/synthetic", classes, seed: 42 });
 * const { files } = await drawCharts("outputs", plan);
 * ```
 */
export async function drawCharts(
  out: string,
  plan: ChartPlan,
  options: Pick<RenderOptions, "dpi"> = {},
): Promise<DrawnCharts> {
  const root = join(out, "plots");
  const files: string[] = [];
  const secondsByChart = new Map<string, number>();
  if (plan.performance) {
    const { columns, records, csvText } = plan.performance;
    const csv = join(root, "comparison", "model_performance.csv");
    const md = join(root, "comparison", "model_performance.md");
    const tex = join(root, "comparison", "model_performance.tex");
    await writeFileAtomic(csv, csvText);
    await writeFileAtomic(md, markdownTable(columns, records));
    const table = recordsTable("Classification performance on the test split.", columns, records);
    await writeFileAtomic(tex, latexOf(table, "tab:model-performance"));
    files.push(csv, md, tex);
  }
  if (plan.quantus) {
    const table = quantusSummaryTable(plan.quantus, rankGroupLetters(plan));
    const md = join(root, "comparison", "quantus_summary.md");
    const tex = join(root, "comparison", "quantus_summary.tex");
    await writeFileAtomic(md, markdownOf(table));
    await writeFileAtomic(tex, latexOf(table, "tab:quantus-summary"));
    files.push(md, tex);
  }
  const progress = new Progress("plots", plan.charts.length);
  for (const planned of plan.charts) {
    const start = performance.now();
    files.push(
      ...await writeChart(join(root, planned.folder), planned.name, planned.chart, options),
    );
    secondsByChart.set(`${planned.folder}/${planned.name}`, (performance.now() - start) / 1000);
    progress.tick(1, `${planned.folder}/${planned.name}`);
  }
  progress.done();
  return { files, secondsByChart };
}
