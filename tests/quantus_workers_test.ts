/**
 * The quantus stage's worker pool: the same bytes from 1 and 2 workers, bad `--workers` values,
 * and a worker's errors reaching the caller.
 */
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { WorkerPool } from "../core/worker_pool.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { parseWorkers } from "../runs/workers_flag.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { runMain as run } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeUntrainedCheckpoint } from "./training_fixtures.ts";

Deno.test("quantus --workers: a positive integer, two by default on two cores", () => {
  assertEquals(parseWorkers("1"), 1);
  assertEquals(parseWorkers(undefined), Math.min(2, navigator.hardwareConcurrency));
  for (const bad of ["0", "-1", "1.5", "two", ""]) {
    let message = "";
    try {
      parseWorkers(bad);
    } catch (e) {
      assert(e instanceof InputError);
      message = e.message;
    }
    assert(message.includes("--workers"), bad);
  }
});

Deno.test("worker pool: results by index, a worker's InputError rethrown as one", async () => {
  const pool = new WorkerPool<number, number>(
    new URL("./square_worker.ts", import.meta.url),
    2,
  );
  try {
    const out: number[] = [];
    await pool.map(5, (i) => i, (i, r) => {
      out[i] = r;
    });
    assertEquals(out, [0, 1, 4, 9, 16]);
    const error = await assertRejects(() => pool.map(3, (i) => i - 1, () => {}), InputError);
    assert(error.message.includes("-1"), error.message);
  } finally {
    pool.close();
  }
});

Deno.test("quantus stage: 1 worker and 2 workers write the same bytes", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  // 3 test images per class: 12 images, two batches of 8 and 4.
  await writeSyntheticDataset({ outDir: data, perClass: 20, seed: 3, widthPx: 320 });
  const common = ["--backend", "cpu", "--out", out, "--data", data];
  // An untrained checkpoint is enough: training would only slow the test. At 64 px Grad-CAM's
  // maps are not constant.
  await writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best, 64);
  const metrics = "faithfulness_correlation,max_sensitivity,mprt,sparseness,pointing_game";
  const params = JSON.stringify({
    faithfulness_correlation: { nrRuns: 4, subsetSize: 16 },
    max_sensitivity: { nrSamples: 2 },
  });
  const args = ["quantus", ...common, "--methods", "gradcam,saliency", "--metrics", metrics];
  const files = ["gradcam", "saliency"].map((m) => `${out}/metrics/quantus_ecgnet_${m}.csv`);
  const outputs: string[][] = [];
  for (const workers of ["1", "2"]) {
    const result = await run([...args, "--params", params, "--workers", workers]);
    assertEquals(result.code, 0, result.err);
    outputs.push(
      await Promise.all(
        [...files, `${out}/results/quantus_summary.csv`].map((f) => Deno.readTextFile(f)),
      ),
    );
  }
  for (const file of outputs[0].slice(0, 2)) {
    const lines = file.trim().split("\n");
    assertEquals(lines.length, 1 + 12);
    // Real numbers in every metric column but the localisation one, so equal files mean equal
    // scores rather than equal NaNs.
    const rows: string[][] = parseCsv(file);
    for (const column of [4, 5, 6, 7]) {
      assert(
        rows.slice(1).some((row) => /\d\.\d/.test(row[column])),
        `${rows[0][column]}\n${file}`,
      );
    }
  }
  assertEquals(outputs[1], outputs[0]);
});
