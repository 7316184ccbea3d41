import { assert, assertEquals } from "./assert.ts";
import { runMain as run } from "./stage_runner.ts";
import { pathExists, testDir } from "./test_dirs.ts";
import { tinyPng, writeImageFolder, writeRawFolder } from "./fixtures.ts";
import { symlink } from "./symlink.ts";

const AB = JSON.stringify({ classes: ["A", "B"] });

/** Flags pointing a stage at `<dir>/ds`, `<dir>/out` and the two-class config `<dir>/c.json`. */
function folderArgs(dir: string): string[] {
  return ["--data", `${dir}/ds`, "--out", `${dir}/out`, "--config", `${dir}/c.json`];
}

Deno.test("mod.ts lists the stages, and every stage has --help", async () => {
  const listing = await run(["--help"]);
  assertEquals(listing.code, 0);
  for (const stage of ["data:synth", "data:split", "data:check", "demo"]) {
    assert(listing.out.includes(stage), listing.out);
    const help = await run([stage, "--help"]);
    assertEquals(help.code, 0);
    assert(help.out.includes(`deno task ${stage}`) && help.out.includes("--help"), help.out);
  }
  const unknown = await run(["trian"]);
  assertEquals(unknown.code, 2);
  assert(unknown.err.includes('unknown stage "trian"') && unknown.err.includes("data:check"));
});

Deno.test("data:check loads a data set, honours --limit and fills the cache", async () => {
  await using dir = await testDir();
  await writeImageFolder(`${dir.path}/ds`, { train: 4, val: 2, test: 2 }, ["A", "B"]);
  await Deno.writeTextFile(`${dir.path}/c.json`, AB);
  const args = folderArgs(dir.path);
  const r = await run(["data:check", ...args, "--img-size", "32", "--limit", "3"]);
  assertEquals(r.code, 0, r.err);
  assert(r.out.includes("train: A 2, B 1"), r.out);
  assert(r.out.includes("9 images at 32px"), r.out);
  const cached = [...Deno.readDirSync(`${dir.path}/out/cache/images`)];
  // Keyed by content: the fixtures' 9 files hold only 2 distinct images.
  assertEquals(cached.length, 2);
});

Deno.test("a bad image fails the stage with one line naming it; skip lists it", async () => {
  await using dir = await testDir();
  await writeImageFolder(`${dir.path}/ds`, { train: 2, val: 1, test: 1 }, ["A", "B"]);
  await Deno.writeFile(`${dir.path}/ds/val/B/broken.jpg`, new TextEncoder().encode("not a jpeg"));
  await Deno.writeTextFile(`${dir.path}/c.json`, AB);
  const args = folderArgs(dir.path);
  const failed = await run(["data:check", ...args, "--img-size", "16"]);
  assertEquals(failed.code, 1);
  assert(failed.err.startsWith("error: ") && failed.err.includes("broken.jpg"), failed.err);
  assert(!failed.err.includes("    at "), "no stack trace for input errors");
  assert(!(await pathExists(`${dir.path}/out/results`)), "no partial outputs");
  const skipped = await run(["data:check", ...args, "--img-size", "16", "--on-bad-image", "skip"]);
  assertEquals(skipped.code, 0, skipped.err);
  const list = await Deno.readTextFile(`${dir.path}/out/results/skipped_images_data_check.csv`);
  assert(list.includes("broken.jpg"), list);
  assert(skipped.err.includes("broken.jpg"), skipped.err);
});

Deno.test("data:check reports every bad file; skip that empties a split is an error", async () => {
  await using dir = await testDir();
  await writeImageFolder(`${dir.path}/ds`, { train: 2, val: 1, test: 1 }, ["A", "B"]);
  const bad = new TextEncoder().encode("not an image");
  for (const file of ["train/A/bad1.jpg", "val/B/bad2.png", "test/A/A(1).png", "test/B/B(1).png"]) {
    await Deno.writeFile(`${dir.path}/ds/${file}`, bad);
  }
  await Deno.writeTextFile(`${dir.path}/c.json`, AB);
  const args = [...folderArgs(dir.path), "--img-size", "16"];
  const failed = await run(["data:check", ...args]);
  assertEquals(failed.code, 1);
  assert(failed.err.startsWith("error: 4 unreadable images"), failed.err);
  for (const name of ["bad1.jpg", "bad2.png", "A(1).png", "B(1).png"]) {
    assert(failed.err.includes(name), `${name} is reported: ${failed.err}`);
  }
  const emptied = await run(["data:check", ...args, "--on-bad-image", "skip"]);
  assertEquals(emptied.code, 1);
  assert(emptied.err.includes("every image of the test split is unreadable"), emptied.err);
  await Deno.remove(`${dir.path}/ds/test/B/B(1).png`);
  await Deno.writeFile(`${dir.path}/ds/test/B/B(1).png`, tinyPng());
  const skipped = await run(["data:check", ...args, "--on-bad-image", "skip"]);
  assertEquals(skipped.code, 0, skipped.err);
  assert(skipped.out.includes("3 skipped"), skipped.out);
});

