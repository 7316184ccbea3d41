/**
 * Relevance per lead: the panel boxes on synthetic pages (exact), the layout fitted on synthetic
 * and stored real scans, the shares, and the `leads` stage end to end on the xai outputs of the
 * control explanations (whose shares are known).
 */
import { join } from "node:path";
import { parseCsv } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { readImageFile } from "../data/decode_image.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";
import {
  GRID_BOX_MM,
  MM_PER_MV,
  MM_PER_SECOND,
  PageTransform,
  reportPanels,
  TRACE_START_MM,
} from "../data/synth/report_layout.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { areaShare, panelShares, panelsOfLeads, SHARE_COLUMNS } from "../leads/lead_shares.ts";
import { fitReportLayout } from "../leads/page_fit.ts";
import { PageLayouts } from "../leads/page_layouts.ts";
import { type PageFrame, PANEL_BOXES, panelAt, panelLabels } from "../leads/panel_boxes.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { assert, assertEquals } from "./assert.ts";
import { runMain as run } from "./stage_runner.ts";
import { pathExists, SHARED_DIR, testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet, writeUntrainedCheckpoint } from "./training_fixtures.ts";

const CLASSES = ["Abnormal", "HistoryMI", "MI", "Normal"] as const;

/** The largest distance, in page mm, between two frames' panel corners. */
function cornerDistanceMm(a: PageFrame, b: PageFrame, pxPerMm: number): number {
  let worst = 0;
  for (const box of PANEL_BOXES) {
    for (const [x, y] of [[box.leftMm, box.topMm], [box.rightMm, box.bottomMm]]) {
      const [ax, ay] = a.toPx(x, y), [bx, by] = b.toPx(x, y);
      worst = Math.max(worst, Math.hypot(ax - bx, ay - by) / pxPerMm);
    }
  }
  return worst;
}

Deno.test("panel boxes tile the grid right of the pulses, rows split between baselines", () => {
  assertEquals(PANEL_BOXES.map((b) => b.name), [
    ..."I aVR V1 V4 II aVL V2 V5 III aVF V3 V6 II_rhythm".split(" "),
  ]);
  const area = PANEL_BOXES.reduce(
    (sum, b) => sum + (b.rightMm - b.leftMm) * (b.bottomMm - b.topMm),
    0,
  );
  const traceEnd = TRACE_START_MM + 10 * MM_PER_SECOND;
  const grid = (traceEnd - TRACE_START_MM) * (GRID_BOX_MM.bottom - GRID_BOX_MM.top);
  assert(Math.abs(area - grid) < 1e-9, `${area} vs ${grid}`);
  assertEquals(panelAt(TRACE_START_MM - 0.1, 60), -1, "calibration pulses are outside");
  assertEquals(panelAt(100, GRID_BOX_MM.top - 0.1), -1, "the header is outside");
});

Deno.test("synthetic pages: every trace sample lies in its own panel's box, exactly", () => {
  for (const [k, className] of CLASSES.entries()) {
    const { meta, recording } = renderSyntheticReport(
      className,
      new SeededRandom(11).fork(`page${k}`),
    );
    const page = new PageTransform(meta.widthPx, meta.rotationDeg, meta.shiftXMm, meta.shiftYMm);
    for (const [index, panel] of reportPanels().entries()) {
      const signal = recording.signalsMv[panel.lead];
      const rate = recording.sampleRateHz;
      let checked = 0;
      // Samples strictly inside the time window: one on the edge between two panels belongs to
      // either, up to rounding.
      for (let i = Math.floor(panel.startSeconds * rate) + 1; i < panel.endSeconds * rate; i++) {
        // Within ±1.5 mV a trace stays inside its row (rows are ≥ 38 mm apart, 15 mm each way).
        if (Math.abs(signal[i]) > 1.5) continue;
        const xMm = panel.xMm + (i / rate - panel.startSeconds) * MM_PER_SECOND;
        const yMm = panel.baselineMm - signal[i] * MM_PER_MV;
        // Where the sample is drawn in the image, and back through the page's recorded frame.
        assertEquals(panelAt(...page.toMm(...page.toPx(xMm, yMm))), index, `${panel.lead} ${i}`);
        checked++;
      }
      assert(checked > 0.9 * (panel.endSeconds - panel.startSeconds) * rate, panel.lead);
    }
  }
});

