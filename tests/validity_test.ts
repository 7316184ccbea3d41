/**
 * Validity against ground truth, the report card and the significance marks, on constructed
 * scores with known answers; the compare stage writing, reading back and rebuilding them.
 */
import { join } from "node:path";
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import type { MetricScores, ModelScores } from "../metrics/comparisons.ts";
import { NOT_COMPUTED, QUANTUS_REPORT_CARD_COLUMNS, reportCards } from "../metrics/report_card.ts";
import {
  metricValidity,
  type ModelValidity,
  QUANTUS_VALIDITY_COLUMNS,
  validityReference,
} from "../metrics/validity.ts";
import { bootstrapInterval } from "../statistics/bootstrap.ts";
import {
  comparisonFiles,
  freshQuantusComparisons,
  readQuantusComparisons,
} from "../runs/quantus_comparisons.ts";
import { compare, compareSpec } from "../stages/compare.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { reportCardCells, reportCardChart } from "../plots/charts/report_card.ts";
import { significanceMarks, withSignificance } from "../plots/charts/significance_marks.ts";
import { quantusMetricsChart } from "../plots/charts/quantus_metrics.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { testDir } from "./test_dirs.ts";

Deno.test("bootstrapInterval reads the 2.5 and 97.5 percentiles of the defined resamples", () => {
  // A statistic that returns how often it was called: resample b gives b, so the sorted values
  // are 0..999 and the interval is [25, 975].
  let calls = 0;
  const counter = () => calls++;
  assertEquals(bootstrapInterval(5, counter, new SeededRandom(1), 1000), { low: 25, high: 975 });
  // Every odd resample undefined: 500 left (0, 2, ..., 998), read at 12 and 487.
  calls = 0;
  const even = () => (calls++ % 2 === 0 ? calls - 1 : NaN);
  assertEquals(bootstrapInterval(5, even, new SeededRandom(1), 1000), { low: 24, high: 974 });
  const never = () => NaN;
  assert(Number.isNaN(bootstrapInterval(5, never, new SeededRandom(1), 100).low));
  assert(Number.isNaN(bootstrapInterval(1, counter, new SeededRandom(1), 100).high));
  // Each resample draws `count` indices in 0..count-1.
  const seen = new Set<number>();
  bootstrapInterval(
    4,
    (ix) => {
      ix.forEach((k) => seen.add(k));
      return ix.length;
    },
    new SeededRandom(2),
    200,
  );
  assertEquals([...seen].sort(), [0, 1, 2, 3]);
});

const METHODS = ["ground_truth", "gradcam", "saliency", "random"];
const IMAGES = 20;
/** Images 18 and 19 are Normal: an empty mask, so the reference is NaN there. */
const NORMAL = [18, 19];

/** One metric: per method, `value(methodIndex, image)` (method 0 best by the ground truth). */
function metric(
  name: string,
  direction: "higher" | "lower",
  value: (method: number, image: number) => number,
): MetricScores {
  return {
    metric: name,
    direction,
    scores: new Map(
      METHODS.map((m, i) => [m, Float64Array.from({ length: IMAGES }, (_, k) => value(i, k))]),
    ),
  };
}

/**
 * The ground truth ranks the methods 0 > 1 > 2 > 3 on every image with evidence. The metrics:
 * - `agrees`: the same order (its Normal images put method 3 far on top: left out, no effect);
 * - `flipped`: lower is better and lowest for method 0: the same order once oriented;
 * - `reversed`: lower is better but lowest for method 3: the opposite order;
 * - `one_swap`: methods 1 and 2 swapped: 5 concordant pairs, 1 discordant, τ = 4/6;
 * - `split`: the truth's order on images 0-8, reversed on 9-17: per-image τ 1 and −1, mean 0.
 */
function table(): ModelScores {
  const truth = (i: number, k: number) => (NORMAL.includes(k) ? NaN : 1 - i / 4 + k / 100);
  return {
    model: "m",
    images: Array.from({ length: IMAGES }, (_, k) => `i${k}`),
    methods: METHODS,
    metrics: [
      metric("relevance_mass_accuracy", "higher", truth),
      metric("agrees", "higher", (i, k) => (NORMAL.includes(k) ? (i === 3 ? 1e6 : 0) : 10 - i)),
      metric("flipped", "lower", (i, k) => i + k / 50),
      metric("reversed", "lower", (i) => 3 - i),
      metric("one_swap", "higher", (i) => [4, 2, 3, 1][i]),
      metric("split", "higher", (i, k) => (k < 9 ? 4 - i : i) + (k >= 18 ? 0.5 : 0)),
    ],
  };
}

