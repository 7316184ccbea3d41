/**
 * The sanity checks that train (`sanity/`, `deno task sanity`): the statistics on constructed
 * data with known answers, the stage end to end on the tiny synthetic set with ecgnet at 32 px
 * and one epoch, resume after a kill, and the refusal of a real model trained otherwise.
 */
import { SeededRandom } from "../core/random.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { sanity, sanitySpec } from "../stages/sanity.ts";
import { permuteLabels } from "../sanity/label_permutation.ts";
import { mapAgreement } from "../sanity/agreement.ts";
import { chanceAccuracy, learnedLabelsWarning } from "../sanity/accuracy.ts";
import { sanityVerdict, summariseSanity } from "../sanity/summary.ts";
import type { SimilarityRow } from "../sanity/similarity_table.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { dashboardData } from "../plots/dashboard/dashboard_data.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { tinyCnn, writeTinySyntheticSet } from "./training_fixtures.ts";

Deno.test("sanity statistics: Spearman and SSIM of constructed map pairs", () => {
  const pixels = 49;
  const ramp = Float32Array.from({ length: pixels }, (_, i) => i + 1);
  // Image 0 identical, 1 scaled and sign-flipped (the same after |a| and max-normalising),
  // 2 reversed (ρ = −1), 3 a constant map (no ranks: NaN).
  const a = Float32Array.from([...ramp, ...ramp, ...ramp, ...ramp]);
  const b = Float32Array.from([
    ...ramp,
    ...ramp.map((v) => -3 * v),
    ...[...ramp].reverse(),
    ...ramp.map(() => 5),
  ]);
  const { spearman, ssim } = mapAgreement(a, b, pixels);
  assertAlmostEquals(spearman[0], 1, 1e-12);
  assertAlmostEquals(spearman[1], 1, 1e-12);
  assertAlmostEquals(spearman[2], -1, 1e-12);
  assert(Number.isNaN(spearman[3]));
  assertAlmostEquals(ssim[0], 1, 1e-12);
  assertAlmostEquals(ssim[1], 1, 1e-12);
  assert(ssim[2] < 0.5, `reversed ramp SSIM ${ssim[2]}`);
  // A hand-checked Spearman: ranks (1,2,3,4,5,6,7) vs (2,1,3,4,5,6,7): 1 − 6·2/(7·48) = 27/28.
  const swapped = Float32Array.from([2, 1, 3, 4, 5, 6, 7]);
  const seven = mapAgreement(Float32Array.from([1, 2, 3, 4, 5, 6, 7]), swapped, 7);
  assertAlmostEquals(seven.spearman[0], 27 / 28, 1e-12);
});

Deno.test("sanity statistics: the summary and verdict of constructed similarities", () => {
  const rows: SimilarityRow[] = [];
  const add = (method: string, comparison: SimilarityRow["comparison"], image: number, v: number) =>
    rows.push({
      model: "m",
      method,
      comparison,
      seedA: 1,
      seedB: comparison === "seeds" ? 2 : 1,
      image: `i${image}`,
      spearman: v,
      ssim: v,
    });
  for (let image = 0; image < 20; image++) {
    // "dependent": maps change with the labels (≈0.1) but not with the seed (≈0.9).
    add("dependent", "data_randomisation", image, 0.1 + 0.01 * (image % 3));
    add("dependent", "seeds", image, 0.9);
    add("dependent", "seeds", image, 0.8); // a second pair: the image's seed value is 0.85
    // "independent": the model does not matter, every pair alike.
    add("independent", "data_randomisation", image, 1);
    add("independent", "seeds", image, 1);
  }
  const summary = summariseSanity(rows, 7);
  const of = (method: string) =>
    summary.find((r) => r.method === method && r.statistic === "spearman")!;
  assertEquals(summary.length, 4);
  assertAlmostEquals(of("dependent").seeds.mean, 0.85, 1e-12);
  assertEquals(of("dependent").seeds.n, 20);
  assertAlmostEquals(of("dependent").permuted.mean, (7 * 0.1 + 7 * 0.11 + 6 * 0.12) / 20, 1e-12);
  assert(of("dependent").permuted.ci95Low <= of("dependent").permuted.mean);
  assert(of("dependent").permuted.ci95High >= of("dependent").permuted.mean);
  assertEquals(of("dependent").verdict, "passes");
  assertEquals(of("independent").verdict, "fails");
  // The same rows give the same intervals (the bootstrap is seeded).
  assertEquals(summariseSanity(rows, 7), summary);
  const s = (mean: number, low: number, high: number) => ({
    n: 5,
    mean,
    std: 0,
    ci95Low: low,
    ci95High: high,
    nanCount: 0,
  });
  assertEquals(sanityVerdict(s(0.5, 0.4, 0.6), s(0.55, NaN, NaN)), "inconclusive");
});