Deno.test("synthetic data set: the layout is the generator's, and the fit agrees within 1 mm", async () => {
  await using dir = await testDir();
  await writeSyntheticDataset({ outDir: dir.path, perClass: 3, seed: 5, widthPx: 640 });
  const meta = JSON.parse(await Deno.readTextFile(join(dir.path, "synthetic.json")));
  const layouts = new PageLayouts();
  for (const record of meta.images.filter((r: { split: string }) => r.split === "test")) {
    const file = join(dir.path, record.file);
    const layout = await layouts.of(file);
    assertEquals(layout.kind, "synthetic");
    assertEquals(layout.affectedLeads, record.affectedLeads);
    const exact = new PageTransform(640, record.rotationDeg, record.shiftXMm, record.shiftYMm);
    assertEquals(cornerDistanceMm(layout.frame!, exact, exact.pxPerMm), 0);
    const fit = fitReportLayout(await readImageFile(file));
    assert("frame" in fit, `${record.file}: ${"reason" in fit ? fit.reason : ""}`);
    const distance = cornerDistanceMm(fit.frame, exact, exact.pxPerMm);
    assert(distance < 1, `${record.file}: fitted corners ${distance} mm off`);
  }
});

Deno.test("a page without the report layout is not found, with the reason", () => {
  const blank = { widthPx: 320, heightPx: 227, data: new Uint8Array(320 * 227 * 4).fill(255) };
  const none = fitReportLayout(blank);
  assert("reason" in none && none.reason.includes("column separators"), JSON.stringify(none));
  // Three lines where the separators go, but no traces: the baselines are missing.
  const lines = { ...blank, data: blank.data.slice() };
  const page = new PageTransform(320);
  for (let column = 1; column <= 3; column++) {
    for (let yMm = 55; yMm < 141; yMm += 0.1) {
      const [x, y] = page.toPx(TRACE_START_MM + column * 62.5, yMm).map(Math.floor);
      lines.data.fill(0, 4 * (y * 320 + x), 4 * (y * 320 + x) + 3);
    }
  }
  const noTraces = fitReportLayout(lines);
  assert("reason" in noTraces && noTraces.reason.includes("baseline"), JSON.stringify(noTraces));
});

const FULLRES = join(SHARED_DIR, "data", "ecg-images-fullres");
const haveScans = await pathExists(FULLRES);
if (!haveScans) console.warn(`leads_test: real-scan layout checks skipped: ${FULLRES} is absent`);

Deno.test({
  name: "real scans: the layout fits every stored full-resolution page and its 640 px copy",
  ignore: !haveScans,
  fn: async () => {
    const layouts = new PageLayouts();
    for (const className of CLASSES) {
      for (const entry of [...Deno.readDirSync(join(FULLRES, className))].slice(0, 2)) {
        const full = await layouts.of(join(FULLRES, className, entry.name));
        assertEquals(full.kind, "fitted", `${entry.name}: ${full.reason}`);
        const g = full.geometry!;
        assert(Math.abs(g.pxPerMm / (full.source.widthPx / 281.4) - 1) < 0.01, `${g.pxPerMm}`);
        assert(Math.abs(g.rotationDeg) < 0.2, `${entry.name} tilt ${g.rotationDeg}`);
        assert(
          full.baselineOffsetsMm!.every((d) => Math.abs(d) < 2.5),
          `${full.baselineOffsetsMm}`,
        );
        // The same page downscaled to 640 px (the test split) gets the same boxes.
        const small = await layouts.of(
          join(SHARED_DIR, "data", "ecg-images", "test", className, entry.name),
        );
        assertEquals(small.kind, "fitted");
        const scale = full.source.widthPx / small.source.widthPx;
        const scaled: PageFrame = {
          toPx: (x, y) => small.frame!.toPx(x, y).map((v) => v * scale) as [number, number],
          toMm: (x, y) => small.frame!.toMm(x / scale, y / scale),
        };
        const distance = cornerDistanceMm(full.frame!, scaled, g.pxPerMm);
        assert(distance < 1, `${entry.name}: 640 px and full-size boxes ${distance} mm apart`);
      }
    }
  },
});

Deno.test({
  name: "real scans: the layout is found on test pages of every class",
  ignore: !haveScans,
  fn: async () => {
    const layouts = new PageLayouts();
    const test = join(SHARED_DIR, "data", "ecg-images", "test");
    for (const className of CLASSES) {
      const names = [...Deno.readDirSync(join(test, className))].map((e) => e.name).sort();
      for (const name of names.slice(0, 3)) {
        const layout = await layouts.of(join(test, className, name));
        assertEquals(layout.kind, "fitted", `${className}/${name}: ${layout.reason}`);
        assert(layout.baselineOffsetsMm!.every((d) => Math.abs(d) < 2.5), name);
      }
    }
  },
});

