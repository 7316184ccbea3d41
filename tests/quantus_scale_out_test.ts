/**
 * `quantus` across processes: three shard processes plus `merge`, and runs killed with SIGKILL
 * then resumed, give exactly the files of one uninterrupted process.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { outputsStatus } from "../stages/status.ts";
import { runMain } from "./stage_runner.ts";
import {
  countFiles,
  killWhen,
  readTree,
  runDeno,
  scaleOutScenario,
  STAGE_FLAGS,
  treeDifferences,
} from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";

/** What a quantus run leaves that must not depend on sharding, resume or process. */
const quantusFiles = (path: string) =>
  (path.startsWith("metrics/quantus_") && path.endsWith(".csv")) ||
  path === "results/quantus_summary.csv";

Deno.test("quantus: 3 shard processes + merge, and runs killed with SIGKILL then resumed, equal one process byte for byte", async () => {
  await using dir = await testDir();
  const { data, outs } = await scaleOutScenario(dir.path);
  const params = JSON.stringify({
    faithfulness_correlation: { nrRuns: 3, subsetSize: 8 },
    max_sensitivity: { nrSamples: 2 },
  });
  const quantusArgs = (out: string, ...more: string[]) => [
    "run",
    ...STAGE_FLAGS,
    "mod.ts",
    "quantus",
    ...["--backend", "cpu", "--data", data, "--out", out, "--workers", "1"],
    ...["--methods", "gradcam,saliency", "--metrics", "faithfulness_correlation,max_sensitivity"],
    ...["--params", params, "--chunk-size", "1"],
    ...more,
  ];
  const unsharded = async () => {
    const one = await runDeno(quantusArgs(outs.one));
    assertEquals(one.code, 0, one.stderr);
  };
  const sharded = async () => {
    const shards = await Promise.all([
      runDeno(quantusArgs(outs.sharded, "--shard", "0/3")),
      runDeno(quantusArgs(outs.sharded, "--shard", "1/3")),
      runDeno(quantusArgs(outs.sharded, "--shards", "3"), { JOB_COMPLETION_INDEX: "2" }),
    ]);
    for (const s of shards) assertEquals(s.code, 0, s.stderr);
    assert(!(await statOrUndefined(`${outs.sharded}/metrics/quantus_ecgnet_gradcam.csv`)));
    const pending = await outputsStatus(outs.sharded);
    assert(
      pending.some((l) => l.stage === "quantus" && !l.done && l.detail.includes("ready to merge")),
      JSON.stringify(pending),
    );
    const merged = await runMain(["merge", "--out", outs.sharded]);
    assertEquals(merged.code, 0, merged.err);
  };
  const killedAndResumed = async () => {
    const parts = () => countFiles(`${outs.killed}/metrics`, ".csv");
    const first = await killWhen(quantusArgs(outs.killed), async () => (await parts()) >= 2);
    assert(first.killed, "the first run was killed before it finished");
    const status = await outputsStatus(outs.killed);
    assert(
      status.some((l) => l.stage === "quantus" && !l.done && l.detail.includes("pending chunks")),
      JSON.stringify(status),
    );
    const second = await killWhen(quantusArgs(outs.killed), async () => (await parts()) >= 5);
    assert(second.killed || second.result.code === 0);
    const last = await runDeno(quantusArgs(outs.killed));
    assertEquals(last.code, 0, last.stderr);
  };
  await Promise.all([unsharded(), sharded(), killedAndResumed()]);

  const reference = await readTree(outs.one, quantusFiles);
  assertEquals(reference.size, 3, "two per-image files and the summary");
  const rows: string[][] = parseCsv(
    new TextDecoder().decode(reference.get("metrics/quantus_ecgnet_gradcam.csv")),
  );
  assertEquals(rows.length, 1 + 4, "one row per test image");
  for (const out of [outs.sharded, outs.killed]) {
    assertEquals(treeDifferences(reference, await readTree(out, quantusFiles)), []);
    assert(!(await statOrUndefined(`${out}/metrics/quantus_ecgnet_gradcam`)), "parts are gone");
  }
  assert((await outputsStatus(outs.killed)).every((l) => l.done));
});
