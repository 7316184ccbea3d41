/**
 * The dashboard page: one HTML file with its styles, the vega libraries, its data and its code
 * inlined, so it opens from disk with no network.
 *
 * @module
 */
import { DASHBOARD_CLIENT_JS } from "./client_script.ts";
import type { DashboardData } from "./dashboard_data.ts";

/** The browser bundles the page inlines, as source text. */
export interface DashboardLibraries {
  vega: string;
  vegaLite: string;
  vegaEmbed: string;
}

/**
 * Text safe inside a `<script>` element: no `</script` (or `<!--`) can end it early.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { scriptSafe } from "./dashboard_html.ts";
 * assert(scriptSafe('"</script>"') === '"<\\/script>"');
 * ```
 */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f3b57; color: white; padding: 12px 24px; }
header h1 { margin: 0; font-size: 20px; }
header nav a { color: #cfe3f7; margin-right: 16px; font-size: 14px; }
main { padding: 8px 24px 48px; }
section { background: white; border: 1px solid #ddd; border-radius: 6px; padding: 8px 16px 16px; margin: 16px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; text-align: left; }
th { background: #f0f3f6; }
.table-scroll { max-height: 360px; overflow: auto; }
.note { color: #666; font-style: italic; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; }
.filters fieldset { border: 1px solid #ccc; border-radius: 4px; font-size: 13px; }
.filters label { display: block; }
.chart-grid { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { min-height: 40px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.thumb { border: 2px solid #ccc; background: white; padding: 4px; cursor: pointer; width: 150px; font-size: 11px; }
.thumb img { width: 140px; height: 100px; object-fit: contain; display: block; }
.thumb.wrong { border-color: #e45756; }
.thumb.selected { outline: 3px solid #4c78a8; }
.overlays { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.overlays figure { margin: 0; width: 320px; }
.overlays img { width: 320px; border: 1px solid #ccc; }
.overlays .picture-crop { overflow: hidden; border: 1px solid #ccc; }
.overlays .picture-crop img { display: block; width: 100%; border: 0; }
figcaption { font-weight: bold; font-size: 13px; }
.scores td { white-space: nowrap; font-size: 12px; }
.scores td:last-child { white-space: normal; }
.colour-bar { width: 320px; font-size: 11px; color: #555; margin: 2px 0 6px; }
.colour-bar-ramp { height: 10px; border: 1px solid #999; }
.colour-bar-ticks { display: flex; justify-content: space-between; }
.vg-tooltip { font-family: "DejaVu Sans", sans-serif; }
`;

/**
 * The page's HTML.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dashboardHtml } from "./dashboard_html.ts";
 * const html = dashboardHtml(
 *   { generated: "now", metrics: {}, charts: [], images: [], skipped: [] },
 *   { vega: "", vegaLite: "", vegaEmbed: "" },
 * );
 * assert(html.startsWith("<!doctype html>") && html.includes('id="dashboard-data"'));
 * ```
 */
export function dashboardHtml(data: DashboardData, libraries: DashboardLibraries): string {
  const section = (id: string, title: string, intro = "") =>
    `<section><h2>${title}</h2>${
      intro ? `<p class="note">${intro}</p>` : ""
    }<div id="${id}"></div></section>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ecg-xai dashboard</title>
<style>${STYLE}</style>
<script>${scriptSafe(libraries.vega)}</script>
<script>${scriptSafe(libraries.vegaLite)}</script>
<script>${scriptSafe(libraries.vegaEmbed)}</script>
</head>
<body>
<header>
<h1>ecg-xai dashboard</h1>
<nav><a href="#performance-section">performance</a><a href="#quantus-section">Quantus</a><a href="#which-method-section">which method?</a><a href="#leads-section">leads</a><a href="#sanity-section">sanity</a><a href="#charts-section">charts</a><a href="#images-section">test images</a></nav>
</header>
<main>
<div id="performance-section">${
    section("performance", "Model performance", "test split; from results/model_performance.csv")
  }</div>
<div id="quantus-section">${
    section(
      "quantus",
      "Quantus summary",
      "mean over test images with 95% CI; tick models, methods and metrics to filter the table and the chart",
    )
  }</div>
<div id="which-method-section">${
    section(
      "which-method",
      "Which method?",
      "per model: the methods ranked; per metric, methods sharing a letter do not differ significantly on the same images (Wilcoxon signed-rank, Holm-corrected); the matrix shows whether the metrics rank the methods alike (Kendall's tau); each metric's report card: validity against the ground-truth ranking, agreement with the other metrics, MetaQuantus's criteria",
    )
  }</div>
<div id="leads-section">${
    section(
      "leads",
      "Relevance per lead",
      "mean share of each explanation's positive relevance in each lead's panel of the report, by true class (deno task leads)",
    )
  }</div>
<div id="sanity-section">${
    section(
      "sanity",
      "Sanity checks",
      "per model and method: how similar the maps of a model trained on shuffled labels are to the real model's, beside how similar the maps of models that differ only in seed are (Spearman, SSIM; mean, 95% CI). A method whose permuted-label similarity reaches the seeds' fails (Adebayo et al. 2018; deno task sanity)",
    )
  }</div>
<div id="charts-section">${
    section(
      "charts",
      "Charts",
      "hover for values; click a legend entry to highlight a series (shift-click for more)",
    )
  }${section("skipped", "Not drawn")}</div>
<div id="images-section">${
    section("images", "Test images", "red border: misclassified. Overlays and scores per method")
  }</div>
<p class="note">Generated ${data.generated}. Images are linked relative to this file (outputs/dashboard/), so keep it beside the outputs.</p>
</main>
<script type="application/json" id="dashboard-data">${scriptSafe(JSON.stringify(data))}</script>
<script>${scriptSafe(DASHBOARD_CLIENT_JS)}</script>
</body>
</html>
`;
}
