import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { planCharts } from "../plots/draw_charts.ts";
import { writeDashboard } from "../plots/dashboard/write_dashboard.ts";
import { decodeImage } from "../data/decode_image.ts";
import { readImageHeader } from "../data/image_header.ts";
import { readPngText } from "../data/png_file.ts";
import { recordedPictureHeightPx } from "../xai/captioned_picture.ts";
import { assert, assertEquals } from "./assert.ts";
import { chromiumUnavailable, HeadlessChromium } from "./headless_chromium.ts";
import {
  FIXTURE,
  FIXTURE_PICTURE_PX,
  FIXTURE_TEST_IDS,
  fixtureShade,
  writePlotsFixture,
} from "./plots_fixtures.ts";
import { testDir } from "./test_dirs.ts";

/** Where the test leaves its screenshot of the dashboard (kept after the run). */
const SCREENSHOT = "outputs/tmp/dashboard_test.png";

const unavailable = await chromiumUnavailable();
if (unavailable) console.log(`dashboard_test: skipped: ${unavailable}`);

interface ChartState {
  id: string;
  rendered: boolean;
  marks: number;
}

interface Box {
  x: number;
  y: number;
}

/** Where an image is seen: its box cut by every clipping ancestor, in page pixels. */
interface VisibleImage {
  left: number;
  top: number;
  width: number;
  height: number;
  naturalHeightPx: number;
  renderedWidthPx: number;
}

/**
 * The part of each explanation figure's overlay `<img>` that shows: the image's box cut by each
 * ancestor that clips its overflow (the `.picture-crop`), after scrolling the figure into view.
 */
const VISIBLE_OVERLAYS = `Array.from(document.querySelectorAll("#image-detail figure.overlay"))
  .map((figure) => {
    figure.scrollIntoView({ block: "center" });
    const img = figure.querySelector("img");
    const r = img.getBoundingClientRect();
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
    for (let e = img.parentElement; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const c = e.getBoundingClientRect();
      const clipLeft = c.left + e.clientLeft, clipTop = c.top + e.clientTop;
      left = Math.max(left, clipLeft);
      top = Math.max(top, clipTop);
      right = Math.min(right, clipLeft + e.clientWidth);
      bottom = Math.min(bottom, clipTop + e.clientHeight);
    }
    return { left: left + scrollX, top: top + scrollY, width: right - left, height: bottom - top,
      naturalHeightPx: img.naturalHeight, renderedWidthPx: r.width };
  })`;

/**
 * A point inside the first element matching `selector`, scrolled into view: its centre, or
 * `fraction` of the way across and down.
 */
function centreOf(selector: string, fraction = 0.5): string {
  return `(() => { const e = document.querySelector(${JSON.stringify(selector)});
    if (!e) return null; e.scrollIntoView({ block: "center" });
    const r = e.getBoundingClientRect();
    return { x: r.x + r.width * ${fraction}, y: r.y + r.height * ${fraction} }; })()`;
}

