/**
 * `deno task eval`: score each trained model's best checkpoint on the test split.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import {
  type ClassificationReport,
  classificationReport,
  formatClassificationReport,
} from "../evaluation/classification_metrics.ts";
import { confusionMatrix, confusionMatrixCsv } from "../evaluation/confusion_matrix.ts";
import { confusionMatrixPng } from "../plots/charts/confusion_matrix.ts";
import { argmaxRows, predictLogits } from "../models/inference.ts";
import { modelPerformanceCsv, modelPerformanceRow } from "../evaluation/model_performance.ts";
import { predictionsCsv } from "../evaluation/predictions.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";
import { parseHistoryCsv } from "../training/history.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadStageData } from "../data/load_data.ts";
import {
  loadCheckpointModel,
  type ModelBuilder,
  requireBestCheckpoints,
} from "../runs/model_source.ts";
import {
  checkpointFingerprint,
  outputPath,
  projectVersion,
  writeProvenance,
} from "../runs/provenance.ts";
import { stageData } from "../runs/stage_data.ts";

/** The files `eval` writes per model under `<out>/metrics/<model>/`. */
export const EVAL_FILES: readonly string[] = [
  "classification_report.txt",
  "confusion_matrix.csv",
  "confusion_matrix.png",
  "predictions.csv",
];

/** Command-line description of `eval`. */
export const evalSpec: StageSpec = {
  name: "eval",
  summary: "Score each model's best checkpoint on the test split; reports, confusion matrices.",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "seed",
    "config",
    "backend",
    "convolutions",
    "on-bad-image",
  ],
  details: "Writes <out>/metrics/<model>/{classification_report.txt, confusion_matrix.csv, " +
    "confusion_matrix.png, predictions.csv} and <out>/results/model_performance.csv.\n" +
    "Images are resized to the size each checkpoint was trained at. Without --data, each " +
    "model is scored on the data set it was trained on (its meta.json); with another, a line " +
    "says so. <out>/provenance/eval/<model>.json records the data, checkpoint and settings.\n" +
    "Example: deno task eval --models ecgnet,resnet18",
};

/**
 * Runs `eval` with parsed arguments; returns each model's test report.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { evaluate, evalSpec } from "./eval.ts";
 * const reports = await evaluate((await parseStageArgs(evalSpec, ["--models", "ecgnet"]))!);
 * ```
 */
export async function evaluate(
  { config, defaulted }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<Map<string, ClassificationReport>> {
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  const backend = await startBackend(config.backend, {
    openBlas: config.convolutions === "openblas",
  });
  console.log(describeBackend(backend));
  const version = await projectVersion();
  const reports = new Map<string, ClassificationReport>();
  const rows: string[][] = [];
  for (const { name, paths } of checkpoints) {
    const { model, meta } = await loadCheckpointModel(paths.best, hooks.buildModel);
    try {
      const data = await stageData({
        stage: "eval",
        model: name,
        meta,
        given: defaulted?.includes("data") ? undefined : config.data,
        fallback: config.data,
      });
      const { loaded } = await loadStageData(
        { ...config, data: data.root, imgSizePx: meta.imgSizePx, classes: meta.classes },
        ["test"],
        "eval",
      );
      const indices = loaded.samples.map((_, i) => i);
      const progress = new Progress(`${name} test`, indices.length);
      let reported = 0;
      const logits = await predictLogits(model, loaded, indices, config.batchSize, (done) => {
        progress.tick(done - reported);
        reported = done;
      });
      progress.done();
      const k = meta.classes.length;
      const actual = loaded.samples.map((s) => s.label);
      const predicted = argmaxRows(logits, k);
      const { probabilities } = softmaxCrossEntropyRows(logits, actual, k);
      const report = classificationReport(actual, predicted, meta.classes);
      const matrix = confusionMatrix(actual, predicted, k);
      await writeFileAtomic(
        join(paths.metrics, "classification_report.txt"),
        formatClassificationReport(report),
      );
      await writeFileAtomic(
        join(paths.metrics, "confusion_matrix.csv"),
        confusionMatrixCsv(matrix, meta.classes),
      );
      await writeFileAtomic(
        join(paths.metrics, "confusion_matrix.png"),
        await confusionMatrixPng(matrix, meta.classes, name),
      );
      await writeFileAtomic(
        join(paths.metrics, "predictions.csv"),
        predictionsCsv(
          {
            files: loaded.samples.map((s) => s.file),
            actual,
            predicted,
            probabilitiesNC: probabilities,
          },
          meta.classes,
        ),
      );
      const historyFile = join(paths.metrics, "history.csv");
      // Imported weights were not trained here: their row has no training columns.
      const history = meta.imported ? [] : parseHistoryCsv(
        await Deno.readTextFile(historyFile).catch(() => {
          throw new InputError(
            `${historyFile}: missing; run deno task train --models ${name} first`,
          );
        }),
        historyFile,
      );
      rows.push(modelPerformanceRow(name, report, history));
      await writeProvenance(config.out, {
        stage: "eval",
        model: name,
        outputs: EVAL_FILES.map((file) => outputPath(config.out, join(paths.metrics, file))),
        checkpoint: { fingerprint: await checkpointFingerprint(paths.best), epoch: meta.epoch },
        data: data.identity,
        ...(data.trainedOn ? { trainedOn: data.trainedOn } : {}),
        settings: {
          "--limit": config.limit ?? null,
          "--batch-size": config.batchSize,
          "--on-bad-image": config.onBadImage,
          "--backend": backend.name,
        },
        version,
      });
      const origin = meta.imported ? `imported from ${meta.imported.file}` : `epoch ${meta.epoch}`;
      console.log(
        `${name} (${origin}): test accuracy ${report.accuracy.toFixed(4)}, macro F1 ` +
          `${report.macro.f1.toFixed(4)} on ${actual.length} images -> ${paths.metrics}`,
      );
      reports.set(name, report);
    } finally {
      model.dispose();
    }
  }
  const table = join(config.out, "results", "model_performance.csv");
  const existing = await Deno.readTextFile(table).catch(() => undefined);
  await writeFileAtomic(table, modelPerformanceCsv(rows, existing));
  console.log(`model comparison -> ${table}`);
  return reports;
}

if (import.meta.main) {
  Deno.exit(await runStage(evalSpec, Deno.args, async (args) => void (await evaluate(args))));
}
