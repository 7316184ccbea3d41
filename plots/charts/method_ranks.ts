/**
 * "Which method?" for one model: methods across, metrics down, each cell the method's rank
 * group on that metric (from `results/quantus_comparisons.csv` and the summary's means).
 * Methods sharing a letter on a metric do not differ significantly there; the best group is
 * darkest.
 *
 * @module
 */
import { type MethodComparison, rankMethods } from "../../metrics/comparisons.ts";
import type { QuantusSummaryRow } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, numberTip } from "./theme.ts";

/** One cell of the chart: a method on a metric. */
export interface MethodRankCell {
  metric: string;
  /** The metric's label with its direction, e.g. `Sparseness (higher)`. */
  panel: string;
  method: string;
  mean: number;
  /** 1 for the best mean on this metric. */
  rank: number;
  /** Group letters, e.g. `ab`. */
  groups: string;
  /** The number of the method's best group (1 = a): what the colour shows. */
  group: number;
  /** Methods ranked on this metric. */
  methods: number;
}

/**
 * The cells of `model`: every metric of the summary with a finite mean, its methods ranked by
 * mean (direction-aware) and grouped by the significant pairs of `comparisons`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodRankCells } from "./method_ranks.ts";
 * const row = (method: string, mean: number) => ({ model: "m", method, metric: "x", label: "X",
 *   category: "complexity", direction: "lower" as const, n: 9, mean, std: 0, ci95Low: mean,
 *   ci95High: mean, nanCount: 0 });
 * const cells = methodRankCells("m", [row("a", 2), row("b", 1)], [{ model: "m", metric: "x",
 *   methodA: "a", methodB: "b", n: 9, meanDiff: 1, ciLow: 1, ciHigh: 1, p: 0.004, pHolm: 0.004,
 *   better: "b" }]);
 * assert(cells.map((c) => `${c.method}${c.rank}${c.groups}`).join() === "b1a,a2b");
 * ```
 */
export function methodRankCells(
  model: string,
  summary: readonly QuantusSummaryRow[],
  comparisons: readonly MethodComparison[],
): MethodRankCell[] {
  const rows = summary.filter((r) => r.model === model);
  const metrics = [...new Set(rows.map((r) => r.metric))];
  return metrics.flatMap((metric) => {
    const mine = rows.filter((r) => r.metric === metric);
    const { label, direction } = mine[0];
    const ranked = rankMethods(
      mine,
      direction,
      comparisons.filter((c) => c.model === model && c.metric === metric),
    );
    return ranked.map((r) => ({
      metric,
      panel: `${label} (${direction})`,
      method: r.method,
      mean: r.mean,
      rank: r.rank,
      groups: r.letters,
      group: r.groups[0] + 1,
      methods: ranked.length,
    }));
  });
}

/**
 * The heatmap of {@link methodRankCells}: methods ordered by their mean rank over the metrics
 * (best first), metrics in summary order, group letters written in each cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodRanksChart } from "./method_ranks.ts";
 * const cell = { metric: "x", panel: "X (higher)", method: "a", mean: 1, rank: 1, groups: "a",
 *   group: 1, methods: 1 };
 * const chart = methodRanksChart("m", [cell]);
 * assert(JSON.stringify(chart.spec).includes('"groups"'));
 * ```
 */
export function methodRanksChart(model: string, cells: readonly MethodRankCell[]): ChartSpec {
  const methods = [...new Set(cells.map((c) => c.method))];
  const meanRank = (m: string) => {
    const mine = cells.filter((c) => c.method === m);
    return mine.reduce((s, c) => s + c.rank, 0) / mine.length;
  };
  const methodOrder = methods.sort((a, b) => meanRank(a) - meanRank(b) || a.localeCompare(b));
  const panels = [...new Set(cells.map((c) => c.panel))];
  const maxGroup = Math.max(2, ...cells.map((c) => c.group));
  const tooltip = [
    { field: "method" },
    { field: "panel", title: "metric (better when)" },
    numberTip("mean", "mean"),
    { field: "rank", title: "rank by mean" },
    { field: "methods", title: "methods ranked" },
    { field: "groups", title: "rank groups" },
  ];
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(`Which method? ${model}`, [
        "letters: rank groups per metric; methods sharing a letter do not differ",
        "(Wilcoxon signed-rank, Holm-corrected p < 0.05); darker = better group",
      ]),
      config: CHART_CONFIG,
      data: { values: cells.map((c) => ({ ...c })) },
      width: Math.max(160, 70 * methods.length),
      height: 24 * panels.length,
      encoding: {
        x: {
          field: "method",
          type: "nominal",
          sort: methodOrder,
          title: "method (best mean rank first)",
          axis: { labelAngle: -30, orient: "top", labelLimit: 260 },
        },
        y: {
          field: "panel",
          type: "nominal",
          sort: panels,
          title: null,
          axis: { labelLimit: 320 },
        },
      },
      layer: [
        {
          mark: "rect",
          encoding: {
            color: {
              field: "group",
              type: "quantitative",
              // The letters in the cells say it; the subtitle says darker is better.
              legend: null,
              scale: { scheme: "blues", reverse: true, domain: [1, maxGroup] },
            },
            tooltip,
          },
        },
        {
          mark: { type: "text", fontSize: 12 },
          encoding: {
            text: { field: "groups", type: "nominal" },
            color: {
              condition: { test: `datum.group <= ${(1 + maxGroup) / 2}`, value: "white" },
              value: "black",
            },
            tooltip,
          },
        },
      ],
    },
  };
}