Deno.test("sanity: label permutation keeps each split's class counts and is seeded", () => {
  const image = { widthPx: 1, heightPx: 1, data: new Uint8Array(1) };
  const samples = Array.from({ length: 40 }, (_, i) => ({
    id: `s${i}`,
    file: `${i}.png`,
    label: i % 4,
    className: "ABCD"[i % 4],
    split: (i < 30 ? "train" : "val") as "train" | "val",
  }));
  const loaded = { samples, images: samples.map(() => image), skipped: [] };
  const once = permuteLabels(loaded, new SeededRandom(9), ["train", "val"]);
  const again = permuteLabels(loaded, new SeededRandom(9), ["train", "val"]);
  assertEquals(once.samples, again.samples);
  for (const split of ["train", "val"]) {
    const counts = (s: readonly { split: string; label: number }[]) =>
      s.filter((x) => x.split === split).map((x) => x.label).sort().join();
    assertEquals(counts(once.samples), counts(samples));
  }
  const moved = once.samples.filter((s, i) => s.label !== samples[i].label).length;
  assert(moved > 20, `only ${moved} of 40 labels moved`);
  assertEquals(chanceAccuracy(samples.slice(0, 5).map((s) => s.label)), 0.4);
  const row = {
    model: "m",
    checkpoint: "m",
    role: "real" as const,
    seed: 1,
    bestEpoch: 1,
    trainAccuracy: 1,
    testAccuracy: 0.75,
    chanceAccuracy: 0.25,
  };
  const permuted = { ...row, checkpoint: "m-labels-permuted", role: "permuted_labels" as const };
  assertEquals(learnedLabelsWarning([row, { ...permuted, testAccuracy: 0.25 }]), undefined);
  assert(learnedLabelsWarning([row, { ...permuted, testAccuracy: 0.5 }]) !== undefined);
});

Deno.test("deno task sanity --help names the outputs and how to read them", async () => {
  const help = await runMain(["sanity", "--help"]);
  assertEquals(help.code, 0, help.err);
  for (const text of ["sanity_data_randomisation.csv", "sanity_seeds.csv", "--seeds K", "fails"]) {
    assert(help.out.includes(text), `--help lacks ${text}:\n${help.out}`);
  }
  const bad = await runMain(["sanity", "--seeds", "1"]);
  assertEquals(bad.code, 1);
  assert(bad.err.includes("--seeds 1"), bad.err);
});

