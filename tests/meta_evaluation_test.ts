import { outputsStatus } from "../stages/status.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { wilcoxonSignedRank } from "../statistics/wilcoxon.ts";
import {
  interConsistencyAdversary,
  interConsistencyResilience,
  intraConsistency,
  metaConsistency,
  type PerturbedScores,
} from "../metrics/meta/consistency.ts";
import { perturbedInputs } from "../metrics/meta/perturbation_tests.ts";
import { META_EVALUATION_COLUMNS } from "../runs/meta_outputs.ts";
import { NOT_COMPUTED } from "../metrics/report_card.ts";
import { runMain as run } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet } from "./training_fixtures.ts";

const up = (...v: number[]) => Float64Array.from(v);
const all = (n: number, value = true) => Array<boolean>(n).fill(value);

Deno.test("Wilcoxon zsplit: zeros ranked, their ranks split, only the others' signs flip", () => {
  // |d| ranks 1..4; the zero's rank 1 counts 0.5 to each side: R+ = 2 + 3 + 4 + 0.5 = 9.5.
  // Flipping the three non-zero signs, R+ >= 9.5 in 1 of 8 patterns: p = 2/8.
  const r = wilcoxonSignedRank([0, 1, 2, 3], { zeroMethod: "zsplit" });
  assertEquals([r.n, r.zeros, r.rPlus, r.rMinus, r.p], [4, 1, 9.5, 0.5, 0.25]);
  // 20 zeros: the normal approximation with every difference in one tie group, z = 0.
  const flat = wilcoxonSignedRank(Array(20).fill(0), { zeroMethod: "zsplit" });
  assertEquals([flat.method, flat.p], ["asymptotic", 1]);
  // Without zeros zsplit and wilcox agree.
  assertEquals(
    wilcoxonSignedRank([1, -2, 3, 4, -5, 6], { zeroMethod: "zsplit" }),
    wilcoxonSignedRank([1, -2, 3, 4, -5, 6]),
  );
});

Deno.test("IAC: identical scores are p = 1 (NR = 1, AR = 0); separated ones AR = 1 - 2/2^n", () => {
  const q = up(0.3, 0.1, 0.4, 0.15, 0.9, 0.2, 0.6, 0.5);
  assertEquals(intraConsistency(q, q, all(8), "resilience"), 1);
  assertEquals(intraConsistency(q, q, all(8), "adversary"), 0);
  const far = q.map((v, i) => v + 100 + i); // every score moved, 8 distinct differences
  assertEquals(intraConsistency(q, far, all(8), "adversary"), 1 - 2 / 2 ** 8);
  assertEquals(intraConsistency(q, far, all(8), "resilience"), 2 / 2 ** 8);
  // Only the subset counts, and a NaN score leaves its image out.
  const subset = [true, true, true, false, false, false, false, false];
  assertEquals(intraConsistency(q, far, subset, "resilience"), 2 / 2 ** 3);
  const withNaN = up(NaN, ...far.slice(1));
  assertEquals(intraConsistency(q, withNaN, all(8), "resilience"), 2 / 2 ** 7);
  assert(Number.isNaN(intraConsistency(q, far, all(8, false), "resilience")));
});

Deno.test("IEC: rank positions kept, and scores made worse by the metric's direction", () => {
  const before = [up(1, 1, 1), up(2, 2, 2), up(3, 3, 3)]; // methods x images
  assertEquals(interConsistencyResilience(before, before, all(3)), 1);
  // The order reversed on every image: only the middle position keeps its method.
  const reversed = [up(3, 3, 3), up(2, 2, 2), up(1, 1, 1)];
  assertEquals(interConsistencyResilience(before, reversed, all(3)), 1 / 3);
  assert(Number.isNaN(interConsistencyResilience(before, before, all(3, false))));
  const lower = before.map((q) => q.map((v) => v - 1));
  assertEquals(interConsistencyAdversary(before, lower, all(3), "higher"), 1);
  assertEquals(interConsistencyAdversary(before, lower, all(3), "lower"), 0);
  assertEquals(interConsistencyAdversary(before, before, all(3), "higher"), 0);
  const oneImage = [true, false, false];
  assertEquals(interConsistencyAdversary(before, lower, oneImage, "lower"), 0);
});

