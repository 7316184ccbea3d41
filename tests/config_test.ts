import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { DEFAULT_CONFIG, readConfigFile, resolveConfig, validateConfig } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { testDir } from "./test_dirs.ts";

Deno.test("defaults are the reference pipeline's settings", () => {
  const c = resolveConfig({}, {});
  assertEquals(c.imgSizePx, 224);
  assertEquals(c.batchSize, 64);
  assertEquals(c.epochs, 15);
  assertEquals(c.learningRate, 3e-4);
  assertEquals(c.weightDecay, 1e-4);
  assertEquals(c.patience, 5);
  assertEquals(c.seed, 42);
  assertEquals(c.classes, ["Abnormal", "HistoryMI", "MI", "Normal"]);
});

Deno.test("flags override the config file, which overrides defaults", async () => {
  await using dir = await testDir();
  const file = `${dir.path}/c.json`;
  await Deno.writeTextFile(file, JSON.stringify({ epochs: 3, seed: 9 }));
  const args = await parseStageArgs(
    { name: "t", summary: "", shared: ["config", "seed", "img-size", "models"] },
    ["--config", file, "--seed", "11", "--img-size", "128", "--models", "resnet18, ecgnet"],
  );
  assertEquals(args!.config.epochs, 3);
  assertEquals(args!.config.seed, 11);
  assertEquals(args!.config.imgSizePx, 128);
  assertEquals(args!.config.models, ["resnet18", "ecgnet"]);
});

Deno.test("a bad field names the source, the field, the value and what is allowed", () => {
  const e = assertThrows(
    () => validateConfig({ ...DEFAULT_CONFIG, imgSizePx: "big" }, "run.json"),
    InputError,
  );
  assert(e.message.includes("run.json"), e.message);
  assert(e.message.includes('"imgSizePx"'), e.message);
  assert(e.message.includes('"big"'), e.message);
  assert(/number/i.test(e.message), e.message);
});

Deno.test("unknown config fields are refused with the list of allowed ones", async () => {
  await using dir = await testDir();
  const file = `${dir.path}/c.json`;
  await Deno.writeTextFile(file, JSON.stringify({ epoch: 3 }));
  const e = await assertRejects(() => readConfigFile(file), InputError);
  assert(e.message.includes(file) && e.message.includes('"epoch"'), e.message);
  assert(e.message.includes("epochs"), e.message);
});

Deno.test("config files that are missing or not JSON objects are clear errors", async () => {
  await using dir = await testDir();
  await assertRejects(() => readConfigFile(`${dir.path}/none.json`), InputError, "not found");
  await Deno.writeTextFile(`${dir.path}/bad.json`, "{ epochs: 3");
  await assertRejects(() => readConfigFile(`${dir.path}/bad.json`), InputError, "not valid JSON");
  await Deno.writeTextFile(`${dir.path}/arr.json`, "[1]");
  await assertRejects(() => readConfigFile(`${dir.path}/arr.json`), InputError, "one JSON object");
});

Deno.test("bad flag values and unknown flags are input errors", async () => {
  const spec = { name: "t", summary: "", shared: ["seed", "backend", "limit"] as const };
  await assertRejects(() => parseStageArgs(spec, ["--seed", "x"]), InputError, '"seed"');
  await assertRejects(() => parseStageArgs(spec, ["--seed", "0"]), InputError, '"seed"');
  await assertRejects(() => parseStageArgs(spec, ["--backend", "tpu"]), InputError, '"backend"');
  await assertRejects(() => parseStageArgs(spec, ["--limit=-2"]), InputError, '"limit"');
  await assertRejects(() => parseStageArgs(spec, ["--epochs", "2"]), InputError, "--help");
});

Deno.test("duplicate class names are refused", () => {
  assertThrows(
    () => validateConfig({ ...DEFAULT_CONFIG, classes: ["A", "A"] }, "x"),
    InputError,
    "unique",
  );
});

Deno.test("train flags: --no-augment and --augment-fill map to config fields and are validated", async () => {
  const { trainingConfig } = await import("../stages/train.ts");
  const c = trainingConfig(DEFAULT_CONFIG, { "no-augment": true, "augment-fill": "255" });
  assertEquals([c.augment, c.augmentFillGray], [false, 255]);
  assertThrows(
    () => trainingConfig(DEFAULT_CONFIG, { "augment-fill": "300" }),
    InputError,
    "augmentFillGray",
  );
  assertThrows(
    () => trainingConfig(DEFAULT_CONFIG, { "augment-fill": "white" }),
    InputError,
    '"white"',
  );
});
