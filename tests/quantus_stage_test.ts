import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { runMain as run } from "./stage_runner.ts";
import { getMetric } from "../metrics/registry.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { metricParams, parseMetrics } from "../stages/quantus.ts";
import { parseQuantusFileName } from "../runs/quantus_outputs.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet } from "./training_fixtures.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

Deno.test("quantus flags: metric names, parameters and their errors", () => {
  assertEquals(parseMetrics(undefined, false).map((m) => m.name), [
    "faithfulness_correlation",
    "max_sensitivity",
    "mprt",
  ]);
  assertEquals(parseMetrics("MPRT, mprt", false).map((m) => m.name), ["mprt"]);
  assert(message(() => parseMetrics("nope", false)).includes("max_sensitivity"));
  const metric = getMetric("max_sensitivity");
  assert(message(() => metricParams([metric], "{", false)).includes("not JSON"));
  assert(
    message(() => metricParams([metric], '{"max_sensitivity": {"samples": 3}}', false))
      .includes("nrSamples"),
  );
  assert(
    message(() => metricParams([metric], '{"max_sensitivity": {"nrSamples": "3"}}', false))
      .includes("must be a number"),
  );
  assert(message(() => metricParams([metric], '{"mprt": {}}', false)).includes("not among"));
  const params = metricParams([metric], '{"MaxSensitivity": {"nrSamples": 2}}', true).get(metric);
  assertEquals({ ...params, nrSamples: 2, quantusCompat: true }, params);
  assertEquals(parseQuantusFileName("quantus_resnet18_gradcam_plus_plus.csv"), {
    model: "resnet18",
    method: "gradcam_plus_plus",
  });
  assertEquals(parseQuantusFileName("history.csv"), undefined);
});

Deno.test("quantus stage: per-image rows, a summary, the same bytes on a rerun", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  const common = ["--backend", "cpu", "--out", out, "--data", data];
  const trained = await run(["train", ...common, "--img-size", "32", "--epochs", "1"]);
  assertEquals(trained.code, 0, trained.err);

  const missing = await run(["quantus", ...common, "--models", "resnet18"]);
  assertEquals(missing.code, 1);
  assert(missing.err.includes("deno task train --models resnet18"), missing.err);

  const metrics = ["faithfulness_correlation", "max_sensitivity", "mprt"];
  const params = JSON.stringify({
    faithfulness_correlation: { nrRuns: 4, subsetSize: 16 },
    max_sensitivity: { nrSamples: 2 },
  });
  const args = [
    "quantus",
    ...common,
    ...["--methods", "gradcam,saliency", "--metrics", metrics.join(","), "--params", params],
  ];
  const first = await run(args);
  assertEquals(first.code, 0, first.err);
  const files = ["gradcam", "saliency"].map((m) => `${out}/metrics/quantus_ecgnet_${m}.csv`);
  const rows: string[][] = parseCsv(await Deno.readTextFile(files[0]));
  assertEquals(rows[0], ["id", "file", "true_class", "target_class", ...metrics, "nan_reasons"]);
  assertEquals(rows.length, 1 + 4, "one test image per class");
  for (const row of rows.slice(1)) {
    assert(row[0].startsWith(`test/${row[2]}/`), row[0]);
    for (const [k] of metrics.entries()) {
      const value = row[4 + k];
      assert(
        value === "NaN" ? row[7].includes(metrics[k]) : Number.isFinite(Number(value)),
        row.join(),
      );
    }
  }
  const summary: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/results/quantus_summary.csv`),
  );
  assertEquals(summary[0], [...QUANTUS_SUMMARY_COLUMNS]);
  assertEquals(summary.length, 1 + 2 * metrics.length);
  const mprt = summary.find((r) => r[1] === "gradcam" && r[2] === "mprt")!;
  assertEquals(mprt.slice(3, 6), ["MPRT", "randomisation", "lower"]);
  const [n, mean, , low, high] = mprt.slice(6).map(Number);
  assert(n + Number(mprt[11]) === 4 && (n < 2 || (low <= mean && mean <= high)), mprt.join());

  const before = await Promise.all(files.map((f) => Deno.readTextFile(f)));
  const second = await run(args);
  assertEquals(second.code, 0, second.err);
  assertEquals(await Promise.all(files.map((f) => Deno.readTextFile(f))), before);
});
