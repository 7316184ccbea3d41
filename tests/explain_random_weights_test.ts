/** `explain --model NAME` without weights: the architecture's initial weights drawn with --seed. */
import { readNpyFile, writeNpyFile } from "../data/npy.ts";
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("explain with --model alone explains random weights drawn with --seed, and says so", async () => {
  await using dir = await testDir();
  const x = new Float32Array(2 * 32 * 32 * 3).map((_, i) => Math.sin(i * 0.37));
  await writeNpyFile(`${dir.path}/x.npy`, [2, 32, 32, 3], x);
  const explain = async (seed: string, out: string) => {
    const run = await runMain([
      "explain",
      ...["--backend", "cpu", "--model", "ecgnet", "--method", "saliency", "--seed", seed],
      ...["--input", `${dir.path}/x.npy`, "--out", `${dir.path}/${out}`],
    ]);
    assertEquals(run.code, 0, run.err);
    assert(run.err.includes("ecgnet with its initial weights drawn with --seed"), run.err);
    const maps = await readNpyFile(`${dir.path}/${out}`);
    assertEquals(maps.shape, [2, 32, 32]);
    return [...maps.data as Float32Array];
  };
  const first = await explain("3", "a.npy");
  assertEquals(await explain("3", "b.npy"), first, "the same seed, the same weights");
  assert((await explain("4", "c.npy")).some((v, i) => v !== first[i]), "another seed, other maps");
});
