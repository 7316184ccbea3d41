/**
 * Chart rendering speed: Vega-Lite → Vega → SVG (headless) and SVG → PNG (resvg wasm) per chart
 * of the plots stage, and writing the dashboard. Inputs: the test fixture (2 models, 2 methods,
 * 6 metrics). Figures go in BENCHMARKS.md.
 *
 * @module
 */
import { join } from "node:path";
import { planCharts } from "../plots/draw_charts.ts";
import { renderSvg } from "../plots/render.ts";
import { svgToPng } from "../svg/rasterise.ts";
import { writeDashboard } from "../plots/dashboard/write_dashboard.ts";
import { FIXTURE, writePlotsFixture } from "../tests/plots_fixtures.ts";

const dir = "outputs/tmp/bench-plots";
await Deno.remove(dir, { recursive: true }).catch(() => {});
await writePlotsFixture(join(dir, "out"), join(dir, "ds"));
const plan = await planCharts({
  out: join(dir, "out"),
  data: join(dir, "ds"),
  classes: [...FIXTURE.classes],
  seed: 1,
});
await svgToPng(await renderSvg(plan.charts[0].chart)); // load the wasm and font once

for (const planned of plan.charts.filter((c) => c.model !== "resnet18")) {
  const svg = await renderSvg(planned.chart);
  Deno.bench(`svg ${planned.name}`, { group: "svg" }, async () => {
    await renderSvg(planned.chart);
  });
  Deno.bench(`png ${planned.name}`, { group: "png" }, async () => {
    await svgToPng(svg);
  });
}

Deno.bench(
  "dashboard: gather, build and write the HTML (2 models x 4 images x 2 methods)",
  async () => {
    await writeDashboard(join(dir, "out"), plan);
  },
);
