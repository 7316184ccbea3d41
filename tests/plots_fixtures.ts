/**
 * A small outputs folder as train, eval, xai and quantus write it, for the chart and dashboard
 * tests: two models, two methods, six Quantus metrics (one per category), four test images.
 * The heatmaps and overlays are solid pictures with the xai stage's colour bar below.
 * Values are made up but deterministic and distinct, so charts have something to show.
 *
 * @module
 */
import { join } from "node:path";
import { stringifyCsv } from "../deps.ts";
import { historyCsv } from "../training/history.ts";
import { MODEL_PERFORMANCE_COLUMNS } from "../evaluation/model_performance.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { XAI_INDEX_COLUMNS } from "../runs/xai_merge.ts";
import { writeImageFolder } from "./fixtures.ts";
import { encodeRgbaPng } from "../data/png_file.ts";
import { filledImage } from "../data/synth/raster.ts";
import { captionPictures } from "../xai/captioned_picture.ts";
import type { ColourScale } from "../xai/colour_scale.ts";

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

/**
 * Size of the fixture's heatmap and overlay pictures, above the colour bar the xai stage
 * appends (so the files are taller): wide enough that the strip's text is laid out as in a run.
 */
export const FIXTURE_PICTURE_PX = { widthPx: 120, heightPx: 80 } as const;

/**
 * The solid colour of model `modelIndex`'s and method `methodIndex`'s heatmap and overlay
 * pictures (distinct per pair, so a test can tell which one a page or figure shows).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fixtureShade } from "./plots_fixtures.ts";
 * assert.deepStrictEqual(fixtureShade(1, 1), [120, 180, 90]);
 * ```
 */
export function fixtureShade(modelIndex: number, methodIndex: number): [number, number, number] {
  return [200 - 80 * modelIndex, 60 + 120 * methodIndex, 90];
}

/** The colour scale the xai stage records in a picture: signed for the second method. */
function fixtureScale(methodIndex: number): ColourScale {
  return methodIndex === 1
    ? { colormap: "RdBu_r", low: -0.25, high: 0.25 }
    : { colormap: "Reds", low: 0, high: 0.5 };
}

/**
 * One model's and method's heatmap and overlay PNGs as the xai stage writes them: a solid
 * picture with the colour bar of its scale below, the scale and the picture's height recorded.
 */
async function explanationPngs(
  shade: [number, number, number],
  methodIndex: number,
): Promise<{ heatmap: Uint8Array; overlay: Uint8Array }> {
  const picture = filledImage(FIXTURE_PICTURE_PX.widthPx, FIXTURE_PICTURE_PX.heightPx, shade);
  const { heatmap, overlay, text } = await captionPictures(
    picture,
    picture,
    fixtureScale(methodIndex),
  );
  return { heatmap: encodeRgbaPng(heatmap, text), overlay: encodeRgbaPng(overlay, text) };
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
        const pngs = await explanationPngs(fixtureShade(m, k), k);
        for (const id of FIXTURE_TEST_IDS) {
          await write(join(xaiDir, "overlay", `${id}.png`), pngs.overlay);
          await write(join(xaiDir, "heatmap", `${id}.png`), pngs.heatmap);
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
