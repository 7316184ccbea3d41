/**
 * Insertion and Deletion (Petsiuk et al. 2018, as Xplique 2.0.0): curves worked by hand on a
 * linear model, Xplique's step counts, baselines, softmax, NaN cases, batching, parameters, and
 * a run of the quantus stage.
 */
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import {
  type CausalFidelityParams,
  causalStepCounts,
  DELETION,
  INSERTION,
} from "../metrics/faithfulness/insertion_deletion.ts";
import type { MetricBatch, MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric } from "../metrics/registry.ts";
import { metricParams, parseMetrics } from "../stages/quantus.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { makeBaselineNHWC } from "../xai/gradient/baselines.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { linearModel } from "./linear_model.ts";
import { runMain as run } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet, writeUntrainedCheckpoint } from "./training_fixtures.ts";

await startBackend("cpu");

/** logit_0 = the sum of a 2 x 2 single-channel image's pixels, logit_1 = 0. */
function sumModel(batchSize?: number): MetricModel {
  return new MetricModel(linearModel([2, 2, 1], [1, 1, 1, 1]), batchSize);
}

/** A batch of 2 x 2 single-channel images; each map is its image unless given, targets class 0. */
function batchOf(images: number[][], maps = images, targets = images.map(() => 0)): MetricBatch {
  return {
    xNHWC: Float32Array.from(images.flat()),
    shapeNHWC: [images.length, 2, 2, 1],
    targets: Int32Array.from(targets),
    attributionsNHW: Float32Array.from(maps.flat()),
  };
}

async function evaluate(
  metric: MetricDefinition<CausalFidelityParams>,
  batch: MetricBatch,
  params: Partial<CausalFidelityParams> = {},
  model = sumModel(),
) {
  try {
    return await metric.evaluate(
      { model, draws: new SeededDraws(0) },
      batch,
      { ...metric.defaults, ...params },
    );
  } finally {
    model.dispose();
  }
}

const IMAGE = [1, 2, 3, 4];

Deno.test("metadata: faithfulness, Petsiuk et al., Xplique's defaults", () => {
  assertEquals([INSERTION.category, INSERTION.direction], ["faithfulness", "higher"]);
  assertEquals([DELETION.category, DELETION.direction], ["faithfulness", "lower"]);
  for (const metric of [INSERTION, DELETION]) {
    assert(metric.paper.startsWith("Petsiuk et al. 2018"), metric.paper);
    const d = metric.defaults;
    assertEquals(
      [d.steps, d.maxPercentagePerturbed, d.baselineMode, d.baselineValue, d.softmax],
      [10, 1, "constant", 0, false],
    );
    assertEquals([d.abs, d.normalise], [false, false]);
    assert(getMetric(metric.name) === metric && getMetric(metric.quantusName) === metric);
  }
});

Deno.test("step counts are numpy's linspace(0, m, steps + 1) cast to int32", () => {
  assertEquals([...causalStepCounts(4, 4)], [0, 1, 2, 3, 4]);
  assertEquals([...causalStepCounts(4, 3)], [0, 1, 2, 4]); // 4/3 and 8/3 truncated
  assertEquals([...causalStepCounts(4, 10)], [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4]);
  assertEquals([...causalStepCounts(50176, 10)].slice(0, 3), [0, 5017, 10035]);
});

Deno.test("a linear model's curves and areas, worked by hand", async () => {
  // Pixels go in the order 4, 3, 2, 1 (values), so the sum falls 10, 6, 3, 1, 0 as they become
  // 0 and rises 0, 4, 7, 9, 10 as they come back. Area over 4 unit steps, then divided by 4:
  // deletion (8 + 4.5 + 2 + 0.5) / 4 = 3.75, insertion (2 + 5.5 + 8 + 9.5) / 4 = 6.25. Image 2
  // explains class 1, whose logit is 0 everywhere.
  const batch = batchOf([IMAGE, IMAGE], [IMAGE, IMAGE], [0, 1]);
  const deletion = await evaluate(DELETION, batch, { steps: 4 });
  assertEquals([...deletion.curves![0]], [10, 6, 3, 1, 0]);
  assertEquals([...deletion.scores], [3.75, 0]);
  const insertion = await evaluate(INSERTION, batch, { steps: 4 });
  assertEquals([...insertion.curves![0]], [0, 4, 7, 9, 10]);
  assertEquals([...insertion.scores], [6.25, 0]);
  assertEquals(INSERTION.toQuantus(insertion, INSERTION.defaults), [6.25, 0]);
  // A map ranking the pixels the other way round deletes the least first: a worse deletion.
  const reversed = await evaluate(DELETION, batchOf([IMAGE], [[4, 3, 2, 1]]), { steps: 4 });
  assertEquals([...reversed.curves![0]], [10, 9, 7, 4, 0]);
  assert(reversed.scores[0] > deletion.scores[0]);
});

