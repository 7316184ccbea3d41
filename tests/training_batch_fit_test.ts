/**
 * A training batch that does not fit the wasm heap is refused before the first step, in one
 * line naming --batch-size and the batch that fits.
 */
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet } from "./training_fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("train refuses a batch that does not fit the wasm heap, naming the one that does", async () => {
  await using dir = await testDir();
  const [data, out] = [`${dir.path}/ds`, `${dir.path}/out`];
  await writeTinySyntheticSet(data);
  const trained = await runMain([
    "train",
    ...["--backend", "wasm", "--data", data, "--out", out, "--models", "resnet50"],
    ...["--img-size", "224", "--batch-size", "64", "--epochs", "1"],
  ]);
  assertEquals(trained.code, 1, trained.err);
  const last = trained.err.split("\n").at(-1)!;
  const match =
    /^error: resnet50: a training batch of 64 images of 224 px does not fit the heap budget \(2560 MiB of the 4 GiB wasm heap\); about (\d+) fit: pass --batch-size \1 \(or fewer\)/
      .exec(last);
  // At 224 px about 4 rows of resnet50's gradient pass fit 2.5 GiB (graph/footprint.ts).
  assert(match && Number(match[1]) >= 2 && Number(match[1]) <= 8, last);
  assert(!trained.err.includes("    at "), trained.err);
  await Deno.stat(`${out}/checkpoints/resnet50_last`).then(
    () => assert(false, "a resume state was written"),
    () => {},
  );
});

Deno.test("train's --heap-budget-mb sizes the check: a smaller budget fits a smaller batch", async () => {
  await using dir = await testDir();
  const [data, out] = [`${dir.path}/ds`, `${dir.path}/out`];
  await writeTinySyntheticSet(data);
  const fits = async (budgetMb: string) => {
    const trained = await runMain([
      "train",
      ...["--backend", "wasm", "--data", data, "--out", out, "--models", "resnet50"],
      ...["--img-size", "224", "--batch-size", "64", "--epochs", "1"],
      ...["--heap-budget-mb", budgetMb],
    ]);
    assertEquals(trained.code, 1, trained.err);
    const last = trained.err.split("\n").at(-1)!;
    assert(last.includes(`the heap budget (${budgetMb} MiB of the 4 GiB wasm heap)`), last);
    return Number(/about (\d+) fit/.exec(last)![1]);
  };
  const [small, large] = [await fits("1280"), await fits("2560")];
  assert(small < large && small >= 1, `${small} vs ${large}`);
});
