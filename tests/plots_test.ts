import { join } from "node:path";
import { png } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { parseQuantusSummary } from "../plots/inputs.ts";
import { renderChart, renderSvg, toVega } from "../plots/render.ts";
import { orientedScores } from "../plots/charts/quantus_scores.ts";
import { plots, plotsSpec } from "../stages/plots.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { FIXTURE, type FixtureParts, writePlotsFixture } from "./plots_fixtures.ts";
import { testDir } from "./test_dirs.ts";

const ALL_CHARTS = [
  "per_model/ecgnet/confusion_matrix",
  "per_model/ecgnet/training_curves",
  "per_model/ecgnet/confidence_histogram",
  "per_model/ecgnet/quantus_radar",
  "per_model/resnet18/confusion_matrix",
  "per_model/resnet18/training_curves",
  "per_model/resnet18/confidence_histogram",
  "per_model/resnet18/quantus_radar",
  "per_model/ecgnet/method_ranks",
  "per_model/ecgnet/metric_agreement",
  "per_model/ecgnet/report_card",
  "per_model/resnet18/method_ranks",
  "per_model/resnet18/metric_agreement",
  "per_model/resnet18/report_card",
  "comparison/validation_loss",
  "comparison/quantus_metrics",
  "comparison/quantus_scatter",
  "comparison/sensitivity_trend",
  "comparison/performance_vs_xai",
  "dataset/class_distribution",
  "dataset/data_split",
];

async function fixture(dir: string, parts?: FixtureParts) {
  const out = join(dir, "out"), data = join(dir, "ds");
  await writePlotsFixture(out, data, parts);
  return { out, data, classes: [...FIXTURE.classes], seed: 1 };
}

/** Elements Vega drew inside the mark groups of `markType` (default: any mark type). */
function markElements(svg: string, markType = "[a-z]+"): number {
  let count = 0;
  for (const group of svg.split(new RegExp(`class="mark-${markType} role-mark`)).slice(1)) {
    const body = group.slice(0, group.indexOf("</g>"));
    count += (body.match(/<(path|rect|line|text)\b/g) ?? []).length;
  }
  return count;
}

Deno.test("every chart's spec compiles and its SVG draws marks", async () => {
  await using dir = await testDir();
  const plan = await planCharts(await fixture(dir.path));
  assertEquals(plan.skipped, []);
  assertEquals(plan.charts.map((c) => `${c.folder}/${c.name}`), ALL_CHARTS);
  for (const { name, chart } of plan.charts) {
    const vega = toVega(chart);
    assert(Array.isArray(vega.marks) && vega.marks.length > 0, `${name}: no marks in the spec`);
    const svg = await renderSvg(chart);
    assert(svg.startsWith("<svg"), name);
    assert(markElements(svg) > 3, `${name}: the SVG has ${markElements(svg)} mark elements`);
  }
  const bars = plan.charts.find((c) => c.name === "quantus_metrics")!;
  const svg = await renderSvg(bars.chart);
  const { models, methods, metrics } = FIXTURE;
  assertEquals(
    markElements(svg, "rect"),
    models.length * methods.length * metrics.length,
    "one bar per row",
  );
});

/** Pixels darker than mid-grey in the top-left `heightPx` x `widthPx` of a PNG. */
function darkPixels(bytes: Uint8Array, widthPx: number, heightPx: number): number {
  const image = png.decode(bytes);
  const channels = image.channels;
  let dark = 0;
  for (let y = 0; y < Math.min(heightPx, image.height); y++) {
    for (let x = 0; x < Math.min(widthPx, image.width); x++) {
      const o = (y * image.width + x) * channels;
      const grey = (image.data[o] + image.data[o + 1] + image.data[o + 2]) / 3;
      if (grey < 128 && (channels < 4 || image.data[o + 3] > 128)) dark++;
    }
  }
  return dark;
}

Deno.test("PNGs decode with the title's text drawn; without the font the title area is blank", async () => {
  await using dir = await testDir();
  const plan = await planCharts(await fixture(dir.path, { eval: true }));
  const chart = plan.charts.find((c) => c.name === "confusion_matrix")!.chart;
  // Title "Confusion matrix: ecgnet" sits in the top 24 px (48 px at scale 2), left 300 px.
  const withFont = await renderChart(chart);
  const title = darkPixels(withFont.png, 600, 48);
  assert(title > 500, `only ${title} dark pixels in the title area`);
  const noFont = await renderChart(chart, { fontBuffers: [] });
  assertEquals(darkPixels(noFont.png, 600, 48), 0, "text drawn without any font?");
  const decoded = png.decode(withFont.png);
  const widthAttr = Number(withFont.svg.match(/width="(\d+)"/)![1]);
  assertEquals(decoded.width, 2 * widthAttr, "PNG at twice the SVG's size");
});

Deno.test("quantus scores are oriented so that larger is better, and the radar says so", async () => {
  await using dir = await testDir();
  const plan = await planCharts(await fixture(dir.path, { quantus: true }));
  const scores = orientedScores(plan.quantus!);
  const of = (model: string, method: string, metric: string) =>
    scores.find((s) => s.model === model && s.method === method && s.metric === metric)!.score;
  // Fixture means rise with the method index and fall with the model index.
  assertEquals(of("ecgnet", "integrated_gradients", "sparseness"), 1); // higher is better, max
  assertEquals(of("ecgnet", "integrated_gradients", "max_sensitivity"), 0); // lower is better, max
  assertEquals(of("resnet18", "gradcam", "max_sensitivity"), 1);
  const radar = plan.charts.find((c) => c.name === "quantus_radar")!;
  assertEquals(radar.chart.kind, "vega");
  const text = JSON.stringify(radar.chart.spec);
  assert(text.includes("outward = better") && text.includes("lower better"), text.slice(0, 400));
});