Deno.test("MC: an ideal metric scores 1 - p/4, a blind one 1/2, a noisy one lower", () => {
  const n = 10;
  const q = [
    up(...Array.from({ length: n }, (_, i) => i)),
    up(...Array.from({ length: n }, (_, i) => 2 * i + 1)),
  ];
  const kept = all(n), flipped = all(n, false);
  const unchanged: PerturbedScores = { qHatMN: q, predictionKept: kept };
  const worse: PerturbedScores = {
    qHatMN: q.map((m) => m.map((v, i) => v - 50 - i)),
    predictionKept: flipped,
  };
  const p = 2 / 2 ** n; // every difference positive and distinct
  const ideal = metaConsistency(
    {
      qStarMN: q,
      resilience: [[unchanged, unchanged], [unchanged, unchanged]],
      adversary: [[worse, worse], [worse, worse]],
    },
    "higher",
  );
  assertEquals([ideal.iacNr, ideal.iecNr, ideal.iecAr], [1, 1, 1]);
  assertEquals(ideal.iacAr, 1 - p);
  assertEquals(ideal.mc, (4 - p) / 4);
  assertEquals(ideal.mcPerIteration.length, 2);
  assertEquals(ideal.mcStd, 0);
  // A metric blind to everything: resilient (NR = 1) but never reactive (AR = 0).
  const blindAdversary = { qHatMN: q, predictionKept: flipped };
  const blind = metaConsistency(
    { qStarMN: q, resilience: [[unchanged]], adversary: [[blindAdversary]] },
    "higher",
  );
  assertEquals([blind.iacNr, blind.iacAr, blind.iecNr, blind.iecAr, blind.mc], [1, 0, 1, 0, 0.5]);
  // The direction matters: for a lower-is-better metric the ideal's adversary scores improved.
  const wrongWay = metaConsistency(
    { qStarMN: q, resilience: [[unchanged]], adversary: [[worse]] },
    "lower",
  );
  assertEquals(wrongWay.iecAr, 0);
  // An iteration with no flipped prediction has no AR values: left out of the means.
  const noFlip = { qHatMN: worse.qHatMN, predictionKept: kept };
  const partial = metaConsistency(
    { qStarMN: q, resilience: [[unchanged], [unchanged]], adversary: [[worse], [noFlip]] },
    "higher",
  );
  assertEquals(partial.iacAr, 1 - p);
  assertEquals(partial.mcPerIteration[1], 1);
  assertAlmostEquals(partial.mcStd, Math.abs(partial.mcPerIteration[0] - 1) / 2, 1e-15);
});

Deno.test("IPT noise: an image gets the same noise in any batch", () => {
  const size = 2 * 2 * 3;
  const x = Float32Array.from({ length: 2 * size }, (_, j) => (j % 7) / 7);
  const ids = ["a", "b"];
  const random = new SeededRandom(5);
  const both = perturbedInputs(x, [2, 2, 2, 3], 0.1, (i) => random.fork(ids[i]));
  const alone = perturbedInputs(x.slice(size), [1, 2, 2, 3], 0.1, () => random.fork("b"));
  assertEquals(both.slice(size), alone);
  assert(both.every((v, j) => Math.abs(v - x[j]) <= 0.1 + 1e-6));
});

