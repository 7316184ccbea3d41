import { assert, assertEquals, assertRejects } from "./assert.ts";
import { resolve } from "node:path";
import { tf } from "../deps.ts";
import { readConfigFile } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { buildModel } from "../models/registry.ts";
import { loadCheckpointModel } from "../runs/model_source.ts";
import { writeCheckpoint } from "../training/checkpoint_io.ts";
import { serveFolder } from "./serve_checkout.ts";
import { runDeno } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";
import { SYNTH_CLASS_NAMES } from "./training_fixtures.ts";

Deno.test("mod.ts from a URL, no clone: --help, data:synth, and the wasm backend from Deno's npm cache", async () => {
  await using server = serveFolder(".");
  await using dir = await testDir();
  const cwd = resolve(dir.path);
  // --no-config: nothing of the checkout's deno.json (import map, node_modules) may be needed.
  const remote = (read: string, ...argv: string[]) =>
    runDeno(
      [
        "run",
        "--no-config",
        `--allow-read=${read}`,
        "--allow-write=outputs",
        `${server.url}mod.ts`,
        ...argv,
      ],
      {},
      cwd,
    );
  const help = await remote(".", "--help");
  assertEquals(help.code, 0, help.stderr);
  assert(help.stdout.includes("xai") && help.stdout.includes("merge"), help.stdout);

  const synth = await remote(
    ".",
    "data:synth",
    "--per-class",
    "3",
    "--width",
    "160",
    "--out",
    "outputs/ds",
  );
  assertEquals(synth.code, 0, synth.stderr);
  assert(await statOrUndefined(`${cwd}/outputs/ds/test/MI`), "the data set was written");

  const train = [
    "train",
    "--data",
    "outputs/ds",
    "--img-size",
    "32",
    "--epochs",
    "1",
    "--batch-size",
    "4",
  ];
  const noCache = await remote(".", ...train, "--backend", "wasm");
  assertEquals(noCache.code, 1);
  assert(
    noCache.stderr.includes("npm cache") && !noCache.stderr.includes("    at "),
    noCache.stderr,
  );
  const info = JSON.parse((await runDeno(["info", "--json"])).stdout) as { npmCache: string };
  const wasm = await remote(`.,${info.npmCache}`, ...train, "--backend", "wasm");
  assertEquals(wasm.code, 0, wasm.stderr);
  assert(await statOrUndefined(`${cwd}/outputs/checkpoints/ecgnet_best/weights.bin`));
});

Deno.test("least privilege: a stage told to write outside its outputs folder gets Deno's permission error", async () => {
  const target = "escape-test-output";
  const result = await runDeno([
    "run",
    "--allow-read=.",
    "--allow-write=outputs",
    "mod.ts",
    ...["data:synth", "--per-class", "3", "--width", "160", "--out", `${target}/ds`],
  ]);
  assertEquals(result.code, 1);
  assert(result.stderr.includes("Requires write access"), result.stderr);
  assert(!result.stderr.includes("    at "), "one clear message, no stack trace");
  assertEquals(await statOrUndefined(target), undefined);
});

Deno.test("least privilege: paths and names in config files and checkpoints may not leave their folder", async () => {
  await using dir = await testDir();
  for (
    const bad of [
      { out: "../elsewhere" },
      { data: "/etc" },
      { data: "outputs/../../x" },
      { models: ["../../outside"] },
      { classes: ["A", "../B"] },
    ]
  ) {
    const file = `${dir.path}/bad.json`;
    await Deno.writeTextFile(file, JSON.stringify(bad));
    const field = Object.keys(bad)[0];
    await assertRejects(() => readConfigFile(file), InputError, `field "${field}`);
  }
  await Deno.writeTextFile(
    `${dir.path}/ok.json`,
    JSON.stringify({ data: "outputs/ds", out: "outputs/run" }),
  );
  assertEquals((await readConfigFile(`${dir.path}/ok.json`)).out, "outputs/run");

  await tf.setBackend("cpu");
  const checkpoint = `${dir.path}/ecgnet_best`;
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 2 });
  const meta = {
    model: "ecgnet",
    classes: SYNTH_CLASS_NAMES,
    imgSizePx: 32,
    epoch: 1,
    valAccuracy: 0,
    config: {},
  };
  await writeCheckpoint(checkpoint, model, meta);
  model.dispose();
  (await loadCheckpointModel(checkpoint)).model.dispose();
  const metaText = await Deno.readTextFile(`${checkpoint}/meta.json`);
  for (const bad of [{ classes: ["A", "B", "C", "../../D"] }, { model: "../ecgnet" }]) {
    await Deno.writeTextFile(`${checkpoint}/meta.json`, JSON.stringify({ ...meta, ...bad }));
    await assertRejects(() => loadCheckpointModel(checkpoint), InputError, "not a plain");
  }
  await Deno.writeTextFile(`${checkpoint}/meta.json`, metaText);
  const manifest = JSON.parse(await Deno.readTextFile(`${checkpoint}/model.json`));
  for (const bad of ["../../weights.bin", "/tmp/weights.bin"]) {
    manifest.weightsManifest[0].paths = [bad];
    await Deno.writeTextFile(`${checkpoint}/model.json`, JSON.stringify(manifest));
    await assertRejects(
      () => loadCheckpointModel(checkpoint),
      InputError,
      "leaves the checkpoint folder",
    );
  }
});
