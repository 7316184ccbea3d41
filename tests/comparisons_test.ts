/** Paired comparisons between methods and agreement between metrics, on constructed scores. */
import { join } from "node:path";
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { metricAgreement, QUANTUS_AGREEMENT_COLUMNS } from "../metrics/agreement.ts";
import {
  compareMethods,
  type MetricScores,
  QUANTUS_COMPARISON_COLUMNS,
  rankMethods,
} from "../metrics/comparisons.ts";
import { holmAdjust } from "../statistics/holm.ts";
import {
  comparisonFiles,
  comparisonsAreFresh,
  freshQuantusComparisons,
  readModelScores,
  readQuantusComparisons,
} from "../runs/quantus_comparisons.ts";
import { compare, compareSpec } from "../stages/compare.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { dashboardData } from "../plots/dashboard/dashboard_data.ts";
import { dashboardHtml } from "../plots/dashboard/dashboard_html.ts";
import { WHICH_METHOD_CHARTS } from "../plots/dashboard/which_method_script.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { FIXTURE, writePlotsFixture } from "./plots_fixtures.ts";
import { testDir } from "./test_dirs.ts";

const IMAGES = 30;

/**
 * Scores of three methods on 30 images: `best` beats `worse` on every image by 1 + i/64 (all
 * distinct, so the exact test applies), `close` is `worse` plus noise. Scores are multiples of
 * 1/64, so every difference is exact.
 */
function threeMethods(direction: "higher" | "lower"): MetricScores {
  const random = new SeededRandom(7);
  const base = Float64Array.from({ length: IMAGES }, () => Math.floor(random.uniform() * 80) / 8);
  const towardsBetter = direction === "higher" ? 1 : -1;
  return {
    metric: "x",
    direction,
    scores: new Map([
      ["best", base.map((v, i) => v + towardsBetter * (1 + i / 64))],
      ["close", base.map((v) => v + Math.round((random.uniform() - 0.5) * 16) / 64)],
      ["worse", base],
    ]),
  };
}

Deno.test("compareMethods: the better method is found, direction-aware, with Holm over the pairs", () => {
  for (const direction of ["higher", "lower"] as const) {
    const metric = threeMethods(direction);
    const rows = compareMethods("m", ["best", "close", "worse"], metric, new SeededRandom(1));
    assertEquals(rows.map((r) => `${r.methodA}-${r.methodB}`), [
      "best-close",
      "best-worse",
      "close-worse",
    ]);
    const [bestClose, bestWorse, closeWorse] = rows;
    assertEquals([bestClose.better, bestWorse.better, closeWorse.better], ["best", "best", ""]);
    // The mean of 1 + i/64 over i = 0..29, and an interval inside the range of the differences.
    const gain = direction === "higher" ? 1 : -1;
    assertEquals(bestWorse.meanDiff, gain * (1 + 14.5 / 64));
    const [low, high] = [bestWorse.ciLow, bestWorse.ciHigh].map((x) => gain * x).sort((a, b) =>
      a - b
    );
    assert(low >= 1 && low < 1 + 14.5 / 64 && high > 1 + 14.5 / 64 && high <= 1 + 29 / 64);
    // Thirty differences of one sign, no ties: the exact p is 2 / 2^30.
    assertEquals(bestWorse.p, 2 / 2 ** 30);
    assert(closeWorse.p > 0.05, `jitter alone is significant: p = ${closeWorse.p}`);
    assertEquals(rows.map((r) => r.pHolm), holmAdjust(rows.map((r) => r.p)));
    assert(rows.every((r) => r.n === IMAGES));
    const ranked = rankMethods(
      [...metric.scores].map(([method, s]) => ({
        method,
        mean: s.reduce((a, b) => a + b, 0) / IMAGES,
      })),
      direction,
      rows,
    );
    assertEquals(ranked[0].method, "best");
    assertEquals(ranked.map((r) => r.letters), ["a", "b", "b"]);
  }
});

Deno.test("compareMethods: images where either score is NaN are left out of that pair only", () => {
  const metric = threeMethods("higher");
  metric.scores.get("close")![0] = NaN;
  metric.scores.get("close")![5] = NaN;
  metric.scores.get("worse")![5] = NaN;
  const rows = compareMethods("m", ["best", "close", "worse"], metric, new SeededRandom(1));
  assertEquals(rows.map((r) => r.n), [IMAGES - 2, IMAGES - 1, IMAGES - 2]);
  // A method without the metric is left out of every pair; a pair with no images has no test.
  const partial = compareMethods(
    "m",
    ["best", "absent", "worse"],
    {
      ...metric,
      scores: new Map([["best", new Float64Array(3)], ["worse", new Float64Array(3).fill(NaN)]]),
    },
    new SeededRandom(1),
  );
  assertEquals(partial.length, 1);
  assert(partial[0].n === 0 && Number.isNaN(partial[0].p) && partial[0].better === "");
});

