import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { outputsStatus } from "../stages/status.ts";
import { killWhen, runDeno, STAGE_FLAGS } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";

/** history.csv without its `seconds` column, the one value that differs between runs. */
async function historyWithoutSeconds(out: string): Promise<string[][]> {
  const rows: string[][] = parseCsv(await Deno.readTextFile(`${out}/metrics/ecgnet/history.csv`));
  const seconds = rows[0].indexOf("seconds");
  assert(seconds >= 0, "history.csv has a seconds column");
  return rows.map((r) => r.filter((_, i) => i !== seconds));
}

async function epochsDone(out: string): Promise<number> {
  try {
    const state = JSON.parse(await Deno.readTextFile(`${out}/checkpoints/ecgnet_last/state.json`));
    return state.epochsDone;
  } catch {
    return 0;
  }
}

Deno.test("train: --shard trains its models only; SIGKILL mid-run then the same command ends where one run does", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  await writeSyntheticDataset({ outDir: data, perClass: 3, seed: 4, widthPx: 160 });
  const trainArgs = (out: string, ...more: string[]) => [
    "run",
    ...STAGE_FLAGS,
    "mod.ts",
    "train",
    ...["--backend", "wasm", "--data", data, "--out", out, "--img-size", "32"],
    ...["--epochs", "3", "--patience", "5", "--batch-size", "2", "--seed", "11"],
    ...more,
  ];
  const one = `${dir.path}/one`, killed = `${dir.path}/killed`;
  const reference = await runDeno(trainArgs(one, "--models", "resnet18,ecgnet", "--shard", "1/2"));
  assertEquals(reference.code, 0, reference.stderr);
  assertEquals(await statOrUndefined(`${one}/checkpoints/resnet18_best`), undefined);

  // Kill points: as soon as the first epoch's folder appears (possibly mid-save), then after
  // the second epoch's state is written.
  const first = await killWhen(
    trainArgs(killed),
    async () =>
      (await statOrUndefined(`${killed}/checkpoints/ecgnet_last/epoch-0001`)) !== undefined,
  );
  const second = await killWhen(trainArgs(killed), async () => (await epochsDone(killed)) >= 2);
  assert(first.killed || second.killed, "at least one run was killed before it finished");
  const pending = (await outputsStatus(killed)).find((l) => l.stage === "train");
  assert(pending && (!pending.done || !second.killed), JSON.stringify(pending));
  const last = await runDeno(trainArgs(killed));
  assertEquals(last.code, 0, last.stderr);
  assert((await outputsStatus(killed)).every((l) => l.done));

  for (const file of ["ecgnet_best/weights.bin", "ecgnet_best/model.json"]) {
    assertEquals(
      await Deno.readFile(`${killed}/checkpoints/${file}`),
      await Deno.readFile(`${one}/checkpoints/${file}`),
      file,
    );
  }
  assertEquals(await historyWithoutSeconds(killed), await historyWithoutSeconds(one));
});
