/**
 * Provenance (issue 15 §1): outputs of different runs never mix. Each output records its data
 * set, checkpoint, settings and version; readers leave out what belongs to another checkpoint or
 * data set and say so; another data set is another run for `train`; a rerun for a subset keeps
 * the rest; a resumed run keeps what it finished; shards with other settings are refused.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { dashboardData } from "../plots/dashboard/dashboard_data.ts";
import { readCheckpointMeta } from "../training/checkpoint_io.ts";
import { readProvenance } from "../runs/provenance.ts";
import { readPartsState } from "../runs/shard.ts";
import { OutputSelection } from "../runs/selection.ts";
import { outputsStatus } from "../stages/status.ts";
import { runMain as run } from "./stage_runner.ts";
import { countFiles, killWhen, runDeno, STAGE_FLAGS } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";
import {
  SYNTH_CLASS_NAMES,
  writeTinySyntheticSet,
  writeUntrainedCheckpoint,
} from "./training_fixtures.ts";

async function csvRows(path: string): Promise<string[][]> {
  return parseCsv(await Deno.readTextFile(path));
}

async function exists(path: string): Promise<boolean> {
  return (await statOrUndefined(path)) !== undefined;
}

Deno.test("demo data, then other data: another run, kept whole; stages default to the training data; readers never mix", async () => {
  await using dir = await testDir();
  const [a, b, out] = ["a", "b", "out"].map((name) => join(dir.path, name));
  await writeSyntheticDataset({ outDir: a, perClass: 4, seed: 3, widthPx: 160 });
  await writeSyntheticDataset({ outDir: b, perClass: 5, seed: 4, widthPx: 160 });
  const common = ["--backend", "cpu", "--out", out];
  const one = ["--workers", "1"];
  const trainOn = (data: string) =>
    run(["train", ...common, "--data", data, "--img-size", "32", "--epochs", "1"]);
  const ok = async (argv: string[]) => {
    const r = await run(argv);
    assertEquals(r.code, 0, `${argv.join(" ")}: ${r.err}`);
    return r;
  };

  // The first run (the demo's part): trained on a, explained and scored without --data.
  assertEquals((await trainOn(a)).code, 0);
  const metaA = await readCheckpointMeta(join(out, "checkpoints", "ecgnet_best"));
  assertEquals(metaA.data?.root, a);
  assert(metaA.data!.files > 0 && metaA.version !== undefined);
  await ok(["xai", ...common, ...one, "--methods", "gradcam,saliency"]);
  await ok([
    "quantus",
    ...common,
    ...one,
    "--methods",
    "gradcam,saliency",
    "--metrics",
    "sparseness",
  ]);
  const xaiRecord = (await readProvenance(out, "xai", "ecgnet", "saliency"))!;
  assertEquals(xaiRecord.data.root, a, "without --data, xai ran on the training data");
  assertEquals(xaiRecord.checkpoint.fingerprint.length, 16);
  assert("--target" in xaiRecord.settings && xaiRecord.version !== "", xaiRecord.version);

  // The real data: no resume conflict; the first run, and what was made from it, is kept.
  const second = await trainOn(b);
  assertEquals(second.code, 0, second.err);
  const kept = join(out, "runs", `a-${metaA.data!.fingerprint.slice(0, 8)}`);
  assert(second.out.includes(`kept in ${kept}`), second.out);
  for (
    const path of [
      "checkpoints/ecgnet_best/meta.json",
      "checkpoints/ecgnet_last/state.json",
      "metrics/ecgnet/history.csv",
      "explanations/ecgnet/saliency/index.csv",
      "metrics/quantus_ecgnet_saliency.csv",
      "provenance/xai/ecgnet/saliency.json",
    ]
  ) {
    assert(await exists(join(kept, path)), path);
  }
  assert(!(await exists(join(out, "explanations", "ecgnet", "saliency"))), "moved, not copied");
  assertEquals((await readCheckpointMeta(join(out, "checkpoints", "ecgnet_best"))).data?.root, b);
  const status = await outputsStatus(out);
  assert(status.some((l) => l.stage === "runs" && l.detail.includes(kept)), JSON.stringify(status));
  const trained = status.find((l) => l.stage === "train")!;
  assert(trained.detail.includes(`data ${b}`) && trained.detail.includes("checkpoint "));

  // Without --data the stages use b; given a, eval says so in one line and records both.
  await ok(["xai", ...common, ...one, "--methods", "saliency"]);
  await ok(["quantus", ...common, ...one, "--methods", "saliency", "--metrics", "sparseness"]);
  assertEquals((await readProvenance(out, "quantus", "ecgnet", "saliency"))!.data.root, b);
  const summary = await csvRows(join(out, "results", "quantus_summary.csv"));
  assertEquals(summary.slice(1).map((r) => r[1]), ["saliency"], "only the real data's rows");
  const onA = await ok(["eval", ...common, "--data", a]);
  const said = onA.out.split("\n").filter((l) => l.includes("not the data it was trained on"));
  assertEquals(said.length, 1, onA.out);
  const evalRecord = (await readProvenance(out, "eval", "ecgnet"))!;
  assertEquals([evalRecord.data.root, evalRecord.trainedOn?.root], [a, b]);

  // Readers describe b: the evaluation on a is left out and named, with why.
  const plan = await planCharts({ out, data: b, classes: SYNTH_CLASS_NAMES, seed: 42 });
  const leftOut = plan.leftOut ?? [];
  assertEquals(leftOut.length, 1, leftOut.join("\n"));
  assert(leftOut[0].includes("metrics/ecgnet/confusion_matrix.csv"), leftOut[0]);
  assert(leftOut[0].includes(`it describes ${a}`) && leftOut[0].includes(b), leftOut[0]);
  assert(!plan.charts.some((c) => c.name === "confusion_matrix"), "no chart of the other data");
  assertEquals(plan.performance?.records.length ?? 0, 0, "nor its table row");
  assertEquals(plan.quantus?.map((r) => r.method), ["saliency"]);
  // Given --data a, the same folder describes a: the evaluation is in, the rest is out.
  const onAPlan = await planCharts({
    out,
    data: a,
    classes: SYNTH_CLASS_NAMES,
    seed: 42,
    selection: await OutputSelection.open(out, { data: a }),
  });
  assert(onAPlan.charts.some((c) => c.name === "confusion_matrix"));
  assert((onAPlan.leftOut ?? []).some((l) => l.includes("explanations/ecgnet/saliency")));

  // Explanations on a are left out of the dashboard and the figures, named once.
  await ok(["xai", ...common, ...one, "--data", a, "--methods", "saliency"]);
  const afterXai = await planCharts({ out, data: b, classes: SYNTH_CLASS_NAMES, seed: 42 });
  assert((afterXai.leftOut ?? []).some((l) => l.includes("explanations/ecgnet/saliency")));
  assertEquals((await dashboardData(out, afterXai)).images.length, 0);
  // An earlier data set's figures of another size or class do not stay beside the new ones.
  const figuresDir = join(out, "plots", "figures");
  await Deno.mkdir(figuresDir, { recursive: true });
  for (const stem of ["pixel_grid_999px", "ecg_examples_Gone"]) {
    await Deno.writeTextFile(join(figuresDir, `${stem}.svg`), "<svg/>");
  }
  const figures = await ok(["viz", ...common, "--methods", "saliency"]);
  assert(!(await exists(join(figuresDir, "pixel_grid_999px.svg"))));
  assert(!(await exists(join(figuresDir, "ecg_examples_Gone.svg"))));
  assert(await exists(join(figuresDir, "pixel_grid_32px.svg")));
  assert(figures.out.includes("left out explanations/ecgnet/saliency"), figures.out);
  assert(!(await exists(join(out, "plots", "figures", "heatmap_grid_ecgnet.png"))));
  const stale = (await outputsStatus(out)).find((l) =>
    l.what === "ecgnet saliency" && l.stage === "xai"
  )!;
  assert(!stale.done && stale.stale !== undefined, JSON.stringify(stale));
  // The leads stage reads through the same selection: without --data it describes b, so the
  // maps of a are named and left out; given --data a, they are read.
  const leadsOnB = await run(["leads", "--out", out, "--methods", "saliency"]);
  assertEquals(leadsOnB.code, 1, leadsOnB.out);
  assert(leadsOnB.out.includes("left out explanations/ecgnet/saliency"), JSON.stringify(leadsOnB));
  assert(leadsOnB.err.includes("but the 1 left out above"), leadsOnB.err);
  const leadsOnA = await ok(["leads", "--out", out, "--data", a, "--methods", "saliency"]);
  assert(!leadsOnA.out.includes("left out"), leadsOnA.out);
  assert(await exists(join(out, "leads", "ecgnet", "saliency.csv")));

  // Training on a again continues the kept run; the run on b is kept in its turn.
  const back = await trainOn(a);
  assertEquals(back.code, 0, back.err);
  assert(back.out.includes(`continuing its earlier run on ${a}`), back.out);
  assert(back.out.includes("already trained"), back.out);
  assert(!(await exists(kept)), "the kept run moved back");
  assertEquals((await readCheckpointMeta(join(out, "checkpoints", "ecgnet_best"))).data?.root, a);
  assert(await exists(join(out, "explanations", "ecgnet", "gradcam", "index.csv")));
});

Deno.test("quantus for a subset of metrics or images keeps the rest; a finished method is not redone", async () => {
  await using dir = await testDir();
  const data = join(dir.path, "ds"), out = join(dir.path, "out");
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(join(out, "checkpoints", "ecgnet_best"));
  const file = join(out, "metrics", "quantus_ecgnet_saliency.csv");
  const quantus = async (...more: string[]) => {
    const r = await run([
      ...["quantus", "--backend", "cpu", "--workers", "1", "--data", data, "--out", out],
      ...more,
    ]);
    assertEquals(r.code, 0, r.err);
    return r;
  };
  await quantus("--methods", "saliency", "--metrics", "sparseness,complexity,effective_complexity");
  const full = await csvRows(file);
  assertEquals(full[0].slice(4), [
    "sparseness",
    "complexity",
    "effective_complexity",
    "nan_reasons",
  ]);
  assertEquals(full.length, 1 + 4);

  const again = await quantus("--methods", "saliency", "--metrics", "sparseness");
  assert(again.out.includes("saliency: already done"), again.out);
  assertEquals(await csvRows(file), full, "nothing rescored, nothing dropped");

  // Other parameters for one metric: only its column is scored again, the others stay.
  await quantus(
    ...["--methods", "saliency", "--metrics", "effective_complexity"],
    ...["--params", '{"effective_complexity": {"eps": 0.5}}'],
  );
  const replaced = await csvRows(file);
  assertEquals(replaced[0], full[0]);
  assertEquals(replaced.map((r) => r.slice(0, 6)), full.map((r) => r.slice(0, 6)));
  const columns = (await readProvenance(out, "quantus", "ecgnet", "saliency"))!.columns!;
  assertEquals(Object.keys(columns), ["sparseness", "complexity", "effective_complexity"]);

  // One image of each class's split: its row is replaced, the other rows stay.
  await quantus("--methods", "saliency", "--metrics", "pointing_game", "--limit", "1");
  const rows = await csvRows(file);
  assertEquals(rows.length, 1 + 4, "the images the run did not score stay");
  assertEquals(rows[0].slice(4), [...full[0].slice(4, -1), "pointing_game", "nan_reasons"]);
  const unscored = rows.slice(1).filter((r) => r[7].startsWith("NaN"));
  assertEquals(unscored.length, 3, "the new metric's cells of the other images say so");
  assert(unscored.every((r) => r.at(-1)!.includes("pointing_game: not scored")), rows.join("\n"));
  const summary = await csvRows(join(out, "results", "quantus_summary.csv"));
  assertEquals(summary.slice(1).map((r) => r[2]).sort(), [
    "complexity",
    "effective_complexity",
    "pointing_game",
    "sparseness",
  ]);

  // The same for xai: a run on one image keeps the others' files and rows.
  const xai = (...more: string[]) =>
    run([
      "xai",
      "--backend",
      "cpu",
      "--data",
      data,
      "--out",
      out,
      "--methods",
      "saliency",
      ...more,
    ]);
  assertEquals((await xai()).code, 0);
  assertEquals((await xai("--limit", "1")).code, 0);
  const index = await csvRows(join(out, "explanations", "ecgnet", "saliency", "index.csv"));
  assertEquals(index.length, 1 + 4);
  for (const [id] of index.slice(1)) {
    assert(await exists(join(out, "explanations", "ecgnet", "saliency", "overlay", `${id}.png`)));
  }
});

Deno.test("quantus killed with SIGKILL during the third method keeps the first two when resumed", async () => {
  await using dir = await testDir();
  const data = join(dir.path, "ds"), out = join(dir.path, "out");
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(join(out, "checkpoints", "ecgnet_best"));
  const methods = ["saliency", "gradcam", "input_x_gradient"];
  const args = [
    ...["run", ...STAGE_FLAGS, "mod.ts", "quantus", "--backend", "cpu", "--workers", "1"],
    ...["--data", data, "--out", out, "--methods", methods.join(","), "--chunk-size", "1"],
    ...["--metrics", "sparseness"],
  ];
  const third = join(out, "metrics", "quantus_ecgnet_input_x_gradient");
  const first = await killWhen(args, async () => (await countFiles(third, ".csv")) >= 1);
  assert(first.killed, "killed during the third method");
  const resumed = await runDeno(args);
  assertEquals(resumed.code, 0, resumed.stderr);
  for (const method of methods.slice(0, 2)) {
    assert(
      resumed.stdout.includes(`${method}: resuming, 4 of 4 chunk(s) already done`),
      resumed.stdout,
    );
  }
  assert(/input_x_gradient: resuming, [1-4] of 4/.test(resumed.stdout), resumed.stdout);
  assert((await outputsStatus(out)).every((l) => l.done));
  const rerun = await runDeno(args);
  assertEquals(methods.filter((m) => rerun.stdout.includes(`${m}: already done`)), methods);
});

Deno.test("a shard with other settings is refused naming the flag, and removes no shard's work", async () => {
  await using dir = await testDir();
  const data = join(dir.path, "ds"), out = join(dir.path, "out");
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(join(out, "checkpoints", "ecgnet_best"));
  const xai = (...more: string[]) =>
    run([
      ...["xai", "--backend", "cpu", "--workers", "1", "--data", data, "--out", out],
      ...["--methods", "saliency"],
      ...["--chunk-size", "1", ...more],
    ]);
  const folder = join(out, "explanations", "ecgnet", "saliency");
  // Three images in chunks of one: shard 0 explains chunks 0 and 2.
  const shard0 = await xai("--limit", "3", "--shard", "0/2");
  assertEquals(shard0.code, 0, shard0.err);
  const before = await readPartsState(folder);
  assertEquals(before?.done, [0, 2]);
  const refused = await xai("--limit", "2", "--shard", "1/2");
  assertEquals(refused.code, 1);
  assert(refused.err.includes("--limit: 3 (parts) vs 2 (this run)"), refused.err);
  assert(refused.err.split("\n").length === 1 && !refused.err.includes("    at "), refused.err);
  assertEquals(await readPartsState(folder), before, "shard 0's part is still there");
  // An unsharded run with other settings is refused too: the parts are a sharded run's work.
  assertEquals((await xai("--limit", "2")).code, 1);
  // The matching shard finishes the run and merge writes what one run writes.
  assertEquals((await xai("--limit", "3", "--shard", "1/2")).code, 0);
  const merged = await run(["merge", "--out", out]);
  assertEquals(merged.code, 0, merged.err);
  assertEquals((await csvRows(join(folder, "index.csv"))).length, 1 + 3);
  const record = (await readProvenance(out, "xai", "ecgnet", "saliency"))!;
  assertEquals([record.data.root, record.settings["--limit"]], [data, 3]);
});