Deno.test("metricValidity: Kendall's tau with the ground-truth ranking, direction-aware, known answers", () => {
  const result = metricValidity(table(), "relevance_mass_accuracy", new SeededRandom(3));
  assert("rows" in result);
  const by = new Map(result.rows.map((r) => [r.metric, r]));
  const expected: Record<string, [number, number]> = {
    relevance_mass_accuracy: [1, 1],
    agrees: [1, 1],
    flipped: [1, 1],
    reversed: [-1, -1],
    one_swap: [4 / 6, 4 / 6],
  };
  for (const [name, [overall, perImage]] of Object.entries(expected)) {
    const row = by.get(name)!;
    // Every image orders the methods alike, so every resample does: the intervals are points.
    // (A mean of 18 times 4/6 may end in the last bit.)
    const got = [row.tauOverall, row.ciLow, row.ciHigh];
    const gotPerImage = [row.tauPerImage, row.perImageCiLow, row.perImageCiHigh];
    got.forEach((x) => assertAlmostEquals(x, overall, 1e-12, name));
    gotPerImage.forEach((x) => assertAlmostEquals(x, perImage, 1e-12, name));
    // The Normal images (no evidence) are left out; the four methods are ranked.
    assertEquals([row.images, row.methods, row.reference], [18, 4, "relevance_mass_accuracy"]);
  }
  // split: by mean the methods tie (tau undefined overall), per image +1 nine times and -1
  // nine times: mean 0, and the interval of that mean straddles it inside [-1, 1].
  const split = by.get("split")!;
  assert(Number.isNaN(split.tauOverall));
  assertEquals(split.tauPerImage, 0);
  assert(split.perImageCiLow < 0 && split.perImageCiHigh > 0, JSON.stringify(split));
  assert(split.perImageCiLow >= -1 && split.perImageCiHigh <= 1);
  // The overall interval comes from resamples where the means do not tie: it spans both signs.
  assert(split.ciLow < 0 && split.ciHigh > 0, JSON.stringify(split));

  // Seeded: the same rows again, and a row does not move when another metric joins.
  assertEquals(metricValidity(table(), "relevance_mass_accuracy", new SeededRandom(3)), result);
  const more = table();
  more.metrics.splice(1, 0, metric("extra", "higher", (i, k) => Math.sin(i * 7 + k)));
  const again = metricValidity(more, "relevance_mass_accuracy", new SeededRandom(3));
  assert("rows" in again);
  assertEquals(again.rows.find((r) => r.metric === "split"), split);
});

Deno.test("metricValidity: absent, with the reason, without reference scores or evidence", () => {
  const noReference = table();
  noReference.metrics.shift();
  const absent = metricValidity(noReference, "relevance_mass_accuracy", new SeededRandom(1));
  assert("absent" in absent);
  assert(absent.absent.startsWith("m: no relevance_mass_accuracy scores"), absent.absent);
  assert(absent.absent.includes("evidence masks"));
  const noEvidence = table();
  noEvidence.metrics[0] = metric("relevance_mass_accuracy", "higher", () => NaN);
  const none = metricValidity(noEvidence, "relevance_mass_accuracy", new SeededRandom(1));
  assert("absent" in none && none.absent.includes("fewer than two methods"), JSON.stringify(none));
  assertEquals(validityReference(" Pointing_Game "), "pointing_game");
  assertThrows(() => validityReference("sparseness"), InputError, "relevance_mass_accuracy");
});

Deno.test("reportCards: validity, mean agreement over defined pairs, MetaQuantus not computed", () => {
  const model = table();
  const validity = new Map<string, ModelValidity>([
    ["m", metricValidity(model, "relevance_mass_accuracy", new SeededRandom(3))],
  ]);
  const pair = (metricA: string, metricB: string, tauOverall: number) => ({
    model: "m",
    metricA,
    metricB,
    methods: 4,
    tauOverall,
    images: 18,
    tauPerImage: 0,
  });
  const cards = reportCards([model], validity, [
    pair("agrees", "reversed", -1),
    pair("agrees", "one_swap", 0.5),
    pair("agrees", "split", NaN),
    pair("reversed", "one_swap", -0.5),
  ], "relevance_mass_accuracy");
  assertEquals(cards.map((c) => c.metric), model.metrics.map((m) => m.metric));
  const by = new Map(cards.map((c) => [c.metric, c]));
  assertEquals([by.get("agrees")!.agreementTau, by.get("agrees")!.agreementMetrics], [-0.25, 2]);
  assertEquals([by.get("reversed")!.agreementTau, by.get("reversed")!.agreementMetrics], [
    -0.75,
    2,
  ]);
  assert(Number.isNaN(by.get("split")!.agreementTau) && by.get("split")!.agreementMetrics === 0);
  assertEquals([by.get("reversed")!.validityTau, by.get("reversed")!.validityImages], [-1, 18]);
  assertEquals(by.get("reversed")!.validityNote, "");
  assert(by.get("relevance_mass_accuracy")!.validityNote.includes("reference itself"));
  assert(cards.every((c) => c.noiseResilience === undefined && c.reactivity === undefined));

  const cells = reportCardCells("m", cards, new Map([["reversed", "Reversed"]]));
  const reversed = cells.filter((c) => c.metric === "Reversed (lower)");
  assertEquals(reversed.map((c) => c.text), [
    "-1.00 [-1.00, -1.00]",
    "-0.75 (2)",
    NOT_COMPUTED,
    NOT_COMPUTED,
  ]);
  assertEquals(reversed.map((c) => c.value), [-1, -0.75, null, null]);
  const chart = JSON.stringify(reportCardChart("m", cells).spec);
  assert(chart.includes("redblue") && chart.includes("not computed"));
});

