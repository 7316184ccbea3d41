import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { readNpyFile, writeNpyFile } from "../data/npy.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { predict, predictSpec, toNHWC } from "../stages/predict.ts";
import { train, trainSpec } from "../stages/train.ts";
import { main } from "../mod.ts";
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { tinyCnn, writeTinySyntheticSet } from "./training_fixtures.ts";

Deno.test("toNHWC keeps NHWC and transposes NCHW", () => {
  const nhwc = {
    shape: [1, 1, 1, 3],
    dtype: "float32" as const,
    data: new Float32Array([1, 2, 3]),
  };
  assertEquals(toNHWC(nhwc, "a.npy").data, nhwc.data);
  const nchw = {
    shape: [2, 3, 1, 1],
    dtype: "float32" as const,
    data: new Float32Array([1, 2, 3, 4, 5, 6]),
  };
  assertEquals(Array.from(toNHWC(nchw, "b.npy").data), [1, 2, 3, 4, 5, 6]);
  const bad = { shape: [1, 2, 2, 2], dtype: "float32" as const, data: new Float32Array(8) };
  let message = "";
  try {
    toNHWC(bad, "c.npy");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("c.npy") && message.includes("[N,3,H,W]"), message);
});

Deno.test("explain and predict refuse a NaN or infinite input naming it, before any model runs", async () => {
  await using dir = await testDir();
  const nan = new Float32Array(2 * 8 * 8 * 3).fill(NaN);
  const inf = new Float32Array(2 * 8 * 8 * 3).fill(0.5);
  inf[8 * 8 * 3 + 7] = -Infinity;
  await writeNpyFile(`${dir.path}/nan.npy`, [2, 8, 8, 3], nan);
  await writeNpyFile(`${dir.path}/inf.npy`, [2, 8, 8, 3], inf);
  for (
    const [stage, name, expected] of [
      ["explain", "nan.npy", "384 of 384 values are NaN or infinite (the first in image 0: NaN)"],
      ["predict", "nan.npy", "384 of 384 values are NaN or infinite (the first in image 0: NaN)"],
      [
        "explain",
        "inf.npy",
        "1 of 384 values are NaN or infinite (the first in image 1: -Infinity)",
      ],
    ] as const
  ) {
    const out = `${dir.path}/${stage}_out.npy`;
    const method = stage === "explain" ? ["--method", "saliency"] : [];
    const { code, err } = await runMain([
      stage,
      ...method,
      ...["--input", `${dir.path}/${name}`, "--checkpoint", `${dir.path}/none`, "--out", out],
    ]);
    assertEquals(code, 1);
    assert(err.startsWith(`error: ${dir.path}/${name}: ${expected}`), err);
    assert(!(await Deno.stat(out).catch(() => undefined)), "nothing written");
  }
});

Deno.test("predict: .npy in NHWC and NCHW give the same logits; images give predictions.csv", async () => {
  await using dir = await testDir();
  await writeTinySyntheticSet(`${dir.path}/ds`);
  const common = ["--backend", "cpu"];
  const trainArgs = await parseStageArgs(trainSpec, [
    ...common,
    ...["--data", `${dir.path}/ds`, "--out", `${dir.path}/out`, "--models", "tiny"],
    ...["--img-size", "32", "--epochs", "1"],
  ]);
  await train(trainArgs!, { buildModel: tinyCnn });
  const checkpoint = `${dir.path}/out/checkpoints/tiny_best`;
  // Two 32x32 images with distinct per-channel values, stored both ways.
  const n = 2, size = 32;
  const nchw = new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i * 0.37));
  await writeNpyFile(`${dir.path}/x_nchw.npy`, [n, 3, size, size], nchw);
  const nhwc = toNHWC({ shape: [n, 3, size, size], dtype: "float32", data: nchw }, "x");
  await writeNpyFile(`${dir.path}/x_nhwc.npy`, [n, size, size, 3], nhwc.data);
  const run = async (argv: string[]) =>
    await predict(
      (await parseStageArgs(predictSpec, [...common, "--checkpoint", checkpoint, ...argv]))!,
      {
        buildModel: tinyCnn,
      },
    );
  await run(["--input", `${dir.path}/x_nchw.npy`, "--out", `${dir.path}/a.npy`]);
  await run(["--input", `${dir.path}/x_nhwc.npy`, "--out", `${dir.path}/b.npy`, "--softmax"]);
  const logits = await readNpyFile(`${dir.path}/a.npy`);
  const probabilities = await readNpyFile(`${dir.path}/b.npy`);
  assertEquals(logits.shape, [2, 4]);
  const row = Array.from(logits.data as Float32Array).slice(0, 4);
  const total = row.reduce((s, z) => s + Math.exp(z), 0);
  assertAlmostEquals(Number(probabilities.data[0]), Math.exp(row[0]) / total, 1e-6);
  await run(["--data", `${dir.path}/ds`, "--split", "val", "--out", `${dir.path}/p.csv`]);
  const csv = (await Deno.readTextFile(`${dir.path}/p.csv`)).trim().split("\n");
  assertEquals(csv.length, 5);
  assert(csv[1].includes("/val/"), csv[1]);
  const both = await main(["predict", "--checkpoint", checkpoint, "--weights", "w.safetensors"]);
  assertEquals(both, 1);
});
