/**
 * The dashboard's "Relevance per lead" panel, as browser code spliced into the page script
 * (`client_script.ts`), where it uses that script's helpers (`el`, `note`, `table`, `embed`) and
 * adds its chart embeds to `embeds`. Per model it shows the leads x classes heatmap (the chart
 * named in {@link LEADS_CHARTS}, which the general chart grid then leaves out) and, where the
 * pages record which leads carry the evidence (the synthetic set), the table of the share in
 * those leads beside chance (`results/lead_affected.csv`).
 *
 * @module
 */

/** The chart names the panel shows instead of the general grid. */
export const LEADS_CHARTS: readonly string[] = ["lead_shares"];

/** The panel's source text (ES2020, inside the page script's scope). */
export const LEADS_CLIENT_JS = String.raw`
  // Relevance per lead: per model, the heatmap and the affected leads beside chance
  (function () {
    var host = document.getElementById("leads");
    var panelCharts = ${JSON.stringify(LEADS_CHARTS)};
    var charts = data.charts.filter(function (c) { return panelCharts.indexOf(c.name) >= 0; });
    var affected = data.leadAffected || [];
    if (charts.length === 0) {
      host.append(note("No relevance per lead yet: run deno task leads, then deno task plots."));
      return;
    }
    var cols = ["method", "class", "n", "affected_share", "chance_share", "p_wilcoxon"];
    charts.forEach(function (c) {
      var box = el("div", { class: "chart", "data-chart": c.id });
      var mine = affected.filter(function (r) { return r.model === c.group; });
      host.append(el("h3", { text: "Model " + c.group }), box);
      embeds.push(embed(box, c.spec));
      if (mine.length > 0) {
        host.append(el("p", { text: "Share of the relevance in the leads that carry the evidence, beside the share their area gets by chance (Wilcoxon signed-rank p of the paired difference):" }),
          table(cols, mine.map(function (r) { return cols.map(function (k) { return r[k]; }); }), "lead-affected-table"));
      }
    });
  })();
`;