Deno.test("significance marks: letters and * for the best and those not significantly worse", () => {
  const row = (method: string, mean: number, direction: "higher" | "lower") => ({
    model: "m",
    method,
    metric: direction === "higher" ? "up" : "down",
    label: "X",
    category: "complexity",
    direction,
    n: 9,
    mean,
    std: 0,
    ci95Low: mean - 1,
    ci95High: mean + 1,
    nanCount: 0,
  });
  const pair = (metric: string, methodA: string, methodB: string, better: string) => ({
    model: "m",
    metric,
    methodA,
    methodB,
    n: 9,
    meanDiff: 0,
    ciLow: 0,
    ciHigh: 0,
    p: 0,
    pHolm: better === "" ? 1 : 0.001,
    better,
  });
  // Higher is better: a > b > c by mean; a beats c only. A ~ B ~ C chain: b is "ab".
  // Lower is better: c is best; c beats a and b; a and b do not differ.
  const rows = [
    row("a", 3, "higher"),
    row("b", 2, "higher"),
    row("c", 1, "higher"),
    row("a", 3, "lower"),
    row("b", 2, "lower"),
    row("c", 1, "lower"),
  ];
  const marks = significanceMarks(rows, [
    pair("up", "a", "b", ""),
    pair("up", "a", "c", "a"),
    pair("up", "b", "c", ""),
    pair("down", "a", "b", ""),
    pair("down", "a", "c", "c"),
    pair("down", "b", "c", "c"),
  ]);
  const text = (metric: string) =>
    marks.filter((m) => m.metric === metric)
      .map((m) => `${m.method}:${m.letters}${m.tiedWithBest ? "*" : ""}`).join(" ");
  assertEquals(text("up"), "a:a* b:ab* c:b");
  assertEquals(text("down"), "c:a* b:b a:b");
  const values = withSignificance(
    rows.map((r) => ({ ...r, mean: r.mean as number | null, ci95_high: r.ci95High })),
    marks,
  );
  assertEquals(values.map((v) => v.significance), ["a*", "ab*", "b", "b", "b", "a*"]);
  assertEquals(values[0].significance_y, 4); // the top of the whisker
  const chart = JSON.stringify(quantusMetricsChart(rows, marks).spec);
  assert(chart.includes('"significance"') && chart.includes("not significantly worse"));
  assert(!JSON.stringify(quantusMetricsChart(rows).spec).includes('"significance"'));
});

/** Per-image files of model m: the table's metrics, one file per method. */
async function writeScores(out: string, model: ModelScores): Promise<void> {
  await Deno.mkdir(join(out, "metrics"), { recursive: true });
  for (const method of model.methods) {
    const header = ["id", "file", "true_class", "target_class"];
    const lines = [[...header, ...model.metrics.map((m) => m.metric), "nan_reasons"].join(",")];
    for (const [k, id] of model.images.entries()) {
      const cells = model.metrics.map((m) => String(m.scores.get(method)![k]));
      lines.push([id, `${id}.png`, "A", "A", ...cells, ""].join(","));
    }
    await Deno.writeTextFile(
      join(out, "metrics", `quantus_${model.model}_${method}.csv`),
      lines.join("\n") + "\n",
    );
  }
}

async function runCompare(out: string, ...flags: string[]) {
  const printed: string[] = [], errors: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    await compare((await parseStageArgs(compareSpec, ["--out", out, ...flags]))!);
  } finally {
    console.log = log;
    console.error = error;
  }
  return { printed, errors };
}

