import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { png } from "../deps.ts";
import { drawCharts, planCharts } from "../plots/draw_charts.ts";
import type { QuantusSummaryRow } from "../plots/inputs.ts";
import { renderSvg } from "../plots/render.ts";
import { accuracyDomain, performanceVsXaiChart } from "../plots/charts/performance_vs_xai.ts";
import { quantusMetricsChart } from "../plots/charts/quantus_metrics.ts";
import { quantusRadarChart } from "../plots/charts/quantus_radar.ts";
import { orientedScores } from "../plots/charts/quantus_scores.ts";
import { METHOD_COLOURS, methodColourScale } from "../plots/charts/theme.ts";
import { EXPLAINERS } from "../xai/registry.ts";
import { FIXTURE, writePlotsFixture } from "./plots_fixtures.ts";
import { testDir } from "./test_dirs.ts";

function row(model: string, method: string, metric: string, mean: number): QuantusSummaryRow {
  return {
    model,
    method,
    metric,
    label: metric.toUpperCase(),
    category: "x",
    direction: "higher",
    n: 4,
    mean,
    std: 0,
    ci95Low: mean,
    ci95High: mean,
    nanCount: 0,
  };
}

/** The texts of an SVG's `<text>` elements. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

const METHODS = ["gradcam", "integrated_gradients", "saliency"];
const ROWS = METHODS.flatMap((method, i) => [
  row("ecgnet", method, "varied", 0.1 * (i + 1)),
  row("ecgnet", method, "flat", 0),
]);

Deno.test("per-metric chart: every panel names its methods, a flat metric says so inside", async () => {
  const svg = await renderSvg(quantusMetricsChart(ROWS));
  const labels = texts(svg);
  for (const method of METHODS) {
    assertEquals(labels.filter((t) => t === method).length, 3, `${method}: 2 panels, legend`);
  }
  assert(
    labels.includes("VARIED (higher is better)") && labels.includes("FLAT (higher is better)"),
  );
  assertEquals(labels.filter((t) => t.startsWith("no variation")), [
    "no variation: every mean = 0",
  ]);
  assert(!labels.some((t) => /\.\d{5,}/.test(t)), `no long decimals: ${labels.join(" | ")}`);
});

Deno.test("radar: a metric without variation is labelled and not drawn at half radius", async () => {
  const chart = quantusRadarChart("ecgnet", orientedScores(ROWS));
  const svg = await renderSvg(chart);
  assert(texts(svg).some((t) => t.includes("FLAT (higher better, all = 0: not drawn)")));
  const points = svg.split('class="mark-symbol role-mark points"').slice(1)
    .map((group) => (group.split("</g>")[0].match(/<path/g) ?? []).length);
  assertEquals(points, METHODS.map(() => 1), "per method one point: the varied metric's");
});

Deno.test("performance vs XAI: one model's accuracy gets readable ticks", async () => {
  assertEquals(accuracyDomain([0.5]), [0.45, 0.55]);
  const chart = performanceVsXaiChart(
    [{ model: "ecgnet", values: { "Test Accuracy": 0.5, "Macro F1 (Test)": 0.4 } }],
    orientedScores(ROWS),
  )!;
  const labels = texts(await renderSvg(chart));
  assert(labels.includes("0.5") && labels.includes("0.46"), labels.join(" | "));
  assert(!labels.includes("0.500000"));
});

Deno.test("one colour per method, the same in every chart of the plan", async () => {
  assertEquals(
    Object.keys(METHOD_COLOURS),
    EXPLAINERS.map((e) => e.name),
    "every registered method has its colour, in registry order",
  );
  assertEquals(new Set(Object.values(METHOD_COLOURS)).size, EXPLAINERS.length, "all distinct");
  await using dir = await testDir();
  const out = join(dir.path, "out"), data = join(dir.path, "ds");
  await writePlotsFixture(out, data);
  const plan = await planCharts({ out, data, classes: [...FIXTURE.classes], seed: 1 });
  const expected = methodColourScale(FIXTURE.methods);
  let coloured = 0;
  for (const { name, chart } of plan.charts) {
    const text = JSON.stringify(chart.spec);
    const scales = [...text.matchAll(/"domain":(\[[^\]]*\]),"range":(\[[^\]]*\])/g)];
    for (const [, domain, range] of scales) {
      const d: string[] = JSON.parse(domain);
      if (!d.every((m) => (FIXTURE.methods as readonly string[]).includes(m))) continue;
      assertEquals({ domain: d, range: JSON.parse(range) }, expected, name);
      coloured++;
    }
  }
  assert(coloured >= 5, `method colour scales found: ${coloured}`);
});

Deno.test("paper export: tables as Markdown and LaTeX, charts at 300 dpi with outlined text", async () => {
  await using dir = await testDir();
  const out = join(dir.path, "out"), data = join(dir.path, "ds");
  await writePlotsFixture(out, data);
  const plan = await planCharts({ out, data, classes: [...FIXTURE.classes], seed: 1 });
  const radar = plan.charts.filter((c) => c.name === "quantus_radar").slice(0, 1);
  const { files } = await drawCharts(out, { ...plan, charts: radar }, { dpi: 300 });
  const comparison = join(out, "plots", "comparison");
  for (const name of ["quantus_summary.md", "quantus_summary.tex", "model_performance.tex"]) {
    assert(files.includes(join(comparison, name)), name);
  }
  const tex = await Deno.readTextFile(join(comparison, "quantus_summary.tex"));
  assert(tex.includes("\\toprule") && tex.includes("integrated\\_gradients"), tex);
  assert(tex.includes("$\\uparrow$") && tex.includes("$\\downarrow$"), "directions");
  const md = await Deno.readTextFile(join(comparison, "quantus_summary.md"));
  const lines = md.trim().split("\n");
  assertEquals(lines.length, 4 + FIXTURE.models.length * FIXTURE.methods.length, md);
  assert(/\d \[[-\d.e]+, [-\d.e]+\] \([a-z]+\)/.test(md), `mean [CI] (groups): ${lines[4]}`);

  const folder = join(out, "plots", radar[0].folder);
  const svg = await Deno.readTextFile(join(folder, "quantus_radar.svg"));
  assert(!svg.includes("<text") && svg.includes("<path"), "text outlined");
  const width = Number(svg.match(/width="([\d.]+)"/)![1]);
  const image = png.decode(await Deno.readFile(join(folder, "quantus_radar.png")));
  assert(
    Math.abs(image.width - width * 300 / 96) <= 1,
    `${image.width} px for ${width} at 300 dpi`,
  );
});
