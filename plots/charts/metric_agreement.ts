/**
 * Do the metrics agree? For one model, a metrics × metrics matrix of Kendall's τ between their
 * rankings of the methods (lower-is-better metrics flipped), from
 * `results/quantus_agreement.csv`: blue where two metrics order the methods alike, red where they
 * order them oppositely.
 *
 * @module
 */
import type { MetricAgreement } from "../../metrics/agreement.ts";
import type { ChartSpec } from "../render.ts";
import { CHART_CONFIG, chartTitle, numberTip } from "./theme.ts";

/** One cell: the agreement of metric `a` (across) with metric `b` (down). */
export interface AgreementCell {
  a: string;
  b: string;
  /** τ between the rankings by mean; null where undefined. */
  tau: number | null;
  /** Mean per-image τ; null where undefined. */
  tau_per_image: number | null;
  /** τ as written in the cell: two decimals, or "–" where undefined. */
  text: string;
  /** Images with a per-image τ, methods ranked by mean; null on the diagonal. */
  images: number | null;
  methods: number | null;
}

/**
 * The full symmetric matrix of `model`'s rows (each pair both ways, the diagonal τ = 1), metrics
 * named by `labels` (metric id → label; the id where missing), in the order they first appear.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { agreementCells } from "./metric_agreement.ts";
 * const cells = agreementCells("m", [{ model: "m", metricA: "x", metricB: "y", methods: 3,
 *   tauOverall: -1 / 3, images: 4, tauPerImage: 0.5 }], new Map([["x", "X"]]));
 * assert(cells.length === 4 && cells.some((c) => c.a === "y" && c.b === "X" && c.text === "-0.33"));
 * ```
 */
export function agreementCells(
  model: string,
  rows: readonly MetricAgreement[],
  labels: ReadonlyMap<string, string>,
): AgreementCell[] {
  const mine = rows.filter((r) => r.model === model);
  const name = (metric: string) => labels.get(metric) ?? metric;
  const metrics = [...new Set(mine.flatMap((r) => [r.metricA, r.metricB]))];
  const finite = (x: number) => Number.isFinite(x) ? x : null;
  const cell = (a: string, b: string, r: MetricAgreement): AgreementCell => ({
    a: name(a),
    b: name(b),
    tau: finite(r.tauOverall),
    tau_per_image: finite(r.tauPerImage),
    text: Number.isFinite(r.tauOverall) ? r.tauOverall.toFixed(2) : "–",
    images: r.images,
    methods: r.methods,
  });
  return [
    ...metrics.map((m) => ({
      a: name(m),
      b: name(m),
      tau: 1,
      tau_per_image: 1,
      text: "1.00",
      images: null,
      methods: null,
    })),
    ...mine.flatMap((r) => [cell(r.metricA, r.metricB, r), cell(r.metricB, r.metricA, r)]),
  ];
}

/**
 * The heatmap of {@link agreementCells}, τ on a diverging red-blue scale from −1 to 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { metricAgreementChart } from "./metric_agreement.ts";
 * const chart = metricAgreementChart("m", [{ a: "X", b: "Y", tau: 0.5, tau_per_image: 0.2,
 *   text: "0.50", images: 9, methods: 3 }]);
 * assert(JSON.stringify(chart.spec).includes("redblue"));
 * ```
 */
export function metricAgreementChart(model: string, cells: readonly AgreementCell[]): ChartSpec {
  const metrics = [...new Set(cells.map((c) => c.a))];
  const tooltip = [
    { field: "a", title: "metric" },
    { field: "b", title: "with" },
    numberTip("tau", "Kendall's tau (by mean)", 3),
    numberTip("tau_per_image", "mean per-image tau", 3),
    { field: "images", title: "images with a per-image tau" },
    { field: "methods", title: "methods ranked" },
  ];
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(`Metric agreement: ${model}`, [
        "Kendall's tau between the metrics' rankings of the methods by mean",
        "(lower-is-better metrics flipped): 1 = same order, -1 = reversed",
      ]),
      config: CHART_CONFIG,
      data: { values: cells.map((c) => ({ ...c })) },
      width: Math.max(120, 34 * metrics.length),
      height: Math.max(120, 34 * metrics.length),
      encoding: {
        x: {
          field: "a",
          type: "nominal",
          sort: metrics,
          title: null,
          axis: { labelAngle: -40, orient: "top", labelLimit: 320 },
        },
        y: { field: "b", type: "nominal", sort: metrics, title: null, axis: { labelLimit: 320 } },
      },
      layer: [
        {
          mark: "rect",
          encoding: {
            color: {
              field: "tau",
              type: "quantitative",
              title: "tau",
              scale: { scheme: "redblue", domain: [-1, 1] },
            },
            tooltip,
          },
        },
        {
          mark: { type: "text", fontSize: 10 },
          encoding: {
            text: { field: "text", type: "nominal" },
            color: {
              condition: { test: "datum.tau !== null && abs(datum.tau) > 0.6", value: "white" },
              value: "black",
            },
            tooltip,
          },
        },
      ],
    },
  };
}