Deno.test("compare writes validity and the report card; without masks one stderr line instead", async () => {
  await using dir = await testDir();
  const out = join(dir.path, "out");
  // Registered names: the per-image files are read by the model's name, and a metric's
  // direction comes from the registry. Each stands in for a constructed metric of its direction.
  const registered: Record<string, string> = {
    relevance_mass_accuracy: "relevance_mass_accuracy",
    agrees: "sparseness",
    flipped: "max_sensitivity",
    reversed: "avg_sensitivity",
    one_swap: "faithfulness_correlation",
  };
  const model = { ...table(), model: "ecgnet" };
  model.metrics = model.metrics.filter((m) => m.metric !== "split")
    .map((m) => ({ ...m, metric: registered[m.metric] }));
  model.metrics.push(
    metric("pointing_game", "higher", (i, k) => (NORMAL.includes(k) ? NaN : 3 - i)),
  );
  await writeScores(out, model);
  const files = comparisonFiles(out);

  const first = await runCompare(out);
  assertEquals(first.errors, []);
  const [vHeader, ...vRows] = parseCsv(await Deno.readTextFile(files.validity)) as string[][];
  assertEquals(vHeader, [...QUANTUS_VALIDITY_COLUMNS]);
  assertEquals(vRows.map((r) => [r[1], r[2], r[4]]), [
    ["relevance_mass_accuracy", "relevance_mass_accuracy", "1"],
    ["sparseness", "relevance_mass_accuracy", "1"],
    ["max_sensitivity", "relevance_mass_accuracy", "1"],
    ["avg_sensitivity", "relevance_mass_accuracy", "-1"],
    ["faithfulness_correlation", "relevance_mass_accuracy", String(4 / 6)],
    ["pointing_game", "relevance_mass_accuracy", "1"],
  ]);
  const [cHeader, ...cRows] = parseCsv(await Deno.readTextFile(files.reportCard)) as string[][];
  assertEquals(cHeader, [...QUANTUS_REPORT_CARD_COLUMNS]);
  assertEquals(cRows.length, model.metrics.length);
  assert(cRows.every((r) => r.at(-1) === NOT_COMPUTED && r.at(-2) === NOT_COMPUTED));
  // Agreement: -1 with the two ground-truth metrics and max_sensitivity, -4/6 with
  // faithfulness_correlation, and 0 with sparseness, whose Normal images (kept by agreement,
  // which has no masks to go by) lift method 3's mean to the top: (-3 - 4/6 + 0) / 5.
  const reversedLine = first.printed.find((l) =>
    l.startsWith("ecgnet avg_sensitivity report card: ")
  );
  assertEquals(
    reversedLine,
    "ecgnet avg_sensitivity report card: validity tau -1.00 [-1.00, -1.00] vs relevance_mass_accuracy on " +
      "18 image(s); agreement tau -0.73 with 5 metric(s); noise resilience, reactivity not computed",
  );
  // Read back as written.
  const tables = await readQuantusComparisons(out);
  assertEquals(tables.validity.length, model.metrics.length);
  assertEquals(tables.reportCard.find((c) => c.metric === "avg_sensitivity")!.validityTau, -1);
  assertEquals(tables.validityAbsent, []);

  // Another reference by flag; an unknown one is an input error naming the flag.
  await runCompare(out, "--validity-reference", "pointing_game");
  const byPointing = await readQuantusComparisons(out);
  assert(byPointing.reportCard.every((c) => c.validityReference === "pointing_game"));
  await assertRejects(
    () => runCompare(out, "--validity-reference", "sparseness"),
    InputError,
    "--validity-reference",
  );
  // A rebuild by plots (a newer per-image file) keeps the reference compare chose.
  const later = new Date(Date.now() + 5000);
  await Deno.utime(join(out, "metrics", "quantus_ecgnet_gradcam.csv"), later, later);
  const rebuilt = await freshQuantusComparisons(out);
  assert(rebuilt!.rebuilt && rebuilt!.validity.every((v) => v.reference === "pointing_game"));

  // Without ground-truth scores (no masks): no validity file (the earlier one is removed), one
  // line on stderr, and the cards say why.
  model.metrics = model.metrics.filter((m) =>
    !["relevance_mass_accuracy", "pointing_game"].includes(m.metric)
  );
  await writeScores(out, model);
  const noMasks = await runCompare(out);
  assertEquals(noMasks.errors.length, 1);
  assert(
    noMasks.errors[0].startsWith("ecgnet: no relevance_mass_accuracy scores"),
    noMasks.errors[0],
  );
  await assertRejects(() => Deno.stat(files.validity), Deno.errors.NotFound);
  const cards = await readQuantusComparisons(out);
  assert(cards.reportCard.every((c) => c.validityNote === noMasks.errors[0]));
  assertEquals(cards.validityAbsent, noMasks.errors);
});