Deno.test("Xplique's steps, maxPercentagePerturbed and steps -1", async () => {
  const batch = batchOf([IMAGE]);
  const at = async (params: Partial<CausalFidelityParams>) =>
    (await evaluate(DELETION, batch, params)).scores[0];
  assertEquals(await at({ steps: 3 }), (8 + 4.5 + 1.5) / 3); // counts 0, 1, 2, 4
  assertEquals(await at({ steps: 2 }), (6.5 + 1.5) / 2); // counts 0, 2, 4
  assertEquals(await at({ steps: 2, maxPercentagePerturbed: 0.5 }), (8 + 4.5) / 2);
  assertEquals(await at({ steps: -1 }), 3.75);
  // The default 10 steps over 4 pixels: 10, 10, 10, 6, 6, 3, 3, 3, 1, 1, 0.
  assertEquals(await at({}), (10 + 10 + 8 + 6 + 4.5 + 3 + 3 + 2 + 1 + 0.5) / 10);
});

Deno.test("baselines: a constant, and the blurred image", async () => {
  // Baseline 1: deletion sets pixels to 1, so the sum falls 10, 7, 5, 4, 4.
  const one = await evaluate(DELETION, batchOf([IMAGE]), { steps: 4, baselineValue: 1 });
  assertEquals([...one.curves![0]], [10, 7, 5, 4, 4]);
  assertEquals(one.scores[0], (8.5 + 6 + 4.5 + 4) / 4);
  // A constant image is its own blur: insertion starts where it ends.
  const flat = await evaluate(INSERTION, batchOf([[2, 2, 2, 2]], [IMAGE]), {
    steps: 4,
    baselineMode: "blurred",
    blurSigmaPx: 1,
  });
  assertEquals([...flat.curves![0]], [8, 8, 8, 8, 8]);
  // Otherwise insertion starts, and deletion ends, at the blurred image's output.
  const blurred = makeBaselineNHWC("blurred", Float32Array.from(IMAGE), [1, 2, 2, 1], {
    blurSigmaPx: 1,
  });
  const blurredSum = blurred.reduce((s, v) => s + v, 0);
  assert(Math.abs(blurred[3] - 4) > 0.5, `${blurred}`); // the blur moved the first pixel
  const params = { steps: 4, baselineMode: "blurred" as const, blurSigmaPx: 1 };
  const insertion = await evaluate(INSERTION, batchOf([IMAGE]), params);
  assertAlmostEquals(insertion.curves![0][0], blurredSum, 1e-5);
  assertAlmostEquals(insertion.curves![0][1], blurredSum - blurred[3] + 4, 1e-5);
  const deletion = await evaluate(DELETION, batchOf([IMAGE]), params);
  assertAlmostEquals(deletion.curves![0][4], blurredSum, 1e-5);
});

Deno.test("softmax: the curve of the target's probability", async () => {
  const r = await evaluate(DELETION, batchOf([IMAGE]), { steps: 4, softmax: true });
  const expected = [10, 6, 3, 1, 0].map((f) => 1 / (1 + Math.exp(-f)));
  r.curves![0].forEach((v, k) => assertAlmostEquals(v, expected[k], 1e-6));
});

