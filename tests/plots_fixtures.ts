/**
 * A small outputs folder as train, eval, xai and quantus write it, for the chart and dashboard
 * tests: two models, two methods, six Quantus metrics (one per category), four test images.
 * Values are made up but deterministic and distinct, so charts have something to show.
 *
 * @module
 */
import { join } from "node:path";
import { png, stringifyCsv } from "../deps.ts";
import { historyCsv } from "../training/history.ts";
import { MODEL_PERFORMANCE_COLUMNS } from "../evaluation/model_performance.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { XAI_INDEX_COLUMNS } from "../runs/xai_merge.ts";
import { writeImageFolder } from "./fixtures.ts";
import { COLOUR_SCALE_PNG_KEYWORD, colourScaleText } from "../xai/colour_scale.ts";

/** The fixture's models, methods and classes. */
export const FIXTURE = {
  models: ["ecgnet", "resnet18"],
  methods: ["gradcam", "integrated_gradients"],
  classes: ["A", "B"],
  /** metric id, Quantus label, category, direction. */
  metrics: [
    ["faithfulness_correlation", "FaithfulnessCorrelation", "faithfulness", "higher"],
    ["max_sensitivity", "MaxSensitivity", "robustness", "lower"],
    ["pointing_game", "PointingGame", "localisation", "higher"],
    ["sparseness", "Sparseness", "complexity", "higher"],
    ["model_parameter_randomisation", "ModelParameterRandomisation", "randomisation", "lower"],
    ["completeness", "Completeness", "axiomatic", "higher"],
  ],
} as const;

/** Test images of the fixture: two per class (sample ids as the data set names them). */
export const FIXTURE_TEST_IDS = ["test/A/A(1)", "test/A/A(2)", "test/B/B(1)", "test/B/B(2)"];

