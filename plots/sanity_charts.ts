/**
 * The charts of the sanity checks (`deno task sanity`), one per model, from
 * `<out>/sanity/sanity_summary.csv`. The stage is optional: without its summary there is no
 * chart and no line saying one is missing.
 *
 * @module
 */
import { join } from "node:path";
import { SANITY_DIR, SANITY_FILES } from "../sanity/outputs.ts";
import { SUMMARY_COLUMNS } from "../sanity/summary.ts";
import { cellNumber, type CsvRecord, readCsvRecords } from "./inputs.ts";
import type { PlannedChart } from "./render.ts";
import { type SanityPoint, sanitySimilarityChart } from "./charts/sanity_similarity.ts";

/** The sanity charts and the tables the dashboard shows beside them. */
export interface SanityChartPlan {
  charts: PlannedChart[];
  /** `sanity_summary.csv`'s rows; undefined when the stage has not run. */
  summary?: CsvRecord[];
  /** `sanity_accuracy.csv`'s rows, when written. */
  accuracy?: CsvRecord[];
}

/**
 * Plans `per_model/<model>/sanity_similarity` for each model in the summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { planSanityCharts } from "./sanity_charts.ts";
 * const plan = await planSanityCharts(await Deno.makeTempDir());
 * assert(plan.charts.length === 0 && plan.summary === undefined);
 * ```
 */
export async function planSanityCharts(out: string): Promise<SanityChartPlan> {
  const summaryFile = join(out, SANITY_DIR, SANITY_FILES.summary);
  const summary = await readCsvRecords(summaryFile, SUMMARY_COLUMNS);
  if (!summary) return { charts: [] };
  const accuracy = await readCsvRecords(join(out, SANITY_DIR, SANITY_FILES.accuracy));
  const points = summary.flatMap((r, i): (SanityPoint & { model: string })[] =>
    (["permuted", "seeds"] as const).map((side) => ({
      model: r.model,
      method: r.method,
      statistic: r.statistic,
      comparison: side === "permuted" ? "permuted labels" : "seeds",
      mean: cellNumber(r, `${side}_mean`, summaryFile, i),
      low: cellNumber(r, `${side}_ci95_low`, summaryFile, i),
      high: cellNumber(r, `${side}_ci95_high`, summaryFile, i),
      verdict: r.verdict,
    }))
  );
  const models = [...new Set(summary.map((r) => r.model))];
  const charts = models.map((model): PlannedChart => ({
    name: "sanity_similarity",
    folder: join("per_model", model),
    model,
    chart: sanitySimilarityChart(
      model,
      points.filter((p) => p.model === model).map(({ model: _, ...p }) => p),
    ),
  }));
  return { charts, summary, ...(accuracy ? { accuracy } : {}) };
}
