/**
 * Relevance per lead as a heatmap: for one model, per method a panel of the report's leads
 * (rows, in the report's order, `outside` last) by true class (columns), each cell the mean
 * share of the explanations' positive relevance that fell in that lead's panel
 * (`results/lead_shares.csv`, written by `deno task leads`).
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { SHARE_COLUMNS } from "../../leads/lead_shares.ts";
import { LEAD_SHARES_COLUMNS } from "../../leads/lead_tables.ts";
import type { ChartSpec } from "../render.ts";
import { parseCsvRecords } from "../inputs.ts";
import { CHART_CONFIG, chartTitle, METHOD_COLOURS } from "./theme.ts";

/** One row of `results/lead_shares.csv`. */
export interface LeadShareRow {
  model: string;
  method: string;
  className: string;
  panel: string;
  meanShare: number;
  n: number;
}

/**
 * Parses `results/lead_shares.csv`; `source` names it in errors.
 *
 * @throws {InputError} for a missing column or a share that is not a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseLeadShares } from "./lead_shares.ts";
 * const rows = parseLeadShares("model,method,class,panel,mean_share,n\nm,gradcam,MI,V1,0.25,3\n", "x.csv");
 * assert(rows[0].panel === "V1" && rows[0].meanShare === 0.25 && rows[0].n === 3);
 * ```
 */
export function parseLeadShares(text: string, source: string): LeadShareRow[] {
  return parseCsvRecords(text, source, LEAD_SHARES_COLUMNS).map((r, i) => {
    const meanShare = r.mean_share === "NaN" ? NaN : Number(r.mean_share);
    if (r.mean_share === "" || (Number.isNaN(meanShare) && r.mean_share !== "NaN")) {
      throw new InputError(
        `${source}: row ${
          i + 2
        }: mean_share "${r.mean_share}" is not a number; rerun deno task leads`,
      );
    }
    return {
      model: r.model,
      method: r.method,
      className: r.class,
      panel: r.panel,
      meanShare,
      n: Number(r.n),
    };
  });
}

/** Width of one method's heatmap per class, in pixels. */
const CELL_WIDTH_PX = 44;
/** Height of one lead's row, in pixels. */
const CELL_HEIGHT_PX = 16;

/**
 * The heatmap of `model`'s rows: one panel per method (registry order), leads by classes, the
 * share written in each cell; undefined when `rows` has none of `model`'s.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { leadSharesChart } from "./lead_shares.ts";
 * const row = { model: "m", method: "gradcam", className: "MI", panel: "V1", meanShare: 0.3, n: 2 };
 * const chart = leadSharesChart("m", [row])!;
 * assert(chart.kind === "vega-lite" && JSON.stringify(chart.spec).includes('"rect"'));
 * assert(leadSharesChart("other", [row]) === undefined);
 * ```
 */
export function leadSharesChart(
  model: string,
  rows: readonly LeadShareRow[],
): ChartSpec | undefined {
  const mine = rows.filter((r) => r.model === model && !Number.isNaN(r.meanShare));
  if (mine.length === 0) return undefined;
  const known = Object.keys(METHOD_COLOURS);
  const rank = (m: string) => known.includes(m) ? known.indexOf(m) : known.length;
  const methods = [...new Set(mine.map((r) => r.method))].sort((a, b) => rank(a) - rank(b));
  const classes = [...new Set(mine.map((r) => r.className))];
  const values = mine.map((r) => ({
    method: r.method,
    class: r.className,
    lead: r.panel,
    share: r.meanShare,
    n: r.n,
  }));
  const top = Math.max(...values.map((v) => v.share));
  const encoding = {
    x: {
      field: "class",
      type: "nominal" as const,
      sort: classes,
      title: "true class",
      axis: { labelAngle: -40 },
    },
    y: { field: "lead", type: "nominal" as const, sort: [...SHARE_COLUMNS], title: null },
  };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(`Relevance per lead: ${model}`, [
        "mean share of each explanation's positive relevance in the lead's panel, by true class",
        "outside: header, footer, calibration pulses and margins",
      ]),
      config: CHART_CONFIG,
      data: { values },
      facet: {
        field: "method",
        type: "nominal",
        sort: methods,
        title: null,
        header: { labelFontSize: 12, labelLimit: 0 },
      },
      columns: 4,
      spec: {
        width: CELL_WIDTH_PX * classes.length,
        height: CELL_HEIGHT_PX * SHARE_COLUMNS.length,
        encoding,
        layer: [
          {
            mark: "rect",
            encoding: {
              color: {
                field: "share",
                type: "quantitative",
                title: "mean share",
                scale: { scheme: "reds", domain: [0, Math.max(top, 1e-9)] },
              },
              tooltip: [
                { field: "method" },
                { field: "class", title: "true class" },
                { field: "lead" },
                { field: "share", type: "quantitative", format: ".1%", title: "mean share" },
                { field: "n", type: "quantitative", title: "images" },
              ],
            },
          },
          {
            mark: { type: "text", fontSize: 9 },
            encoding: {
              text: { field: "share", type: "quantitative", format: ".0%" },
              color: {
                condition: { test: `datum.share > ${top / 2}`, value: "white" },
                value: "black",
              },
            },
          },
        ],
      },
    },
  };
}
