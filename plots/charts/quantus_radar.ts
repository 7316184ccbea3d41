/**
 * A radar chart of one model's Quantus results, one polygon per method. Vega-Lite has no radar,
 * so this is a plain Vega spec.
 *
 * @module
 */
import { CHART_FONT_FAMILY } from "../../svg/rasterise.ts";
import type { ChartSpec } from "../render.ts";
import { constantMetrics, ORIENTED_SCALE_NOTE, type OrientedScore } from "./quantus_scores.ts";
import { CHART_CONFIG, methodColourScale } from "./theme.ts";

const RADIUS_PX = 150;

/**
 * The radar of `model`'s oriented scores (see `quantus_scores.ts`): one spoke per metric,
 * normalised per metric over all models and methods: the centre is the worst, the rim the
 * best. A metric without variation keeps its spoke, labelled so, and no points.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { quantusRadarChart } from "./quantus_radar.ts";
 * const s = (metric: string, score: number) =>
 *   ({ model: "m", method: "gradcam", metric, label: metric, direction: "higher" as const, mean: score, score });
 * const chart = quantusRadarChart("m", [s("a", 1), s("b", 0.5), s("c", 0)]);
 * assert(chart.kind === "vega" && JSON.stringify(chart.spec).includes("linear-closed"));
 * ```
 */
export function quantusRadarChart(model: string, scores: readonly OrientedScore[]): ChartSpec {
  const mine = scores.filter((s) => s.model === model);
  const metrics = [...new Set(mine.map((s) => s.metric))];
  const flat = constantMetrics(scores);
  const angle = (metric: string) =>
    -Math.PI / 2 + (2 * Math.PI * metrics.indexOf(metric)) /
      metrics.length;
  const values = mine.filter((s) => !flat.has(s.metric)).map((s) => ({
    method: s.method,
    metric: s.metric,
    label: s.label,
    direction: s.direction,
    mean: s.mean,
    score: s.score,
    angle: angle(s.metric),
  }));
  const spokes = metrics.map((metric) => {
    const { label, direction, mean } = mine.find((s) => s.metric === metric)!;
    const flatNote = flat.has(metric) ? `, all = ${Number(mean.toPrecision(3))}: not drawn` : "";
    return { metric, label: `${label} (${direction} better${flatNote})`, angle: angle(metric) };
  });
  const xy = (r: string) => ({
    x: { signal: `scale('radial', ${r}) * cos(datum.angle)` },
    y: { signal: `scale('radial', ${r}) * sin(datum.angle)` },
  });
  return {
    kind: "vega",
    spec: {
      $schema: "https://vega.github.io/schema/vega/v6.json",
      width: 2 * RADIUS_PX,
      height: 2 * RADIUS_PX,
      padding: { left: 150, right: 20, top: 40, bottom: 40 },
      autosize: { type: "pad" },
      config: {
        text: { font: CHART_FONT_FAMILY },
        title: { ...CHART_CONFIG.title, font: CHART_FONT_FAMILY, anchor: "middle" },
        legend: {
          ...CHART_CONFIG.legend,
          labelFont: CHART_FONT_FAMILY,
          titleFont: CHART_FONT_FAMILY,
        },
      },
      title: {
        text: `Quantus radar: ${model}`,
        subtitle: [
          "outward = better (centre = worst, rim = best, rings every 0.25);",
          ...ORIENTED_SCALE_NOTE,
        ],
        offset: 40,
      },
      signals: [{ name: "radius", value: RADIUS_PX }],
      data: [
        { name: "scores", values },
        { name: "spokes", values: spokes },
        { name: "rings", values: [0.25, 0.5, 0.75, 1].map((r) => ({ r })) },
      ],
      scales: [
        { name: "radial", type: "linear", domain: [0, 1], range: [0, RADIUS_PX], zero: true },
        { name: "color", type: "ordinal", ...methodColourScale(mine.map((s) => s.method)) },
      ],
      legends: [{ fill: "color", stroke: "color", title: "method", orient: "right" }],
      marks: [{
        type: "group",
        encode: { enter: { x: { signal: "radius" }, y: { signal: "radius" } } },
        marks: [
          {
            type: "symbol",
            name: "ring-marks",
            from: { data: "rings" },
            encode: {
              enter: {
                x: { value: 0 },
                y: { value: 0 },
                shape: { value: "circle" },
                size: { signal: "pow(2 * scale('radial', datum.r), 2)" },
                stroke: { value: "#ddd" },
                fill: { value: "transparent" },
              },
            },
          },
          {
            type: "rule",
            name: "spoke-marks",
            from: { data: "spokes" },
            encode: {
              enter: {
                x: { value: 0 },
                y: { value: 0 },
                x2: xy("1").x,
                y2: xy("1").y,
                stroke: { value: "#ccc" },
              },
            },
          },
          {
            type: "text",
            name: "spoke-labels",
            from: { data: "spokes" },
            encode: {
              enter: {
                x: { signal: "(radius + 8) * cos(datum.angle)" },
                y: { signal: "(radius + 8) * sin(datum.angle)" },
                text: { field: "label" },
                fontSize: { value: 11 },
                align: {
                  signal: "abs(cos(datum.angle)) < 0.2 ? 'center' : " +
                    "cos(datum.angle) > 0 ? 'left' : 'right'",
                },
                baseline: {
                  signal: "sin(datum.angle) > 0.3 ? 'top' : " +
                    "sin(datum.angle) < -0.3 ? 'bottom' : 'middle'",
                },
              },
            },
          },
          {
            type: "group",
            name: "methods",
            from: { facet: { data: "scores", name: "method_scores", groupby: ["method"] } },
            marks: [
              {
                type: "line",
                name: "polygon",
                from: { data: "method_scores" },
                sort: { field: "datum.angle" },
                encode: {
                  enter: {
                    ...xy("datum.score"),
                    interpolate: { value: "linear-closed" },
                    stroke: { scale: "color", field: "method" },
                    strokeWidth: { value: 2 },
                    fill: { scale: "color", field: "method" },
                    fillOpacity: { value: 0.12 },
                  },
                },
              },
              {
                type: "symbol",
                name: "points",
                from: { data: "method_scores" },
                encode: {
                  enter: {
                    ...xy("datum.score"),
                    size: { value: 40 },
                    fill: { scale: "color", field: "method" },
                    tooltip: {
                      signal: "{method: datum.method, metric: datum.label, " +
                        "'mean (raw)': format(datum.mean, '.4f'), " +
                        "'better when': datum.direction, 'scaled score': format(datum.score, '.2f')}",
                    },
                  },
                },
              },
            ],
          },
        ],
      }],
    },
  };
}
