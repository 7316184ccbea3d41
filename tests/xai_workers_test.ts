/**
 * The xai stage over Web Workers: the same files from 1 and 2 workers (with a bad image left
 * out by --on-bad-image skip), and clear input errors from flags, loading and the workers.
 */
import { parseCsv } from "../deps.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { assert, assertEquals } from "./assert.ts";
import { runMain as run } from "./stage_runner.ts";
import { readTree, treeDifferences } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet, writeUntrainedCheckpoint } from "./training_fixtures.ts";

/** What an xai run writes that must not depend on where its chunks ran. */
const explanationsOnly = (path: string) =>
  path.startsWith("explanations/") && !path.endsWith("/timings.csv");

Deno.test("xai stage: 1 worker and 2 workers write the same bytes; errors stay input errors", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  // One test image per class, plus an undecodable one that --on-bad-image skip leaves out.
  await writeTinySyntheticSet(data);
  await Deno.writeTextFile(`${data}/test/MI/broken.png`, "not a png");
  // At 64 px Grad-CAM's maps are not constant, so equal files mean equal numbers.
  const checkpoint = (out: string) => writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best, 64);
  const xaiArgs = (out: string, ...more: string[]) => [
    "xai",
    ...["--backend", "cpu", "--data", data, "--out", out],
    ...["--methods", "gradcam,saliency", "--chunk-size", "1"],
    ...more,
  ];

  const outs = [`${dir.path}/one`, `${dir.path}/two`];
  const trees = [];
  for (const [k, workers] of ["1", "2"].entries()) {
    await checkpoint(outs[k]);
    const result = await run(xaiArgs(outs[k], "--workers", workers, "--on-bad-image", "skip"));
    assertEquals(result.code, 0, result.err);
    trees.push(await readTree(outs[k], explanationsOnly));
  }
  assertEquals(trees[0].size, 2 * (1 + 4 * 4), "2 methods x (index + 4 images x 4 files)");
  assertEquals(treeDifferences(trees[0], trees[1]), []);
  const index: string[][] = parseCsv(
    await Deno.readTextFile(`${outs[1]}/explanations/ecgnet/gradcam/index.csv`),
  );
  assert(index.every((row) => !row[0].includes("broken")), "the bad image is left out");
  const gradcam = [...trees[0]].find(([p]) => p.endsWith("gradcam/heatmap/test/MI/MI(8).npy"));
  assert(gradcam, [...trees[0].keys()].join("\n"));
  // The .npy header is 128 bytes; a constant map would normalise to all zeros.
  assert(gradcam[1].subarray(128).some((b) => b !== 0), "Grad-CAM's map is not constant");

  const out = `${dir.path}/errors`;
  await checkpoint(out);
  const badWorkers = await run(xaiArgs(out, "--workers", "0"));
  assertEquals(badWorkers.code, 1, badWorkers.err);
  assert(badWorkers.err.includes("--workers 0"), badWorkers.err);
  const badMethod = await run([...xaiArgs(out, "--workers", "2"), "--methods", "no_such_method"]);
  assertEquals(badMethod.code, 1, badMethod.err);
  assert(badMethod.err.includes('"no_such_method"'), badMethod.err);
  const badImage = await run(xaiArgs(out, "--workers", "2"));
  assertEquals(badImage.code, 1, badImage.err);
  assert(badImage.err.includes("broken.png"), badImage.err);

  // An id that cannot name a file is found in a worker, as the worker writes the files; it
  // reaches the command line as the same one-line input error.
  await Deno.remove(`${data}/test/MI/broken.png`);
  await Deno.copyFile(`${data}/test/MI/MI(8).jpg`, `${data}/test/MI/a\\b.jpg`);
  const badId = await run(xaiArgs(out, "--workers", "2"));
  assertEquals(badId.code, 1, badId.err);
  assert(badId.err.includes("cannot name a file") && !badId.err.includes("at "), badId.err);
});