function solidPng(
  rgb: [number, number, number],
  widthPx = 24,
  heightPx = 16,
  text?: Record<string, string>,
): Uint8Array {
  const data = new Uint8Array(widthPx * heightPx * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return png.encode({ width: widthPx, height: heightPx, data, channels: 3, depth: 8, text });
}

/** The colour scale the xai stage records in a picture: signed for the second method. */
function fixtureScaleText(methodIndex: number): Record<string, string> {
  const scale = methodIndex === 1
    ? { colormap: "RdBu_r" as const, low: -0.25, high: 0.25 }
    : { colormap: "Reds" as const, low: 0, high: 0.5 };
  return { [COLOUR_SCALE_PNG_KEYWORD]: colourScaleText(scale) };
}

async function write(path: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
}

/** Which parts of the outputs to write. */
export interface FixtureParts {
  train?: boolean;
  eval?: boolean;
  xai?: boolean;
  quantus?: boolean;
  data?: boolean;
}

/**
 * Writes the fixture's outputs under `out` (and its data set under `data`), only the `parts`
 * asked for (all by default).
 *
 * @example
 * ```ts ignore
 * await writePlotsFixture("outputs/tmp/x/out", "outputs/tmp/x/ds");
 * ```
 */
export async function writePlotsFixture(
  out: string,
  data: string,
  parts: FixtureParts = { train: true, eval: true, xai: true, quantus: true, data: true },
): Promise<void> {
  const { models, methods, classes, metrics } = FIXTURE;
  if (parts.data) await writeImageFolder(data, { train: 3, val: 1, test: 2 }, classes);
  const performanceRows: string[][] = [];
  for (const [m, model] of models.entries()) {
    const dir = join(out, "metrics", model);
    if (parts.train) {
      const history = [1, 2, 3].map((epoch) => ({
        epoch,
        trainLoss: 1.4 / epoch + m * 0.1,
        valLoss: 1.5 / epoch + m * 0.2,
        trainAccuracy: 0.5 + 0.1 * epoch,
        valAccuracy: 0.45 + 0.1 * epoch - m * 0.05,
        seconds: 2,
      }));
      await write(join(dir, "history.csv"), historyCsv(history));
    }
    if (parts.eval) {
      await write(
        join(dir, "confusion_matrix.csv"),
        `true\\pred,A,B\nA,${2 - m},${m}\nB,0,2\n`,
      );
      const predictions = FIXTURE_TEST_IDS.map((id, i) => {
        const trueClass = id.split("/")[1];
        const pred = m === 1 && i === 1 ? "B" : trueClass;
        const p = 0.55 + 0.1 * i;
        return [
          `${data}/${id}.png`,
          trueClass,
          pred,
          ...(pred === "A" ? [p, 1 - p] : [1 - p, p])
            .map((x) => x.toFixed(6)),
        ];
      });
      await write(
        join(dir, "predictions.csv"),
        stringifyCsv([["file", "true", "pred", "prob_A", "prob_B"], ...predictions]),
      );
      performanceRows.push([
        model,
        ...[1 - 0.25 * m, 0.9 - 0.2 * m, 0.9 - 0.2 * m, 0.3, 0.5, 0.8, 0.75, 0.75].map((x) =>
          x.toFixed(6)
        ),
        "3",
      ]);
    }
    for (const [k, method] of methods.entries()) {
      if (parts.xai) {
        const xaiDir = join(out, "explanations", model, method);
        const rows = FIXTURE_TEST_IDS.map((id) => {
          const cls = id.split("/")[1];
          return [id, `${data}/${id}.png`, cls, cls, "0.800000", cls];
        });
        await write(join(xaiDir, "index.csv"), stringifyCsv([[...XAI_INDEX_COLUMNS], ...rows]));
        for (const id of FIXTURE_TEST_IDS) {
          const shade: [number, number, number] = [200 - 80 * m, 60 + 120 * k, 90];
          const text = fixtureScaleText(k);
          await write(join(xaiDir, "overlay", `${id}.png`), solidPng(shade, 24, 16, text));
          await write(join(xaiDir, "heatmap", `${id}.png`), solidPng(shade, 24, 16, text));
        }
      }
      if (parts.quantus) {
        const rows = FIXTURE_TEST_IDS.map((id, i) => [
          id,
          `${data}/${id}.png`,
          id.split("/")[1],
          id.split("/")[1],
          ...metrics.map((
            _,
            j,
          ) => (i === 3 && j === 5
            ? "nan"
            : (0.1 * (j + 1) + 0.05 * i + 0.1 * k - 0.05 * m).toFixed(4))
          ),
          i === 3 ? "completeness: constant map" : "",
        ]);
        await write(
          join(out, "metrics", `quantus_${model}_${method}.csv`),
          stringifyCsv([
            [
              "id",
              "file",
              "true_class",
              "target_class",
              ...metrics.map((x) => x[0]),
              "nan_reasons",
            ],
            ...rows,
          ]),
        );
      }
    }
  }
  if (parts.eval) {
    await write(
      join(out, "results", "model_performance.csv"),
      stringifyCsv([[...MODEL_PERFORMANCE_COLUMNS], ...performanceRows]),
    );
  }
  if (parts.quantus) {
    const summary = models.flatMap((model, m) =>
      methods.flatMap((method, k) =>
        metrics.map(([metric, label, category, direction], j) => {
          const mean = 0.1 * (j + 1) + 0.075 + 0.1 * k - 0.05 * m;
          return [
            model,
            method,
            metric,
            label,
            category,
            direction,
            "4",
            mean.toFixed(4),
            "0.05",
            (mean - 0.04).toFixed(4),
            (mean + 0.04).toFixed(4),
            j === 5 ? "1" : "0",
          ];
        })
      )
    );
    await write(
      join(out, "results", "quantus_summary.csv"),
      stringifyCsv([[...QUANTUS_SUMMARY_COLUMNS], ...summary]),
    );
  }
}
