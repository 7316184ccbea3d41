import { assert, assertEquals, assertThrows } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { main } from "../mod.ts";
import { ownsItem, parseShard } from "../runs/shard.ts";
import { outputsStatus } from "../stages/status.ts";
import { testDir } from "./test_dirs.ts";
import {
  countFiles,
  killWhen,
  readTree,
  runDeno,
  scaleOutScenario,
  STAGE_FLAGS,
  treeDifferences,
} from "./subprocess.ts";

/** Runs `mod.ts <argv>` in process with its printing silenced. */
async function quiet(argv: string[]): Promise<number> {
  const { log, error, warn } = console;
  const err: string[] = [];
  Object.assign(console, {
    log: () => {},
    warn: () => {},
    error: (...a: unknown[]) => err.push(a.join(" ")),
  });
  try {
    const code = await main(argv);
    if (code !== 0) throw new Error(`mod.ts ${argv.join(" ")} exited ${code}: ${err.join("\n")}`);
    return code;
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

/** What an xai run leaves that must not depend on sharding, resume or process. */
const explanationsOnly = (path: string) =>
  path.startsWith("explanations/") && !path.endsWith("/timings.csv");

Deno.test("shard: --shard I/N, JOB_COMPLETION_INDEX with --shards N, round-robin items", () => {
  assertEquals(parseShard({}, undefined), { index: 0, count: 1 });
  assertEquals(parseShard({ shard: "2/3" }, "0"), { index: 2, count: 3 });
  assertEquals(parseShard({ shards: "3" }, "1"), { index: 1, count: 3 });
  for (
    const [flags, env] of [
      [{ shard: "3/3" }, undefined],
      [{ shard: "1-3" }, undefined],
      [{ shards: "3" }, undefined],
      [{ shards: "3" }, "x"],
      [{ shard: "0/2", shards: "2" }, "0"],
    ] as const
  ) {
    assertThrows(() => parseShard(flags, env), InputError);
  }
  const owners = [...Array(7).keys()].map((k) =>
    [0, 1, 2].filter((i) => ownsItem({ index: i, count: 3 }, k))
  );
  assert(owners.every((o) => o.length === 1), "every item has exactly one shard");
  assertEquals(owners.map((o) => o[0]), [0, 1, 2, 0, 1, 2, 0]);
});

Deno.test("xai: 3 shard processes + merge, and runs killed with SIGKILL then resumed, equal one process byte for byte", async () => {
  await using dir = await testDir();
  const { data, outs } = await scaleOutScenario(dir.path);
  const xaiArgs = (out: string, ...more: string[]) => [
    "run",
    ...STAGE_FLAGS,
    "mod.ts",
    "xai",
    ...["--backend", "cpu", "--data", data, "--out", out],
    ...["--methods", "gradcam,saliency", "--chunk-size", "1"],
    ...more,
  ];

  // The three scenarios touch separate outputs folders, so they run side by side.
  const unsharded = async () => {
    const one = await runDeno(xaiArgs(outs.one));
    assertEquals(one.code, 0, one.stderr);
  };
  const sharded = async () => {
    // Shard 2 through Kubernetes' variable, the others through --shard.
    const shards = await Promise.all([
      runDeno(xaiArgs(outs.sharded, "--shard", "0/3")),
      runDeno(xaiArgs(outs.sharded, "--shard", "1/3")),
      runDeno(xaiArgs(outs.sharded, "--shards", "3"), { JOB_COMPLETION_INDEX: "2" }),
    ]);
    for (const s of shards) assertEquals(s.code, 0, s.stderr);
    assert(!(await statOrUndefined(`${outs.sharded}/explanations/ecgnet/gradcam/index.csv`)));
    const pending = await outputsStatus(outs.sharded);
    assert(
      pending.some((l) => l.stage === "xai" && !l.done && l.detail.includes("ready to merge")),
    );
    await quiet(["merge", "--out", outs.sharded]);
  };
  const killedAndResumed = async () => {
    // Kill points: after 3 maps (first run), at 6 maps (the resumed run), then to the end.
    const maps = () => countFiles(`${outs.killed}/explanations`, ".raw.npy");
    const first = await killWhen(xaiArgs(outs.killed), async () => (await maps()) >= 3);
    assert(first.killed, "the first run was killed before it finished");
    const status = await outputsStatus(outs.killed);
    assert(status.some((l) => l.stage === "xai" && !l.done && l.detail.includes("pending chunks")));
    const second = await killWhen(xaiArgs(outs.killed), async () => (await maps()) >= 6);
    assert(second.killed || second.result.code === 0);
    const last = await runDeno(xaiArgs(outs.killed));
    assertEquals(last.code, 0, last.stderr);
  };
  await Promise.all([unsharded(), sharded(), killedAndResumed()]);

  const reference = await readTree(outs.one, explanationsOnly);
  assertEquals(reference.size, 2 * (1 + 4 * 4), "2 methods x (index + 4 images x 4 files)");
  for (const out of [outs.sharded, outs.killed]) {
    const tree = await readTree(out, (p) => p.startsWith("explanations/"));
    assertEquals(
      treeDifferences(reference, new Map([...tree].filter(([p]) => explanationsOnly(p)))),
      [],
    );
    const timings: string[][] = parseCsv(
      await Deno.readTextFile(`${out}/explanations/ecgnet/saliency/timings.csv`),
    );
    assertEquals(timings.length, 5, "timings.csv: header and one row per image");
  }
  assert((await outputsStatus(outs.killed)).every((l) => l.done));
});