Deno.test("NaN with a reason: a constant map, a map with NaN, a model output that is not finite", async () => {
  const batch = batchOf([IMAGE, IMAGE, [1, NaN, 3, 4]], [[1, 1, 1, 1], [1, NaN, 2, 3], IMAGE]);
  for (const metric of [INSERTION, DELETION]) {
    const r = await evaluate(metric, batch, { steps: 4 });
    assert(r.scores.every(Number.isNaN), `${metric.name}: ${r.scores}`);
    assert(r.reasons[0]!.includes("constant"), r.reasons[0]);
    assert(r.reasons[1]!.includes("NaN or infinite"), r.reasons[1]);
    assert(r.reasons[2]!.includes("not finite"), r.reasons[2]);
    assertEquals(r.curves![1].length, 0, "no model calls for a map that orders nothing");
  }
  // Quantus compatibility keeps a constant map's score (pixel order decides).
  const compat = await evaluate(DELETION, batchOf([IMAGE], [[1, 1, 1, 1]]), {
    steps: 4,
    quantusCompat: true,
  });
  assertEquals([...compat.curves![0]], [10, 9, 7, 4, 0]);
});

Deno.test("copies are scored in the model's batches, whatever the number of steps", async () => {
  // 3 images x 5 points = 15 copies in calls of 4: 4 calls; the scores do not depend on it.
  const batch = batchOf([IMAGE, [4, 3, 2, 1], [0, 5, 0, 5]]);
  const model = sumModel(4);
  const batched = await DELETION.evaluate(
    { model, draws: new SeededDraws(0) },
    batch,
    { ...DELETION.defaults, steps: 4 },
  );
  assertEquals(model.calls, 4);
  model.dispose();
  const wide = await evaluate(DELETION, batch, { steps: 4 }, sumModel(64));
  assertEquals([...batched.scores], [...wide.scores]);
});

Deno.test("bad parameters are InputErrors naming the parameter; Xplique's arguments map", async () => {
  const batch = batchOf([IMAGE]);
  const cases: [Partial<CausalFidelityParams>, string][] = [
    [{ steps: 0 }, "steps"],
    [{ steps: 1.5 }, "steps"],
    [{ steps: -2 }, "steps"],
    [{ steps: -1, maxPercentagePerturbed: 0.2 }, "steps"],
    [{ maxPercentagePerturbed: 0 }, "maxPercentagePerturbed"],
    [{ maxPercentagePerturbed: 1.5 }, "maxPercentagePerturbed"],
    [{ baselineMode: "grey" as "blurred" }, "baselineMode"],
    [{ baselineValue: NaN }, "baselineValue"],
    [{ baselineMode: "blurred", blurSigmaPx: 0 }, "blurSigmaPx"],
  ];
  for (const [params, name] of cases) {
    await assertRejects(() => evaluate(INSERTION, batch, params), InputError, name);
  }
  const fromXplique = DELETION.fromQuantus(
    { steps: 5, max_percentage_perturbed: 0.5, baseline_mode: 0.2, activation: "softmax" },
    {},
  );
  assertEquals(
    [fromXplique.steps, fromXplique.maxPercentagePerturbed, fromXplique.baselineValue],
    [5, 0.5, 0.2],
  );
  assert(fromXplique.softmax && fromXplique.baselineMode === "constant");
  let threw = false;
  try {
    INSERTION.fromQuantus({ activation: "sigmoid" }, {});
  } catch (e) {
    threw = e instanceof InputError && e.message.includes("activation");
  }
  assert(threw, "sigmoid is refused");
});

Deno.test("quantus stage: --metrics insertion,deletion writes both columns; all includes them", async () => {
  assert(
    ["insertion", "deletion"].every((m) => parseMetrics("all", false).some((d) => d.name === m)),
  );
  const both = parseMetrics("insertion,deletion", false);
  const params = metricParams(both, '{"insertion": {"baselineMode": "blurred"}}', false);
  const insertionParams = params.get(INSERTION) as CausalFidelityParams;
  assertEquals(insertionParams.baselineMode, "blurred");
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best);
  const result = await run([
    "quantus",
    ...["--backend", "cpu", "--out", out, "--data", data, "--workers", "1"],
    ...["--methods", "saliency", "--metrics", "insertion,deletion", "--limit", "2"],
  ]);
  assertEquals(result.code, 0, result.err);
  const rows: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/metrics/quantus_ecgnet_saliency.csv`),
  );
  assertEquals(rows[0].slice(4), ["insertion", "deletion", "nan_reasons"]);
  assertEquals(rows.length, 1 + 2);
  for (const row of rows.slice(1)) {
    assert(Number.isFinite(Number(row[4])) && Number.isFinite(Number(row[5])), row.join());
  }
});