Deno.test("metricAgreement: tau 1 when two metrics agree once flipped, -1 when they disagree", () => {
  const up = (...v: number[]) => Float64Array.from(v);
  const methods = ["a", "b", "c"];
  const metric = (name: string, direction: "higher" | "lower", ...perMethod: Float64Array[]) => ({
    metric: name,
    direction,
    scores: new Map(perMethod.map((scores, i) => [methods[i], scores])),
  });
  const rows = metricAgreement({
    model: "m",
    images: ["i", "j", "k"],
    methods,
    metrics: [
      metric("f", "higher", up(1, 1, 1), up(2, 2, 2), up(3, 3, 3)),
      // Lower is better and c lowest: the same order as f.
      metric("s", "lower", up(9, 9, 9), up(5, 5, 5), up(1, 1, 1)),
      // Higher is better with a on top: f reversed; on image k only a and b are scored.
      metric("r", "higher", up(3, 3, 3), up(2, 2, 1), up(1, 1, NaN)),
    ],
  });
  assertEquals(rows.map((r) => `${r.metricA}/${r.metricB}`), ["f/s", "f/r", "s/r"]);
  assertEquals(rows.map((r) => r.tauOverall), [1, -1, -1]);
  assertEquals(rows.map((r) => r.tauPerImage), [1, -1, -1]);
  assertEquals(rows.map((r) => r.images), [3, 3, 3]);
  assertEquals(rows[0].methods, 3);
  const mixed = metricAgreement({
    model: "m",
    images: ["i", "j"],
    methods: ["a", "b"],
    metrics: [
      metric("f", "higher", up(1, 2), up(2, 1)),
      metric("g", "higher", up(1, 1), up(2, 2)),
    ],
  });
  // Image i agrees (tau 1), image j disagrees (tau -1); by mean f ties a and b: no overall tau.
  assertEquals(mixed[0].tauPerImage, 0);
  assert(Number.isNaN(mixed[0].tauOverall));
});

Deno.test("compare writes both tables from the per-image files; plots-side refresh only when stale", async () => {
  await using dir = await testDir();
  const out = join(dir.path, "out");
  await writePlotsFixture(out, join(dir.path, "ds"), { quantus: true });
  assertEquals(await comparisonsAreFresh(out), false);
  const args = await parseStageArgs(compareSpec, ["--out", out]);
  const printed: string[] = [], errors: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    await compare(args!);
  } finally {
    console.log = log;
    console.error = error;
  }
  const { models, methods, metrics } = FIXTURE;
  // A ranking and a report card per model and metric, then the three files written; the
  // fixture has no relevance_mass_accuracy (no masks): no validity, one stderr line per model.
  assertEquals(printed.length, 2 * models.length * metrics.length + 3);
  assertEquals(errors.length, models.length);
  errors.forEach((e, i) => {
    assert(e.startsWith(`${models[i]}: no relevance_mass_accuracy scores`), e);
  });
  assert(
    printed[0].startsWith("ecgnet faithfulness_correlation (higher is better), best first: "),
    printed[0],
  );
  const files = comparisonFiles(out);
  const comparisonsText = await Deno.readTextFile(files.comparisons);
  const [header, ...rows] = parseCsv(comparisonsText) as string[][];
  assertEquals(header, [...QUANTUS_COMPARISON_COLUMNS]);
  assertEquals(rows.length, models.length * metrics.length); // one pair of methods
  // The fixture's completeness is NaN on one image of each method: 3 pairs of 4 images left.
  const completeness = rows.filter((r) => r[1] === "completeness");
  assert(completeness.every((r) => r[4] === "3"), JSON.stringify(completeness));
  assert(rows.filter((r) => r[1] !== "completeness").every((r) => r[4] === "4"));
  const agreementText = await Deno.readTextFile(files.agreement);
  const [agreementHeader, ...agreementRows] = parseCsv(agreementText) as string[][];
  assertEquals(agreementHeader, [...QUANTUS_AGREEMENT_COLUMNS]);
  assertEquals(agreementRows.length, models.length * metrics.length * (metrics.length - 1) / 2);

  // Read back as written; nothing rebuilt while fresh; a newer per-image file makes them stale.
  const tables = await readQuantusComparisons(out);
  assertEquals(tables.comparisons.length, rows.length);
  assertEquals(tables.comparisons[0].meanDiff, Number(rows[0][5]));
  assertEquals(await comparisonsAreFresh(out), true);
  assertEquals((await freshQuantusComparisons(out))!.rebuilt, false);
  const perImage = join(out, "metrics", `quantus_ecgnet_${methods[0]}.csv`);
  const later = new Date(Date.now() + 5000);
  await Deno.utime(perImage, later, later);
  assertEquals(await comparisonsAreFresh(out), false);
  assertEquals((await freshQuantusComparisons(out))!.rebuilt, true);
  assertEquals(await Deno.readTextFile(files.comparisons), comparisonsText, "same bytes again");
  assertEquals(await Deno.readTextFile(files.agreement), agreementText);
  assertEquals((await readModelScores(out)).map((t) => t.model), [...models]);
});

Deno.test("compare without per-image files is one input error naming the folder and the fix", async () => {
  await using dir = await testDir();
  const args = await parseStageArgs(compareSpec, ["--out", dir.path]);
  await assertRejects(() => compare(args!), InputError, "run deno task quantus first");
  assertEquals(await freshQuantusComparisons(dir.path), undefined);
});

Deno.test("plots draws the comparison charts per model and the dashboard gets its panel", async () => {
  await using dir = await testDir();
  const out = join(dir.path, "out"), data = join(dir.path, "ds");
  await writePlotsFixture(out, data, { quantus: true });
  const plan = await planCharts({ out, data, classes: [...FIXTURE.classes], seed: 1 });
  const ids = plan.charts.map((c) => `${c.folder}/${c.name}`);
  for (const model of FIXTURE.models) {
    for (const name of WHICH_METHOD_CHARTS) {
      assert(ids.includes(`per_model/${model}/${name}`), name);
    }
  }
  assertEquals(await comparisonsAreFresh(out), true, "planning wrote the tables");
  const dashboard = await dashboardData(out, plan);
  assertEquals(
    dashboard.comparisons!.comparisons.length,
    FIXTURE.models.length * FIXTURE.metrics.length,
  );
  const html = dashboardHtml(dashboard, { vega: "", vegaLite: "", vegaEmbed: "" });
  assert(html.includes('id="which-method"') && !html.includes("WHICH_METHOD"));
  assert(
    html.includes('"method_ranks","metric_agreement"'),
    "the panel's chart names reach the page",
  );
});
