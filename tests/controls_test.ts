/**
 * The control explanations (`xai/controls/`): each one's definition, and that the stages and
 * metrics treat them like every method — the ground truth scores the top localisation, the
 * constant map chance, the random map is no more stable than noise.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { startBackend } from "../backends/backend.ts";
import { loadMask } from "../data/masks.ts";
import { readNpyFile } from "../data/npy.ts";
import { getMetric } from "../metrics/registry.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { buildModel } from "../models/registry.ts";
import { scoreQuantusBatch } from "../runs/quantus_batch.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { CONSTANT } from "../xai/controls/constant.ts";
import { GROUND_TRUTH } from "../xai/controls/ground_truth.ts";
import { pixelsHash, RANDOM } from "../xai/controls/random.ts";
import { SOBEL, sobelMagnitude } from "../xai/controls/sobel.ts";
import { EXPLAINERS, getExplainer, readsMasks } from "../xai/registry.ts";
import { assert, assertClose, assertEquals, assertRejects } from "./assert.ts";
import { runMain as run } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet, writeUntrainedCheckpoint } from "./training_fixtures.ts";

await startBackend("cpu");

const SIZE = 32;
const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: SIZE, seed: 1 });

function batch(n: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([n, SIZE, SIZE, 3], 0, 1, "float32", seed) as tf.Tensor4D;
}

Deno.test("the controls are registered after the real methods; only ground_truth reads masks", () => {
  const names = EXPLAINERS.map((e) => e.name);
  assertEquals(names.slice(-4), ["random", "sobel", "constant", "ground_truth"]);
  assertEquals(names.filter(readsMasks), ["ground_truth"]);
  for (const name of ["random", "sobel", "constant", "ground_truth"]) {
    assert(getExplainer(name).description.startsWith("Control"), name);
  }
});

Deno.test("random: uniform noise seeded by the image alone", async () => {
  const x = batch(3, 1);
  const a = await RANDOM.explain(model, x, Int32Array.of(0, 1, 2));
  assertEquals(a.shapeNHW, [3, SIZE, SIZE]);
  const values = [...a.mapsNHW];
  assert(values.every((v) => v >= 0 && v < 1));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  assert(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  // The same image gives the same map whatever its place, batch, target or model.
  const pixels = await x.data() as Float32Array;
  const expected = new SeededRandom(0).fork(
    pixelsHash(pixels.subarray(SIZE * SIZE * 3, 2 * SIZE * SIZE * 3)),
  );
  const alone = tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]);
  const other = buildModel("ecgnet", { numClasses: 4, imgSizePx: SIZE, seed: 9 });
  const b = await RANDOM.explain(other, alone, Int32Array.of(3));
  const second = a.mapsNHW.subarray(SIZE * SIZE, 2 * SIZE * SIZE);
  assertEquals([...b.mapsNHW], [...second]);
  assertEquals(second[0], Math.fround(expected.uniform()));
  // Other images, and another seed, give other maps.
  assert(a.mapsNHW[0] !== second[0] || a.mapsNHW[1] !== second[1]);
  const reseeded = await RANDOM.explain(model, alone, Int32Array.of(0), { seed: 1 });
  assert(reseeded.mapsNHW.some((v, j) => v !== second[j]));
  other.dispose();
  tf.dispose([x, alone]);
});

Deno.test("sobel: the edge magnitude of the channel mean, borders repeated", async () => {
  // A ramp g = 0.5 x + 2 y: inside, gx = 8 · 0.5 and gy = 8 · 2; at a repeated border the
  // central difference spans one step, not two.
  const gray = Float32Array.from(
    { length: SIZE * SIZE },
    (_, j) => 0.5 * (j % SIZE) + 2 * Math.floor(j / SIZE),
  );
  const edges = sobelMagnitude(gray, SIZE, SIZE);
  assertClose(edges.subarray(5 * SIZE + 5, 5 * SIZE + 6), [Math.hypot(4, 16)], 1e-6, "inside");
  assertClose(edges.subarray(5 * SIZE, 5 * SIZE + 1), [Math.hypot(2, 16)], 1e-6, "left border");
  // Through the explainer: channels (g − 1, g, g + 1) average to g.
  const pixels = new Float32Array(SIZE * SIZE * 3).map((_, k) =>
    gray[Math.floor(k / 3)] + (k % 3) - 1
  );
  const x = tf.tensor4d(pixels, [1, SIZE, SIZE, 3]);
  const attr = await SOBEL.explain(model, x, Int32Array.of(0));
  assertClose(attr.mapsNHW, edges, 1e-4, "channel mean");
  x.dispose();
});

Deno.test("constant: one value everywhere; not a finite one is an InputError", async () => {
  const x = batch(2, 2);
  const ones = await CONSTANT.explain(model, x, Int32Array.of(0, 1));
  assert(ones.mapsNHW.length === 2 * SIZE * SIZE && ones.mapsNHW.every((v) => v === 1));
  const e = await assertRejects(
    () => CONSTANT.explain(model, x, Int32Array.of(0, 1), { constantValue: NaN }),
    InputError,
  );
  assert(e.message.includes("constantValue"), e.message);
  x.dispose();
});

Deno.test("ground_truth: the mask itself, per copy of the batch; none is an InputError", async () => {
  const masks = new Uint8Array(2 * SIZE * SIZE);
  masks[3] = 255;
  masks[SIZE * SIZE + 7] = 1;
  const x = batch(4, 3);
  const attr = await GROUND_TRUTH.explain(model, x, Int32Array.of(0, 1, 2, 3), { masksNHW: masks });
  const ones = [...attr.mapsNHW.keys()].filter((j) => attr.mapsNHW[j] !== 0);
  assertEquals(ones, [3, SIZE * SIZE + 7, 2 * SIZE * SIZE + 3, 3 * SIZE * SIZE + 7]);
  assert(attr.mapsNHW.every((v) => v === 0 || v === 1));
  const none = await assertRejects(
    () => GROUND_TRUTH.explain(model, x, Int32Array.of(0, 1, 2, 3)),
    InputError,
  );
  assert(none.message.includes("masks") && none.message.includes("--methods"), none.message);
  const three = tf.slice(x, [0, 0, 0, 0], [3, -1, -1, -1]);
  const misfit = await assertRejects(
    () => GROUND_TRUTH.explain(model, three, Int32Array.of(0, 1, 2), { masksNHW: masks }),
    InputError,
  );
  assert(misfit.message.includes("batch of 3"), misfit.message);
  tf.dispose([x, three]);
});

Deno.test("metrics score the controls: ground truth tops localisation, constant is chance", async () => {
  const n = 2;
  const x = await batch(n, 4).data() as Float32Array;
  const masksNHW = new Uint8Array(n * SIZE * SIZE);
  for (let j = 0; j < SIZE * SIZE / 4; j++) masksNHW[j] = 1; // image 0: the top quarter
  for (let j = 0; j < SIZE * SIZE / 2; j++) masksNHW[SIZE * SIZE + j] = 1; // image 1: the top half
  const metricModel = new MetricModel(model);
  const names = ["relevance_mass_accuracy", "pointing_game", "max_sensitivity"];
  const score = (method: string) =>
    scoreQuantusBatch(model, metricModel, {
      checkpoint: "unused",
      backend: "cpu",
      openBlas: false,
      method,
      metrics: names.map((name) => [name, { ...getMetric(name).defaults, nrSamples: 3 }]),
      drawsSeeds: [1, 2, 3],
      xNHWC: x,
      shapeNHWC: [n, SIZE, SIZE, 3],
      targets: Int32Array.of(0, 1),
      masksNHW,
    });
  const truth = await score("ground_truth");
  assertEquals([...truth.scores[0]], [1, 1], "all the mass on the evidence");
  assertEquals([...truth.scores[1]], [1, 1], "the maximum on the evidence");
  assertEquals([...truth.scores[2]], [0, 0], "re-explained copies get the same masks");
  const constant = await score("constant");
  assertClose(constant.scores[0], [0.25, 0.5], 1e-6, "the masks' shares");
  const random = await score("random");
  assert(random.scores[2].every((v) => v > 0.1), `${random.scores[2]}`);
  metricModel.dispose();
});

Deno.test("xai stage: ground_truth writes the masks, and says so where a data set has none", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best);
  const common = ["--backend", "cpu", "--out", out, "--data", data, "--workers", "1"];
  const explained = await run([
    "xai",
    ...common,
    "--methods",
    "ground_truth,sobel",
    "--limit",
    "2",
  ]);
  assertEquals(explained.code, 0, explained.err);
  const root = `${out}/explanations/ecgnet/ground_truth`;
  const ids = (await Deno.readTextFile(`${root}/index.csv`)).trim().split("\n").slice(1)
    .map((line) => line.split(",")[0]);
  assertEquals(ids.length, 2);
  for (const id of ids) {
    const raw = await readNpyFile(`${root}/heatmap/${id}.raw.npy`);
    const mask = await loadMask(`${data}/masks/${id}.png`, 32);
    assertEquals([...raw.data as Float32Array], [...mask]);
  }
  await Deno.remove(`${data}/masks`, { recursive: true });
  const without = await run([
    "xai",
    ...common,
    "--methods",
    "gradcam,ground_truth",
    "--limit",
    "2",
  ]);
  assertEquals(without.code, 1);
  assert(
    without.err.includes("ground_truth") && without.err.includes("evidence mask"),
    without.err,
  );
});