Deno.test({
  name: "deno task sanity: ecgnet at 32 px, one epoch, two seeds, on the tiny synthetic set",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await testDir();
    await writeTinySyntheticSet(`${dir.path}/ds`);
    const args = [
      ...["--data", `${dir.path}/ds`, "--out", `${dir.path}/out`, "--models", "ecgnet"],
      ...["--img-size", "32", "--epochs", "1", "--batch-size", "8", "--backend", "wasm"],
      ...["--seeds", "2", "--methods", "saliency,sobel"],
    ];
    const { code, out, err } = await runMain(["sanity", ...args]);
    assertEquals(code, 0, err);
    assert(
      /ecgnet-labels-permuted: test accuracy [\d.]+ on the true labels \(chance 0\.250/.test(out),
      out,
    );
    const root = `${dir.path}/out/sanity`;
    const data = (await Deno.readTextFile(`${root}/sanity_data_randomisation.csv`)).trim().split(
      "\n",
    );
    assertEquals(data[0], "model,method,image,spearman,ssim");
    assertEquals(data.length, 1 + 2 * 4); // two methods, four test images
    const seeds = (await Deno.readTextFile(`${root}/sanity_seeds.csv`)).trim().split("\n");
    assertEquals(seeds[0], "model,method,seed_a,seed_b,image,spearman,ssim");
    assert(seeds.slice(1).every((l) => l.includes(",42,43,")), seeds.join("\n"));
    assertEquals(seeds.length, 1 + 2 * 4);
    // Sobel reads no model: identical maps for every model, so it fails by construction.
    const summary = (await Deno.readTextFile(`${root}/sanity_summary.csv`)).trim().split("\n");
    const sobel = summary.filter((l) => l.startsWith("ecgnet,sobel,"));
    assertEquals(sobel.length, 2);
    assert(
      sobel.every((l) => l.endsWith(",fails") && l.includes(",4,1,1,1,4,1,1,1,")),
      sobel.join("\n"),
    );
    assert(out.includes("ecgnet sobel spearman: permuted labels 1.000, seeds 1.000"), out);
    const accuracy = await Deno.readTextFile(`${root}/sanity_accuracy.csv`);
    assert(accuracy.includes("ecgnet,ecgnet-labels-permuted,permuted_labels,42,"), accuracy);
    assert(accuracy.includes("ecgnet,ecgnet-seed-43,seed,43,"), accuracy);
    // The real model is the train stage's; the others are the sanity checks' own.
    assert((await Deno.stat(`${dir.path}/out/checkpoints/ecgnet_best/meta.json`)).isFile);
    assert((await Deno.stat(`${root}/checkpoints/ecgnet-seed-43_best/meta.json`)).isFile);
    // The plots stage draws it, and the dashboard's panel gets its tables.
    const plan = await planCharts({
      out: `${dir.path}/out`,
      data: `${dir.path}/ds`,
      classes: ["Abnormal", "HistoryMI", "MI", "Normal"],
      seed: 42,
    });
    assert(plan.charts.some((c) => c.name === "sanity_similarity" && c.model === "ecgnet"));
    const board = await dashboardData(`${dir.path}/out`, plan);
    assertEquals(board.sanity?.summary.length, 4);
    assertEquals(board.sanity?.accuracy.length, 3);
    const again = await runMain(["sanity", ...args]);
    assertEquals(again.code, 0, again.err);
    assert(again.out.includes("ecgnet saliency: done"), again.out);
  },
});

Deno.test({
  name: "sanity resumes after a kill and refuses a real model trained with other settings",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await testDir();
    await writeTinySyntheticSet(`${dir.path}/ds`);
    const args = (out: string, ...more: string[]) => [
      ...["--data", `${dir.path}/ds`, "--out", out, "--models", "tiny", "--backend", "cpu"],
      ...["--img-size", "32", "--epochs", "2", "--batch-size", "8", "--seeds", "3"],
      ...["--methods", "saliency", ...more],
    ];
    const run = async (argv: string[], kill?: string) =>
      await sanity((await parseStageArgs(sanitySpec, argv))!, {
        buildModel: tinyCnn,
        onEpochEnd: (model, row) => {
          if (model.name === kill && row.epoch === 1) throw new Error("simulated kill");
        },
      });
    const whole = await run(args(`${dir.path}/a`));
    await assertRejects(() => run(args(`${dir.path}/b`), "tiny-seed-44"), Error, "simulated kill");
    const seedLast = modelPaths(`${dir.path}/b/sanity`, "tiny-seed-44").last;
    assert((await Deno.stat(`${seedLast}/state.json`)).isFile, "the killed model kept its state");
    const resumed = await run(args(`${dir.path}/b`));
    // Resumed training draws what an uninterrupted run draws: the same tables.
    for (
      const file of ["sanity_data_randomisation.csv", "sanity_seeds.csv", "sanity_summary.csv"]
    ) {
      assertEquals(
        await Deno.readTextFile(`${dir.path}/b/sanity/${file}`),
        await Deno.readTextFile(`${dir.path}/a/sanity/${file}`),
        file,
      );
    }
    assertEquals(resumed.summary, whole.summary);
    // The real model of a/ was trained at lr 3e-4; a sanity run at another lr must not compare
    // with it (its seeds would differ in more than the seed).
    await assertRejects(
      () => run(args(`${dir.path}/a`, "--lr", "1e-3", "--fresh")),
      Error,
      "learningRate",
    );
  },
});
