/**
 * The dashboard's "Which method?" panel, as browser code spliced into the page script
 * (`client_script.ts`), where it uses that script's helpers (`el`, `note`, `table`, `embed`,
 * `chartById`) and adds its chart embeds to `embeds`. Per model it shows the rank-group chart,
 * the metric-agreement matrix (the charts named in {@link WHICH_METHOD_CHARTS}, which the
 * general chart grid then leaves out) and the table of pairwise comparisons, significant pairs
 * first shown.
 *
 * @module
 */

/** The chart names the panel shows instead of the general grid. */
export const WHICH_METHOD_CHARTS: readonly string[] = ["method_ranks", "metric_agreement"];

/** The panel's source text (ES2020, inside the page script's scope). */
export const WHICH_METHOD_CLIENT_JS = String.raw`
  // Which method? per model: rank groups, metric agreement, pairwise comparisons
  (function () {
    var host = document.getElementById("which-method");
    var panelCharts = ${JSON.stringify(WHICH_METHOD_CHARTS)};
    var models = [];
    data.charts.forEach(function (c) {
      if (panelCharts.indexOf(c.name) >= 0 && models.indexOf(c.group) < 0) models.push(c.group);
    });
    if (models.length === 0) {
      host.append(note("No comparisons yet: run deno task quantus with two or more methods, then deno task plots (or deno task compare)."));
      return;
    }
    // The table writes 4 decimals; smaller p-values are in quantus_comparisons.csv.
    function pText(p) { return p !== null && p < 1e-4 ? "< 0.0001" : p; }
    var rows = data.comparisons ? data.comparisons.comparisons : [];
    var cols = ["metric", "method_a", "method_b", "n", "mean_diff", "ci_low", "ci_high", "p", "p_holm", "better"];
    var keys = ["metric", "methodA", "methodB", "n", "meanDiff", "ciLow", "ciHigh", "p", "pHolm", "better"];
    models.forEach(function (model) {
      var grid = el("div", { class: "chart-grid" });
      panelCharts.forEach(function (name) {
        var c = data.charts.filter(function (x) { return x.group === model && x.name === name; })[0];
        if (!c) return;
        var box = el("div", { class: "chart", "data-chart": c.id });
        grid.append(box);
        embeds.push(embed(box, c.spec));
      });
      var mine = rows.filter(function (r) { return r.model === model; });
      var significant = mine.filter(function (r) { return r.better; });
      var all = el("input", { type: "checkbox", "data-model": model });
      var tableHost = el("div", { class: "table-scroll" });
      function show() {
        var shown = all.checked ? mine : significant;
        tableHost.replaceChildren(shown.length === 0 ? note("No pair differs significantly.") :
          table(cols, shown.map(function (r) {
            return keys.map(function (k) { return k === "p" || k === "pHolm" ? pText(r[k]) : r[k]; });
          }), "comparisons-table"));
      }
      all.addEventListener("change", show);
      show();
      host.append(el("h3", { text: "Model " + model }), grid,
        el("p", { text: significant.length + " of " + mine.length + " pairs differ significantly (Holm-corrected Wilcoxon p < 0.05). " }, [
          el("label", {}, [all, document.createTextNode(" show all pairs")])]),
        tableHost);
    });
  })();
`;
