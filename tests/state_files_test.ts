import { assert, assertEquals, assertRejects } from "./assert.ts";
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { buildModel } from "../models/registry.ts";
import { preparePartsDir, readAllParts, readPartsState, writePart } from "../runs/shard.ts";
import { loadWeightsInto, readCheckpointMeta, writeCheckpoint } from "../training/checkpoint_io.ts";
import { readResumeManifest } from "../training/resume_state.ts";
import { runDeno, STAGE_FLAGS } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";

/** A damaged state file is one InputError line naming the file and the way out. */
async function assertDamaged(
  read: () => Promise<unknown>,
  file: string,
  fix: string,
): Promise<void> {
  const e = await assertRejects(read, InputError, `${file}: damaged`);
  assert(e.message.includes(fix), e.message);
  assert(!e.message.includes("\n"), e.message);
}

Deno.test("checkpoint: meta.json or model.json that is not JSON, imgSizePx 100000: one line with the fix", async () => {
  await using dir = await testDir();
  await tf.setBackend("cpu");
  const best = `${dir.path}/ecgnet_best`;
  const model = buildModel("ecgnet", { numClasses: 2, imgSizePx: 32, seed: 1 });
  const meta = {
    model: "ecgnet",
    classes: ["A", "B"],
    imgSizePx: 32,
    epoch: 1,
    valAccuracy: 0.5,
    config: {},
  };
  await writeCheckpoint(best, model, meta);
  assertEquals((await readCheckpointMeta(best)).imgSizePx, 32);
  await loadWeightsInto(model, best);

  const fix = `delete the folder ${best} and train again`;
  await Deno.writeTextFile(`${best}/meta.json`, '{"model": "ecg');
  await assertDamaged(() => readCheckpointMeta(best), `${best}/meta.json`, fix);
  await Deno.writeTextFile(`${best}/meta.json`, JSON.stringify({ ...meta, imgSizePx: 100000 }));
  const big = await assertRejects(() => readCheckpointMeta(best), InputError, "imgSizePx");
  assert(big.message.includes("got 100000") && big.message.includes(fix), big.message);
  await Deno.writeTextFile(`${best}/meta.json`, JSON.stringify({ ...meta, classes: "A,B" }));
  await assertDamaged(() => readCheckpointMeta(best), `${best}/meta.json`, fix);

  const modelJson = await Deno.readTextFile(`${best}/model.json`);
  await Deno.writeTextFile(`${best}/model.json`, modelJson.slice(0, modelJson.length / 2));
  await assertDamaged(() => loadWeightsInto(model, best), `${best}/model.json`, fix);
  await Deno.writeTextFile(`${best}/model.json`, '{"weightsManifest": [{"weights": 3}]}');
  await assertDamaged(() => loadWeightsInto(model, best), `${best}/model.json`, fix);
  model.dispose();
});

const STATE = {
  version: 1,
  settings: { model: "ecgnet" },
  epochsDone: 1,
  folder: "epoch-0001",
  optimizerStep: 4,
  earlyStopping: { bestValAccuracy: 0.5, bestEpoch: 1, epochsWithoutImprovement: 0 },
  history: [{
    epoch: 1,
    trainLoss: null,
    valLoss: 1,
    trainAccuracy: 0.5,
    valAccuracy: 0.5,
    seconds: 2,
  }],
  stoppedEarly: false,
};

Deno.test("resume state: a truncated or wrong state.json names the file and --fresh", async () => {
  await using dir = await testDir();
  const last = `${dir.path}/checkpoints/ecgnet_last`;
  await Deno.mkdir(last, { recursive: true });
  const text = JSON.stringify(STATE);
  await Deno.writeTextFile(`${last}/state.json`, text);
  assertEquals((await readResumeManifest(last))?.epochsDone, 1);
  for (const bad of [text.slice(0, 40), JSON.stringify({ ...STATE, folder: "../../x" }), "[]"]) {
    await Deno.writeTextFile(`${last}/state.json`, bad);
    await assertDamaged(() => readResumeManifest(last), `${last}/state.json`, "pass --fresh");
  }

  // Through a stage: one line on stderr, no stack trace, on every rerun.
  await Deno.writeTextFile(`${last}/state.json`, text.slice(0, 40));
  for (let run = 0; run < 2; run++) {
    const status = await runDeno(["run", ...STAGE_FLAGS, "mod.ts", "status", "--out", dir.path]);
    assertEquals(status.code, 1, status.stderr);
    const lines = status.stderr.trim().split("\n");
    assertEquals(lines.length, 1, status.stderr);
    assert(lines[0].startsWith(`error: ${last}/state.json: damaged`), status.stderr);
  }
});

Deno.test("shard parts: a damaged plan.json or part CSV names the file and what to delete", async () => {
  await using dir = await testDir();
  const folder = `${dir.path}/xai/ecgnet/saliency`;
  await preparePartsDir(folder, "fp", 2);
  await writePart(folder, "fp", 0, 2, "id,seconds\na,1\n");
  await writePart(folder, "fp", 1, 2, "id,seconds\nb,2\n");
  assertEquals((await readAllParts(folder)).length, 3);
  const part = `${folder}/parts/fp/chunk-00001-of-00002.csv`;
  await Deno.writeTextFile(part, 'id,seconds\n"b,2\n');
  await assertDamaged(() => readAllParts(folder), part, "delete it and run the stage again");
  await Deno.writeTextFile(part, "id,seconds\nb\n");
  await assertDamaged(() => readAllParts(folder), part, "delete it and run the stage again");
  const plan = `${folder}/parts/fp/plan.json`;
  await Deno.writeTextFile(plan, '{"chunks": ');
  await assertDamaged(() => readPartsState(folder), plan, `delete the folder ${folder}/parts/fp`);
  await Deno.writeTextFile(plan, '{"chunks": -2}');
  await assertDamaged(() => readPartsState(folder), plan, `delete the folder ${folder}/parts/fp`);
});
