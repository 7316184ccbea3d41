/**
 * The charts of "which method is better" per model: the methods' rank groups per metric, the
 * agreement between the metrics and each metric's report card. Their tables
 * (`results/quantus_comparisons.csv`, `results/quantus_agreement.csv`,
 * `results/quantus_report_card.csv`, ...) are rebuilt here first when they are missing or stale,
 * so `plots` after `quantus` needs no `compare` in between.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { freshQuantusComparisons, type QuantusComparisons } from "../runs/quantus_comparisons.ts";
import { agreementCells, metricAgreementChart } from "./charts/metric_agreement.ts";
import { methodRankCells, methodRanksChart } from "./charts/method_ranks.ts";
import { reportCardCells, reportCardChart } from "./charts/report_card.ts";
import type { PlannedChart } from "./render.ts";
import type { QuantusSummaryRow } from "./inputs.ts";
import type { OutputSelection } from "../runs/selection.ts";

/** The comparison charts the outputs allow, what was skipped and why, and the tables. */
export interface ComparisonChartPlan {
  charts: PlannedChart[];
  skipped: string[];
  comparisons?: QuantusComparisons;
}

/**
 * Plans `per_model/<model>/method_ranks`, `per_model/<model>/metric_agreement` and
 * `per_model/<model>/report_card` for each model with comparisons, rebuilding the tables first when stale (which writes them) from the
 * per-image files `selection` keeps (default: each model's current checkpoint and training
 * data).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { planComparisonCharts } from "./comparison_charts.ts";
 * const plan = await planComparisonCharts(await Deno.makeTempDir(), ["m"], undefined);
 * assert(plan.charts.length === 0 && plan.skipped[0].includes("deno task quantus"));
 * ```
 */
export async function planComparisonCharts(
  out: string,
  models: readonly string[],
  summary: readonly QuantusSummaryRow[] | undefined,
  selection?: OutputSelection,
): Promise<ComparisonChartPlan> {
  const names = "method_ranks, metric_agreement, report_card";
  const summaryFile = join(out, "results", "quantus_summary.csv");
  if (!summary) {
    return { charts: [], skipped: [`${names}: missing ${summaryFile}; run deno task quantus`] };
  }
  let comparisons;
  try {
    comparisons = await freshQuantusComparisons(out, selection);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { charts: [], skipped: [`${names}: ${e.message}`] };
  }
  if (!comparisons) {
    const perImage = join(out, "metrics", "quantus_<model>_<method>.csv");
    return { charts: [], skipped: [`${names}: missing ${perImage}; run deno task quantus`] };
  }
  const labels = new Map(summary.map((r) => [r.metric, r.label]));
  const charts: PlannedChart[] = [];
  const skipped: string[] = [];
  for (const model of models.filter((m) => summary.some((r) => r.model === m))) {
    const folder = join("per_model", model);
    const compared = comparisons.comparisons.some((c) => c.model === model);
    if (compared) {
      const cells = methodRankCells(model, summary, comparisons.comparisons);
      charts.push({ name: "method_ranks", folder, model, chart: methodRanksChart(model, cells) });
    } else {
      skipped.push(
        `${model} method_ranks: no two methods of ${model} scored on one metric; ` +
          `run deno task quantus --models ${model} with two or more --methods`,
      );
    }
    if (comparisons.agreement.some((a) => a.model === model)) {
      const cells = agreementCells(model, comparisons.agreement, labels);
      charts.push({
        name: "metric_agreement",
        folder,
        model,
        chart: metricAgreementChart(model, cells),
      });
    } else {
      skipped.push(
        `${model} metric_agreement: fewer than two metrics for ${model}; ` +
          `run deno task quantus --models ${model} with two or more --metrics`,
      );
    }
    const cards = reportCardCells(model, comparisons.reportCard, labels);
    if (cards.length > 0) {
      charts.push({ name: "report_card", folder, model, chart: reportCardChart(model, cards) });
    }
  }
  const { rebuilt: _, ...tables } = comparisons;
  return { charts, skipped, comparisons: tables };
}