Deno.test("a missing --data folder and a bad flag are one-line errors with exit 1", async () => {
  await using dir = await testDir();
  const missing = await run(["data:check", "--data", `${dir.path}/nope`, "--out", `${dir.path}/o`]);
  assertEquals(missing.code, 1);
  assert(missing.err.includes("folder does not exist"), missing.err);
  const bad = await run(["data:check", "--img-size", "huge"]);
  assertEquals(bad.code, 1);
  assert(bad.err.includes('"imgSizePx"') && bad.err.includes('"huge"'), bad.err);
});

Deno.test("--out through a symbolic link to a folder outside the project is refused", async () => {
  await using dir = await testDir();
  await writeImageFolder(`${dir.path}/ds`, { train: 1, val: 1, test: 1 }, ["A", "B"]);
  await Deno.writeTextFile(`${dir.path}/c.json`, AB);
  await symlink("/tmp", `${dir.path}/away`);
  await Deno.mkdir(`${dir.path}/real`);
  await symlink(`${dir.path}/real`, `${dir.path}/inside`);
  const args = ["--data", `${dir.path}/ds`, "--config", `${dir.path}/c.json`, "--img-size", "16"];
  const away = await run(["data:check", ...args, "--out", `${dir.path}/away/x`]);
  assertEquals(away.code, 1);
  assert(away.err.includes(`--out ${dir.path}/away/x`) && away.err.includes("symbolic link"));
  assert(away.err.includes("outside the project folder"), away.err);
  const inside = await run(["data:check", ...args, "--out", `${dir.path}/inside`]);
  assertEquals(inside.code, 0, inside.err);
  assert(await pathExists(`${dir.path}/real/cache/images`));
});

Deno.test("errors name the flag the user typed; a path outside gets a deno run line that works", async () => {
  await using dir = await testDir();
  const out = ["--out", `${dir.path}/out`];
  const size = await run(["data:check", ...out, "--img-size", "abc"]);
  assertEquals(size.code, 1);
  assert(size.err.startsWith('error: --img-size "abc": not a number'), size.err);
  const limit = await run(["data:check", ...out, "--limit", "-1"]);
  assertEquals(limit.code, 1);
  assert(
    limit.err.startsWith("error: --limit -1: ") && !limit.err.includes("ambiguous"),
    limit.err,
  );
  const epochs = await run(["train", ...out, "--epochs", "-3"]);
  assert(epochs.err.startsWith("error: --epochs -3: "), epochs.err);

  // A misspelt model is refused before the data set loads (this --data does not exist).
  const missing = ["--data", `${dir.path}/nope`, ...out];
  for (const stage of ["train", "eval", "xai"]) {
    const models = await run([stage, ...missing, "--models", "ecgnet,nosuch"]);
    assertEquals(models.code, 1, models.err);
    assert(models.err.startsWith("error: --models nosuch: no such model; choose from"), models.err);
  }

  const outside = `/tmp/ecg-xai-outside-${crypto.randomUUID().slice(0, 8)}`;
  const denied = await run(["data:check", "--data", outside, ...out]);
  assertEquals(denied.code, 1);
  const line = `  deno run --allow-read=.,../shared/data,${outside} --allow-write=outputs ` +
    `stages/data_check.ts --data ${outside} --out ${dir.path}/out`;
  assert(denied.err.includes(`\n${line}\n`), denied.err);
  assert(denied.err.includes("or copy the data under ./datasets"), denied.err);
});

Deno.test("data:split from the command line", async () => {
  await using dir = await testDir();
  await writeRawFolder(`${dir.path}/raw`, { A: 10, B: 20 });
  const r = await run(["data:split", "--data", `${dir.path}/raw`, "--seed", "3"]);
  assertEquals(r.code, 0, r.err);
  assert(r.out.includes("train: A 7, B 14"), r.out);
  const again = await run(["data:split", "--data", `${dir.path}/raw`]);
  assertEquals(again.code, 1);
  assert(again.err.includes("--force"), again.err);
  const ratios = await run(["data:split", "--data", `${dir.path}/raw`, "--ratios", "0.5,0.5"]);
  assertEquals(ratios.code, 1);
  assert(ratios.err.includes("--ratios"), ratios.err);
});

Deno.test("demo: synthesises the data set once, trains, evaluates, and reuses the data", async () => {
  await using dir = await testDir();
  const args = ["--out", dir.path, "--img-size", "48", "--epochs", "1", "--backend", "wasm"];
  const first = await run(["demo", ...args]);
  assertEquals(first.code, 0, first.err);
  assert(first.out.includes("backend: wasm"), first.out);
  assert(first.out.includes("600 images at 48px") && first.out.includes("600 with evidence masks"));
  const performance = await Deno.readTextFile(`${dir.path}/results/model_performance.csv`);
  assert(performance.startsWith("Model,Test Accuracy,") && performance.includes("\necgnet,"));
  const report = await Deno.readTextFile(`${dir.path}/metrics/ecgnet/classification_report.txt`);
  assert(report.includes("macro avg"), report);
  // The closing table: each method's localisation beside the controls', printed and written.
  assert(first.out.includes("Does the method point at the evidence?"), first.out);
  const table = await Deno.readTextFile(`${dir.path}/results/localisation_vs_controls.csv`);
  assert(table.startsWith("model,method,role,metric,") && table.includes(",ground_truth,"), table);
  const second = await run(["demo", ...args]);
  assertEquals(second.code, 0, second.err);
  assert(second.out.includes("reusing"), second.out);
});