Deno.test("meta stage: ecgnet, 2 methods, K = 2: criteria, report card, resume after a cut", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  const common = ["--backend", "cpu", "--out", out, "--data", data];
  const trained = await run(["train", ...common, "--img-size", "32", "--epochs", "1"]);
  assertEquals(trained.code, 0, trained.err);
  const methods = ["--methods", "saliency,input_x_gradient"];
  const scored = await run([
    "quantus",
    ...common,
    ...methods,
    "--metrics",
    "sparseness,complexity",
  ]);
  assertEquals(scored.code, 0, scored.err);

  const args = [
    "meta",
    ...common,
    ...methods,
    ...[
      "--metrics",
      "sparseness",
      "--iterations",
      "2",
      "--perturbations",
      "2",
      "--chunk-size",
      "2",
    ],
  ];
  // A cut run: shard 0 of 2 finishes the first batch only, nothing is merged.
  const cut = await run([...args, "--shard", "0/2"]);
  assertEquals(cut.code, 0, cut.err);
  const file = `${out}/meta/ecgnet/sparseness.csv`;
  assert(!(await Deno.stat(file).catch(() => undefined)), "a shard does not merge");
  const pending = (await outputsStatus(out)).find((l) => l.stage === "meta");
  assert(pending && !pending.done && pending.what === "ecgnet sparseness", JSON.stringify(pending));
  const resumed = await run(args);
  assertEquals(resumed.code, 0, resumed.err);
  assert(resumed.out.includes("resuming, 1 of 2 chunk(s) already done"), resumed.out);
  const resumedBytes = await Deno.readTextFile(file);
  const done = (await outputsStatus(out)).filter((l) => l.stage === "meta");
  assertEquals(done.length, 1, JSON.stringify(done));
  assert(done[0].done && done[0].detail.includes("meta/ecgnet/sparseness.csv"), done[0].detail);

  const rows: string[][] = parseCsv(resumedBytes);
  // 4 test images x 4 tests x 2 iterations x 2 perturbations x 2 methods.
  assertEquals(rows.length, 1 + 4 * 4 * 2 * 2 * 2);
  const table: Record<string, string>[] = parseCsv(
    await Deno.readTextFile(`${out}/results/meta_evaluation.csv`),
    { columns: true },
  );
  assertEquals(Object.keys(table[0]), [...META_EVALUATION_COLUMNS]);
  assertEquals(table.map((r) => `${r.model} ${r.metric} ${r.test}`), [
    "ecgnet sparseness model",
    "ecgnet sparseness input",
  ]);
  for (const r of table) {
    assertEquals([r.iterations, r.perturbations, r.methods, r.images], [
      "2",
      "2",
      "saliency;input_x_gradient",
      "4",
    ]);
    for (const c of ["iac_nr", "iac_ar", "iec_nr", "iec_ar", "mc"]) {
      const v = Number(r[c]);
      assert(r[c] === "NaN" || (v >= 0 && v <= 1), `${c} ${r[c]}`);
    }
    // Sparseness reads the map alone: a 0.001 input noise leaves the maps, so IPT's NR is 1.
    if (r.test === "input") assertEquals([r.iac_nr, r.iec_nr], ["1", "1"]);
  }
  const card: Record<string, string>[] = parseCsv(
    await Deno.readTextFile(`${out}/results/quantus_report_card.csv`),
    { columns: true },
  );
  const sparseness = card.find((c) => c.metric === "sparseness")!;
  const complexity = card.find((c) => c.metric === "complexity")!;
  assert(Number.isFinite(Number(sparseness.noise_resilience)), sparseness.noise_resilience);
  assertEquals([complexity.noise_resilience, complexity.reactivity], [NOT_COMPUTED, NOT_COMPUTED]);

  // The same run from scratch gives the same bytes as the resumed one.
  await Deno.remove(`${out}/meta`, { recursive: true });
  await Deno.remove(`${out}/provenance/meta`, { recursive: true });
  const fresh = await run(args);
  assertEquals(fresh.code, 0, fresh.err);
  assertEquals(await Deno.readTextFile(file), resumedBytes);
});
