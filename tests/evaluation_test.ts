import { assert, assertEquals, assertRejects } from "./assert.ts";
import { png } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import {
  classificationReport,
  formatClassificationReport,
  formatFixedLikePython,
} from "../evaluation/classification_metrics.ts";
import { confusionMatrix } from "../evaluation/confusion_matrix.ts";
import { confusionMatrixPng } from "../plots/charts/confusion_matrix.ts";
import { MODEL_PERFORMANCE_COLUMNS } from "../evaluation/model_performance.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { evalSpec, evaluate } from "../stages/eval.ts";
import { train, trainSpec } from "../stages/train.ts";
import { main } from "../mod.ts";
import { testDir } from "./test_dirs.ts";
import { tinyCnn, writeTinySyntheticSet } from "./training_fixtures.ts";

Deno.test("classification report: the scikit-learn documentation example, byte for byte", () => {
  // sklearn.metrics.classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1],
  //   target_names=["class 0", "class 1", "class 2"]) as printed in its documentation.
  const expected = [
    "              precision    recall  f1-score   support",
    "",
    "     class 0       0.50      1.00      0.67         1",
    "     class 1       0.00      0.00      0.00         1",
    "     class 2       1.00      0.67      0.80         3",
    "",
    "    accuracy                           0.60         5",
    "   macro avg       0.50      0.56      0.49         5",
    "weighted avg       0.70      0.60      0.61         5",
    "",
  ].join("\n");
  const report = classificationReport([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], [
    "class 0",
    "class 1",
    "class 2",
  ]);
  assertEquals(formatClassificationReport(report), expected);
});

Deno.test("classification metrics: hand-computed values, long names, ties rounded to even", async () => {
  // 8 samples over 3 classes; tp = [2, 1, 1], fp = [1, 2, 1], fn = [2, 1, 1].
  const actual = [0, 0, 0, 0, 1, 1, 2, 2];
  const predicted = [0, 0, 1, 2, 1, 0, 2, 1];
  const r = classificationReport(actual, predicted, ["Abnormal", "HistoryMI", "MI"]);
  assertEquals(r.perClass.map((s) => s.precision), [2 / 3, 1 / 3, 1 / 2]);
  assertEquals(r.perClass.map((s) => s.recall), [1 / 2, 1 / 2, 1 / 2]);
  assertEquals(r.perClass.map((s) => s.f1), [4 / 7, 2 / 5, 1 / 2]);
  assertEquals(r.accuracy, 0.5);
  assertEquals(r.macro.f1, (4 / 7 + 2 / 5 + 1 / 2) / 3);
  assertEquals(r.weighted.f1, (4 * (4 / 7) + 2 * (2 / 5) + 2 * (1 / 2)) / 8);
  assertEquals(formatFixedLikePython(0.125, 2), "0.12");
  assertEquals(formatFixedLikePython(0.875, 2), "0.88");
  assertEquals(formatFixedLikePython(0.5, 0), "0");
  assertEquals(formatFixedLikePython(1, 2), "1.00");
  assertEquals(confusionMatrix(actual, predicted, 3), [[2, 1, 1], [1, 1, 0], [0, 1, 1]]);
  const image = png.decode(
    await confusionMatrixPng(confusionMatrix(actual, predicted, 3), r.classes),
  );
  assert(image.width > 300 && image.height > 300 && image.channels === 4);
});

function stageArgs(dir: string, extra: string[] = []): string[] {
  return ["--data", `${dir}/ds`, "--out", `${dir}/out`, "--backend", "cpu", ...extra];
}

Deno.test("eval: reports, confusion matrix, predictions and the model table", async () => {
  await using dir = await testDir();
  await writeTinySyntheticSet(`${dir.path}/ds`);
  const missing = await main(["eval", ...stageArgs(dir.path, ["--models", "tiny"])]);
  assertEquals(missing, 1);
  const args = await parseStageArgs(
    trainSpec,
    stageArgs(dir.path, ["--models", "tiny", "--img-size", "32", "--epochs", "2"]),
  );
  await train(args!, { buildModel: tinyCnn });
  const evalArgs = await parseStageArgs(evalSpec, stageArgs(dir.path, ["--models", "tiny"]));
  const reports = await evaluate(evalArgs!, { buildModel: tinyCnn });
  assertEquals(reports.get("tiny")!.macro.support, 4);
  const metrics = `${dir.path}/out/metrics/tiny`;
  const report = await Deno.readTextFile(`${metrics}/classification_report.txt`);
  assert(report.includes("   HistoryMI ") && report.includes("weighted avg"), report);
  const matrix = await Deno.readTextFile(`${metrics}/confusion_matrix.csv`);
  assertEquals(matrix.split("\n")[0], "true\\pred,Abnormal,HistoryMI,MI,Normal");
  const predictions = (await Deno.readTextFile(`${metrics}/predictions.csv`)).trim().split("\n");
  assertEquals(predictions[0], "file,true,pred,prob_Abnormal,prob_HistoryMI,prob_MI,prob_Normal");
  assertEquals(predictions.length, 5);
  const probabilities = predictions[1].split(",").slice(3).map(Number);
  assert(Math.abs(probabilities.reduce((a, b) => a + b) - 1) < 1e-5, predictions[1]);
  assert((await Deno.stat(`${metrics}/confusion_matrix.png`)).size > 500);
  const table = (await Deno.readTextFile(`${dir.path}/out/results/model_performance.csv`))
    .trim().split("\n");
  assertEquals(table[0], MODEL_PERFORMANCE_COLUMNS.join(","));
  assert(table[1].startsWith("tiny,"), table[1]);
  await assertRejects(
    () => evaluate({ ...evalArgs!, config: { ...evalArgs!.config, models: ["resnet18"] } }),
    InputError,
    "run deno task train --models resnet18 first",
  );
});