Deno.test({
  name:
    "the dashboard works offline in headless Chromium: charts, filters, tooltips, image overlays",
  ignore: unavailable !== undefined,
  sanitizeResources: true,
  fn: async () => {
    await using dir = await testDir();
    const out = join(dir.path, "out"), data = join(dir.path, "ds");
    await writePlotsFixture(out, data);
    const plan = await planCharts({ out, data, classes: [...FIXTURE.classes], seed: 1 });
    assertEquals(plan.skipped, []);
    const dashboard = await writeDashboard(out, plan);

    await using browser = await HeadlessChromium.launch(join(dir.path, "chromium-profile"));
    await browser.page("Emulation.setDeviceMetricsOverride", {
      width: 1400,
      height: 1000,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const loaded = browser.nextEvent("Page.loadEventFired");
    await browser.page("Page.navigate", { url: pathToFileURL(dashboard).href });
    await loaded;
    const ready = await browser.evaluate<{ charts: number; embedded: number }>(
      "window.__dashboard.ready",
    );
    assertEquals(ready.charts, plan.charts.length);

    // Every chart (and the filtered Quantus chart) is an SVG with marks.
    const charts = await browser.evaluate<ChartState[]>(
      `Array.from(document.querySelectorAll(".chart[data-chart]")).map((c) => ({
        id: c.getAttribute("data-chart"), rendered: c.getAttribute("data-rendered") === "true",
        marks: c.querySelectorAll("svg .role-mark > *").length + c.querySelectorAll("canvas").length,
      }))`,
    );
    // Every planned chart once: the per-metric Quantus chart only in the Quantus section,
    // filtered (it was also in the chart grid before).
    assertEquals(charts.length, plan.charts.length);
    assertEquals(
      charts.filter((c) => c.id === "comparison/quantus_metrics" || c.id === "quantus (filtered)")
        .map((c) => c.id),
      ["quantus (filtered)"],
    );
    for (const c of charts) {
      assert(c.rendered && c.marks > 0, `chart ${c.id}: ${JSON.stringify(c)}`);
    }

    // Tooltips: hovering a confusion-matrix cell (off its centred count) shows its count.
    const cell = await browser.evaluate<Box>(
      centreOf('[data-chart="per_model/ecgnet/confusion_matrix"] .mark-rect.role-mark path', 0.2),
    );
    await browser.hover(cell.x - 2, cell.y - 2);
    await browser.hover(cell.x, cell.y);
    const tip = await browser.evaluate<string>(
      `new Promise((ok) => setTimeout(() => ok(document.getElementById("vg-tooltip-element")?.textContent ?? ""), 300))`,
    );
    assert(tip.includes("count"), `tooltip text: "${tip}"`);

    // Filters: unticking a model removes its rows from the Quantus table and chart.
    const rowsShown = () =>
      browser.evaluate<number>(`document.querySelectorAll(".quantus-table tbody tr").length`);
    const { models, methods, metrics } = FIXTURE;
    assertEquals(await rowsShown(), models.length * methods.length * metrics.length);
    const box = await browser.evaluate<Box>(
      centreOf('fieldset[data-filter="model"] input[value="resnet18"]'),
    );
    await browser.click(box.x, box.y);
    assertEquals(await rowsShown(), methods.length * metrics.length);
    const bars = await browser.evaluate<number>(
      `new Promise((ok) => setTimeout(() => ok(document.querySelectorAll(
        "#quantus-filtered-chart .mark-rect.role-mark path").length), 300))`,
    );
    assertEquals(bars, methods.length * metrics.length);

    // Clicking a test image shows every method's overlay, loaded, with its scores.
    const thumb = await browser.evaluate<Box>(centreOf(".thumb"));
    await browser.click(thumb.x, thumb.y);
    const detail = await browser.evaluate<
      { title: string; methods: string[]; loaded: boolean[]; scoreRows: number[]; bars: string[] }
    >(
      `new Promise((ok) => setTimeout(() => {
        const figures = Array.from(document.querySelectorAll("#image-detail figure.overlay"));
        ok({
          title: document.querySelector("#image-detail h3")?.textContent ?? "",
          methods: figures.map((f) => f.getAttribute("data-method")),
          loaded: figures.map((f) => { const i = f.querySelector("img"); return i.complete && i.naturalWidth > 0; }),
          scoreRows: figures.map((f) => f.querySelectorAll("table.scores tbody tr").length),
          bars: figures.map((f) => Array.from(f.querySelectorAll(".colour-bar-ticks span"))
            .map((s) => s.textContent).join(" ")),
        });
      }, 500))`,
    );
    assertEquals(detail.title, `${models[0]} · ${FIXTURE_TEST_IDS[0]}`);
    assertEquals(detail.methods, [...methods]);
    assertEquals(detail.loaded, methods.map(() => true));
    assertEquals(detail.scoreRows, methods.map(() => metrics.length));
    // Each overlay carries the colour bar of the scale recorded in its PNG.
    assertEquals(detail.bars, ["0 0.5", "−0.25 0 +0.25"]);

    // The overlay PNGs carry the xai stage's colour bar below the picture; the page shows only
    // the picture (the box seen has the picture's aspect, not the file's) and draws its own bar.
    const picture = FIXTURE_PICTURE_PX;
    for (const method of methods) {
      const file = join(
        out,
        "explanations",
        models[0],
        method,
        "overlay",
        `${FIXTURE_TEST_IDS[0]}.png`,
      );
      const bytes = await Deno.readFile(file);
      assertEquals(recordedPictureHeightPx(readPngText(bytes), file), picture.heightPx);
      const whole = readImageHeader(bytes, file);
      assertEquals(whole.widthPx, picture.widthPx);
      assert(whole.heightPx > picture.heightPx * 1.2, `${file}: no colour bar below the picture`);
    }
    const pictureAspect = picture.widthPx / picture.heightPx;
    for (const [k, method] of methods.entries()) {
      const seen = (await browser.evaluate<VisibleImage[]>(VISIBLE_OVERLAYS))[k];
      assert(seen.naturalHeightPx > picture.heightPx, `${method}: the <img> is the whole PNG`);
      assert(seen.width > 300, `${method} overlay shown ${seen.width} px wide`);
      const aspect = seen.width / seen.height;
      assert(
        Math.abs(aspect - pictureAspect) < 0.01,
        `${method}: the overlay seen is ${seen.width} x ${seen.height} px (aspect ${aspect}), ` +
          `the picture ${picture.widthPx} x ${picture.heightPx} (the colour bar shows, or is cut)`,
      );
      // Every pixel seen is the picture's colour, except the last rows, where the browser's
      // smoothing blends the picture's last row with the strip's first (one picture row on screen).
      const shot = await browser.page("Page.captureScreenshot", {
        format: "png",
        clip: { x: seen.left, y: seen.top, width: seen.width, height: seen.height, scale: 1 },
      });
      const pixels = decodeImage(
        Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)),
        `${method} overlay screenshot`,
      );
      const blendedRows = Math.ceil(seen.renderedWidthPx / picture.widthPx) + 1;
      const shade = fixtureShade(0, k);
      const off: string[] = [];
      for (let y = 1; y < pixels.heightPx - blendedRows; y++) {
        for (let x = 1; x < pixels.widthPx - 1; x++) {
          const i = (y * pixels.widthPx + x) * 4;
          const rgb = [pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]];
          if (rgb.some((v, c) => Math.abs(v - shade[c]) > 3)) off.push(`(${x}, ${y}) ${rgb}`);
        }
      }
      assertEquals(off.slice(0, 5), [], `${method}: ${off.length} pixels seen are not the picture`);
    }

    // Screenshot of the whole page.
    const heightPx = await browser.evaluate<number>("document.documentElement.scrollHeight");
    await browser.page("Emulation.setDeviceMetricsOverride", {
      width: 1400,
      height: Math.min(heightPx, 8000),
      deviceScaleFactor: 1,
      mobile: false,
    });
    const shot = await browser.page("Page.captureScreenshot", { format: "png" });
    await Deno.writeFile(SCREENSHOT, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
    console.log(`dashboard screenshot: ${SCREENSHOT}`);

    // No console errors, no script or resource errors, no network request.
    const pageErrors = await browser.evaluate<string[]>("window.__dashboard.errors");
    assertEquals(pageErrors, []);
    const problems = browser.events.flatMap((e) => {
      if (e.method === "Runtime.exceptionThrown") {
        return [`exception: ${e.params.exceptionDetails.text}`];
      }
      if (e.method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(e.params.type)) {
        return [`console.${e.params.type}: ${JSON.stringify(e.params.args)}`];
      }
      if (e.method === "Log.entryAdded" && e.params.entry.level === "error") {
        return [`log: ${e.params.entry.text} ${e.params.entry.url ?? ""}`];
      }
      if (e.method === "Network.requestWillBeSent" && !e.params.request.url.startsWith("file:")) {
        if (!/^(data|blob|about):/.test(e.params.request.url)) {
          return [`network request: ${e.params.request.url}`];
        }
      }
      return [];
    });
    assertEquals(problems, []);
  },
});
