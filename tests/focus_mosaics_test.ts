import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { startBackend } from "../backends/backend.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { chunkMosaics, mosaicPlanner } from "../metrics/functions/mosaics.ts";
import { getMetric } from "../metrics/registry.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { buildModel } from "../models/registry.ts";
import { scoreQuantusBatch } from "../runs/quantus_batch.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { runMain as run } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeUntrainedCheckpoint } from "./training_fixtures.ts";

Deno.test("mosaic plans: two target tiles (the image and another of its class), two of other classes, seeded places", () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 3];
  const plan = mosaicPlanner(labels);
  const places = new Set<string>();
  // Image 8 is the only one of class 3.
  for (const [i, label] of labels.slice(0, 8).entries()) {
    const random = new SeededRandom(11).fork(`image ${i}`);
    const mosaic = plan(i, random);
    assert("tiles" in mosaic, `image ${i}`);
    assertEquals(mosaic.targetClass, label);
    assert(mosaic.tiles.includes(i));
    assertEquals(new Set(mosaic.tiles).size, 4, "four distinct images");
    assertEquals(mosaic.quadrants, mosaic.tiles.map((t) => (labels[t] === label ? 1 : 0)));
    assertEquals(mosaic.quadrants.reduce((a, b) => a + b), 2);
    assertEquals(plan(i, new SeededRandom(11).fork(`image ${i}`)), mosaic, "deterministic");
    places.add(mosaic.quadrants.join());
  }
  assert(places.size > 1, "the target quadrants move from mosaic to mosaic");
  const alone = plan(8, new SeededRandom(1));
  assert("reason" in alone && alone.reason.includes("only test image of its class"));
  const noOthers = mosaicPlanner([0, 0, 1])(0, new SeededRandom(1));
  assert("reason" in noOthers && noOthers.reason.includes("has 1"), JSON.stringify(noOthers));
});

Deno.test("focus through the quantus batch: maps inside the target quadrants score 1, outside 0", async () => {
  await startBackend("cpu");
  const sizePx = 32;
  const model = buildModel("ecgnet", { numClasses: 2, imgSizePx: sizePx, seed: 1 });
  const metricModel = new MetricModel(model);
  // Class 0's evidence masks cover the whole image, class 1's are empty: the ground-truth
  // control's map of a mosaic is then exactly the class-0 quadrants.
  const labels = [0, 0, 1, 1, 0, 1];
  const images = labels.map((c, i) => ({
    widthPx: sizePx,
    heightPx: sizePx,
    data: new Uint8Array(sizePx * sizePx).fill(40 + 30 * i + 5 * c),
  }));
  const masks = labels.map((c) => new Uint8Array(sizePx * sizePx).fill(c === 0 ? 1 : 0));
  const source = {
    images,
    ids: labels.map((_, i) => `img${i}`),
    plan: mosaicPlanner(labels),
    masks,
  };
  const indices = labels.map((_, i) => i);
  const mosaics = chunkMosaics(source, indices, new SeededRandom(5));
  const focus = getMetric("focus");
  const scoreWith = (method: string) =>
    scoreQuantusBatch(model, metricModel, {
      checkpoint: "unused",
      backend: "cpu",
      openBlas: false,
      method,
      metrics: [["focus", focus.defaults]],
      drawsSeeds: [1],
      xNHWC: new Float32Array(labels.length * sizePx * sizePx * 3),
      shapeNHWC: [labels.length, sizePx, sizePx, 3],
      // The images' own targets (say, predictions) do not decide the mosaics' target class.
      targets: new Int32Array(labels.length).fill(1),
      masksNHW: new Uint8Array(labels.length * sizePx * sizePx),
      mosaics,
    });
  const truth = await scoreWith("ground_truth");
  assertEquals([...truth.scores[0]], labels.map((c) => (c === 0 ? 1 : 0)));
  // Without mosaics Focus is NaN and says why.
  const plain = await scoreQuantusBatch(model, metricModel, {
    checkpoint: "unused",
    backend: "cpu",
    openBlas: false,
    method: "saliency",
    metrics: [["focus", focus.defaults]],
    drawsSeeds: [1],
    xNHWC: new Float32Array(2 * sizePx * sizePx * 3),
    shapeNHWC: [2, sizePx, sizePx, 3],
    targets: Int32Array.of(0, 1),
  });
  assert(plain.scores[0].every(Number.isNaN) && plain.reasons[0][0]!.includes("mosaics"));
  // A chunk row without a mosaic (its class has one image) gets NaN with the reason.
  const lonely = chunkMosaics(
    { ...source, plan: mosaicPlanner([0, 0, 1, 2, 2, 2]) },
    [2, 0],
    new SeededRandom(5),
  );
  const lonelyScores = await scoreQuantusBatch(model, metricModel, {
    checkpoint: "unused",
    backend: "cpu",
    openBlas: false,
    method: "saliency",
    metrics: [["focus", focus.defaults]],
    drawsSeeds: [1],
    xNHWC: new Float32Array(2 * sizePx * sizePx * 3),
    shapeNHWC: [2, sizePx, sizePx, 3],
    targets: Int32Array.of(1, 0),
    mosaics: lonely,
  });
  assert(Number.isNaN(lonelyScores.scores[0][0]));
  assert(lonelyScores.reasons[0][0]!.includes("only test image"));
  assert(Number.isFinite(lonelyScores.scores[0][1]), `${lonelyScores.reasons[0][1]}`);
  metricModel.dispose();
  model.dispose();
});

Deno.test("quantus stage: focus on the test split's mosaics is finite, and the same on every run", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  await writeSyntheticDataset({ outDir: data, perClass: 16, seed: 3, widthPx: 320 });
  const focusColumn = async (out: string, chunkSize: string, workers = "1") => {
    await writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best);
    const ran = await run([
      "quantus",
      ...["--backend", "cpu", "--out", out, "--data", data, "--workers", workers],
      ...["--methods", "saliency,ground_truth", "--metrics", "focus", "--chunk-size", chunkSize],
    ]);
    assertEquals(ran.code, 0, ran.err);
    const byMethod: Record<string, number[]> = {};
    for (const method of ["saliency", "ground_truth"]) {
      const rows: string[][] = parseCsv(
        await Deno.readTextFile(`${out}/metrics/quantus_ecgnet_${method}.csv`),
      );
      const column = rows[0].indexOf("focus");
      assert(column > 0, rows[0].join());
      byMethod[method] = rows.slice(1).map((row) => Number(row[column]));
    }
    return byMethod;
  };
  const first = await focusColumn(`${dir.path}/a`, "3");
  assert(first.saliency.length >= 8, `${first.saliency.length} test images`);
  for (const [method, scores] of Object.entries(first)) {
    assert(scores.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${method}: ${scores}`);
  }
  // Saliency's relevance is not all on one side of every mosaic.
  assert(new Set(first.saliency).size > 1, `${first.saliency}`);
  assertEquals(await focusColumn(`${dir.path}/b`, "3"), first, "same seed, same scores");
  // The mosaics do not depend on the chunks nor on where a job runs: only the explainer's
  // arithmetic on batches of another size may.
  const rechunked = await focusColumn(`${dir.path}/c`, "5", "2");
  for (const [method, scores] of Object.entries(first)) {
    scores.forEach((v, i) => assert(Math.abs(v - rechunked[method][i]) < 1e-5, method));
  }
});