Deno.test("shares: positive relevance per panel; panels sum to at most 1, outside the rest", () => {
  const page = new PageTransform(640);
  const labels = panelLabels(page, { widthPx: 640, heightPx: 455 }, { widthPx: 64, heightPx: 64 });
  const map = Float32Array.from(labels, (label, j) => (label === 2 ? 3 : j % 7) - 1);
  const shares = panelShares(map, labels);
  assertEquals(shares.length, SHARE_COLUMNS.length);
  const panels = shares.subarray(0, PANEL_BOXES.length).reduce((a, b) => a + b, 0);
  assert(panels <= 1 + 1e-12 && Math.abs(panels + shares[PANEL_BOXES.length] - 1) < 1e-12);
  const even = panelShares(new Float32Array(labels.length).fill(1), labels);
  const v1 = panelsOfLeads(["V1"]);
  assert(Math.abs(even[v1[0]] - areaShare(labels, v1)) < 1e-12, "an even map gives the area");
  assert(panelShares(new Float32Array(labels.length).fill(-1), labels).every(Number.isNaN));
});

Deno.test("leads stage: controls' shares on the synthetic set, summaries, figure", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`, out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  await writeUntrainedCheckpoint(modelPaths(out, "ecgnet").best, 64);
  const nothing = await run(["leads", "--out", out]);
  assertEquals(nothing.code, 1);
  assert(nothing.err.includes("deno task xai"), nothing.err);
  const common = ["--backend", "cpu", "--out", out, "--data", data, "--workers", "1"];
  const explained = await run(["xai", ...common, "--methods", "constant,ground_truth"]);
  assertEquals(explained.code, 0, explained.err);
  const result = await run(["leads", "--out", out]);
  assertEquals(result.code, 0, result.err);
  for (const method of ["constant", "ground_truth"]) {
    const rows: Record<string, string>[] = parseCsv(
      await Deno.readTextFile(`${out}/leads/ecgnet/${method}.csv`),
      { columns: true },
    );
    assertEquals(rows.length, 4, "one test image per class");
    for (const row of rows) {
      assertEquals(row.layout, "synthetic");
      const shares = SHARE_COLUMNS.map((c) => Number(row[c]));
      if (Number.isNaN(shares[0])) {
        assertEquals(row.reason, "the map has no positive value");
        continue;
      }
      const panels = shares.slice(0, PANEL_BOXES.length).reduce((a, b) => a + b, 0);
      assert(panels <= 1 + 1e-5, `${method} ${row.id}: panels sum to ${panels}`);
      assert(Math.abs(panels + shares[PANEL_BOXES.length] - 1) < 1e-5, row.id);
      if (row.affected_leads === "") continue;
      const [affected, chance] = [Number(row.affected_share), Number(row.chance_share)];
      if (method === "constant") assert(Math.abs(affected - chance) < 1e-5, row.id);
      else {
        // The evidence boxes reach 2.5 mm beyond the trace (so that 99 % of what the finding
        // changes in the written JPEG lies inside, tests/synth_test.ts), which near a panel's edge
        // crosses into the next panel: most of the mask, not all, lies in its own leads.
        assert(affected > 0.8, `${row.id}: the mask has ${affected} in its own leads`);
        assert(affected > chance, `${row.id}: ${affected} in its leads, chance ${chance}`);
      }
    }
  }
  const summary = (await Deno.readTextFile(`${out}/results/lead_shares.csv`)).trim().split("\n");
  assertEquals(summary[0], "model,method,class,panel,mean_share,n");
  assert(summary.length > 1 + SHARE_COLUMNS.length, `${summary.length} lines`);
  const affected = await Deno.readTextFile(`${out}/results/lead_affected.csv`);
  assert(affected.includes("ecgnet,ground_truth,MI,1,"), affected);
  const layouts = await Deno.readTextFile(`${out}/leads/layouts.csv`);
  assertEquals(layouts.trim().split("\n").length, 1 + 4);
  assert((await Deno.stat(`${out}/leads/panel_boxes.png`)).size > 1000);
  // plots draws the heatmap per model and hands the affected table to the dashboard.
  const plan = await planCharts({ out, data, classes: [...CLASSES], seed: 1 });
  const chart = plan.charts.find((c) => c.name === "lead_shares");
  assertEquals(chart?.folder, join("per_model", "ecgnet"));
  const facets = JSON.stringify(chart!.chart.spec);
  assert(facets.includes('"constant"') && facets.includes('"II_rhythm"'), facets.slice(0, 200));
  assert(plan.leadAffected?.some((r) => r.method === "ground_truth"), "the affected table");
});
