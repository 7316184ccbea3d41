/**
 * A model's confusion matrix as a heatmap, from `metrics/<model>/confusion_matrix.csv`; the
 * one style of confusion matrix, also drawn by `eval` as `metrics/<model>/confusion_matrix.png`.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import { parseCsv } from "../../deps.ts";
import { type ChartSpec, renderChart } from "../render.ts";
import { CHART_CONFIG, chartTitle } from "./theme.ts";

/** A confusion matrix: rows are true classes, columns predicted ones. */
export interface ConfusionTable {
  classes: string[];
  counts: number[][];
}

/**
 * Parses the CSV eval writes (`true\pred,<classes>` then one row per true class).
 *
 * @throws {InputError} for a table that is not square or holds a non-count.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseConfusionCsv } from "./confusion_matrix.ts";
 * const t = parseConfusionCsv("true\\pred,a,b\na,1,0\nb,2,3\n", "cm.csv");
 * assert(t.counts[1][0] === 2 && t.classes.join() === "a,b");
 * ```
 */
export function parseConfusionCsv(text: string, source: string): ConfusionTable {
  const [header, ...rows] = parseCsv(text, { skip_empty_lines: true }) as string[][];
  const classes = (header ?? []).slice(1);
  if (classes.length === 0 || rows.length !== classes.length) {
    throw new InputError(
      `${source}: expected a header of ${"true\\pred"} and the classes, then one row per class; ` +
        "rerun deno task eval",
    );
  }
  const counts = rows.map((row, r) =>
    row.slice(1).map((cell, c) => {
      const n = Number(cell);
      if (!Number.isInteger(n) || n < 0) {
        throw new InputError(
          `${source}: row ${r + 2}, column ${classes[c]}: "${cell}" is no count`,
        );
      }
      return n;
    })
  );
  return { classes, counts };
}

/**
 * The heatmap: cells shaded by count, counts written in, tooltips with the row share.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrixChart } from "./confusion_matrix.ts";
 * const chart = confusionMatrixChart("m", { classes: ["a", "b"], counts: [[3, 1], [0, 4]] });
 * assert(chart.kind === "vega-lite" && JSON.stringify(chart.spec).includes('"rect"'));
 * ```
 */
export function confusionMatrixChart(model: string, table: ConfusionTable): ChartSpec {
  const values = table.counts.flatMap((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, c) => ({
      true: table.classes[r],
      predicted: table.classes[c],
      count,
      share: total === 0 ? 0 : count / total,
    }));
  });
  const max = Math.max(1, ...values.map((v) => v.count));
  const x = {
    field: "predicted",
    type: "nominal" as const,
    sort: table.classes,
    title: "predicted class",
  };
  const y = { field: "true", type: "nominal" as const, sort: table.classes, title: "true class" };
  return {
    kind: "vega-lite",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(
        model === "" ? "Confusion matrix" : `Confusion matrix: ${model}`,
        "test split; rows true, columns predicted",
      ),
      config: CHART_CONFIG,
      data: { values },
      width: 60 * table.classes.length + 60,
      height: 60 * table.classes.length + 60,
      encoding: { x: { ...x, axis: { labelAngle: -30 } }, y },
      layer: [
        {
          mark: "rect",
          encoding: {
            color: { field: "count", type: "quantitative", scale: { scheme: "blues" } },
            tooltip: [
              { field: "true" },
              { field: "predicted" },
              { field: "count" },
              { field: "share", format: ".1%", title: "share of the true class" },
            ],
          },
        },
        {
          mark: { type: "text", fontSize: 14 },
          encoding: {
            text: { field: "count", type: "quantitative" },
            color: {
              condition: { test: `datum.count > ${max / 2}`, value: "white" },
              value: "black",
            },
          },
        },
      ],
    },
  };
}

/**
 * The chart as PNG bytes (resvg, DejaVu Sans, 2x), as `eval` writes it beside the CSV.
 *
 * @param counts `[true][predicted]`, as `evaluation/confusion_matrix.ts` counts them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrixPng } from "./confusion_matrix.ts";
 * const bytes = await confusionMatrixPng([[3, 1], [0, 4]], ["A", "Größe"], "m");
 * assert(bytes[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export async function confusionMatrixPng(
  counts: readonly number[][],
  classes: readonly string[],
  model = "",
): Promise<Uint8Array> {
  const table = { classes: [...classes], counts: counts.map((row) => [...row]) };
  return (await renderChart(confusionMatrixChart(model, table))).png;
}