Deno.test("each chart that cannot be drawn gets one line naming its input and stage", async () => {
  await using dir = await testDir();
  const inputs = await fixture(dir.path, { train: true });
  const plan = await planCharts({ ...inputs, data: join(dir.path, "no-data") });
  assertEquals(
    plan.charts.map((c) => `${c.folder}/${c.name}`),
    [
      "per_model/ecgnet/training_curves",
      "per_model/resnet18/training_curves",
      "comparison/validation_loss",
    ],
  );
  const expected: [string, string, string][] = [
    ["ecgnet confusion_matrix", "confusion_matrix.csv", "deno task eval"],
    ["ecgnet confidence_histogram", "predictions.csv", "deno task eval"],
    ["ecgnet quantus_radar", "quantus_summary.csv", "deno task quantus"],
    ["resnet18 confusion_matrix", "confusion_matrix.csv", "deno task eval"],
    ["method_ranks, metric_agreement, report_card", "quantus_summary.csv", "deno task quantus"],
    ["model_performance table", "model_performance.csv", "deno task eval"],
    ["quantus_metrics", "quantus_summary.csv", "deno task quantus"],
    ["quantus_scatter", "quantus_summary.csv", "deno task quantus"],
    ["sensitivity_trend", "quantus_summary.csv", "deno task quantus"],
    ["performance_vs_xai", "model_performance.csv", "deno task eval"],
    ["class_distribution, data_split", "no-data", "deno task data:synth"],
  ];
  for (const [chart, input, stage] of expected) {
    const lines = plan.skipped.filter((l) => l.startsWith(`${chart}:`));
    assertEquals(lines.length, 1, `${chart}: ${JSON.stringify(plan.skipped)}`);
    assert(lines[0].includes(input) && lines[0].includes(stage), lines[0]);
  }
  assertEquals(plan.skipped.length, 13, plan.skipped.join("\n"));

  const empty = await planCharts({ ...inputs, out: join(dir.path, "empty") });
  assert(empty.skipped[0].startsWith("per-model charts: missing"), empty.skipped[0]);
  assert(empty.charts.every((c) => c.folder === "dataset"));
});

Deno.test("deno task plots writes SVG, PNG and spec per chart, the table, the dashboard", async () => {
  await using dir = await testDir();
  const inputs = await fixture(dir.path, { eval: true, quantus: true });
  await Deno.writeTextFile(join(dir.path, "c.json"), JSON.stringify({ classes: FIXTURE.classes }));
  const args = await parseStageArgs(plotsSpec, [
    "--out",
    inputs.out,
    "--data",
    join(dir.path, "missing"),
    "--config",
    join(dir.path, "c.json"),
  ]);
  const printed: string[] = [];
  const { log } = console;
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  let result;
  try {
    result = await plots(args!);
  } finally {
    console.log = log;
  }
  const notDrawn = printed.filter((l) => l.startsWith("not drawn: "));
  assertEquals(notDrawn.length, result.skipped.length);
  assert(
    notDrawn.some((l) => l.includes("ecgnet training_curves") && l.includes("deno task train")),
  );
  assertEquals(printed.at(-1), `dashboard: ${join(inputs.out, "dashboard", "index.html")}`);
  const radarSpec = join(inputs.out, "plots", "per_model", "resnet18", "quantus_radar.vg.json");
  for (const ext of [".svg", ".png", ".vl.json"]) {
    const file = join(inputs.out, "plots", "comparison", `quantus_metrics${ext}`);
    assert(result.files.includes(file) && (await Deno.stat(file)).size > 100, file);
  }
  assert(result.files.includes(radarSpec));
  const spec = JSON.parse(
    await Deno.readTextFile(
      join(inputs.out, "plots", "per_model", "ecgnet", "confusion_matrix.vl.json"),
    ),
  );
  const again = await renderSvg({ kind: "vega-lite", spec });
  assert(markElements(again) > 3, "the written .vl.json renders on its own");
  const md = await Deno.readTextFile(
    join(inputs.out, "plots", "comparison", "model_performance.md"),
  );
  assertEquals(md.split("\n")[2].split(" | ").slice(0, 2), ["| ecgnet", "1.0000"]);
  const html = await Deno.readTextFile(result.dashboard);
  assert(!/<script[^>]+src=/.test(html) && !html.includes("https://cdn"), "no external scripts");
});

Deno.test("a malformed quantus_summary.csv is an input error naming the file and fix", () => {
  const header =
    "model,method,metric,label,category,direction,n,mean,std,ci95_low,ci95_high,nan_count";
  assertThrows(
    () => parseQuantusSummary(`${header}\nm,a,x,X,complexity,up,1,1,0,1,1,0\n`, "q.csv"),
    InputError,
    'q.csv: row 2, direction "up"',
  );
  assertThrows(
    () => parseQuantusSummary("model,method\nm,a\n", "q.csv"),
    InputError,
    "missing column",
  );
});
