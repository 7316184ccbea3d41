/**
 * The dashboard's "Which method?" panel, as browser code spliced into the page script
 * (`client_script.ts`), where it uses that script's helpers (`el`, `note`, `table`, `embed`,
 * `chartById`) and adds its chart embeds to `embeds`. Per model it shows the methods ranked:
 * on how many metrics each is the best or not significantly worse (the `*` marks of the summary
 * chart's data) and its mean rank (the rank-group chart's data); then the rank-group chart, the
 * metric-agreement matrix and the metrics' report cards (the charts named in
 * {@link WHICH_METHOD_CHARTS}, which the general chart grid then leaves out), the report cards
 * as a table with why validity is absent where it is, and the table of pairwise comparisons,
 * significant pairs first shown.
 *
 * @module
 */

/** The chart names the panel shows instead of the general grid. */
export const WHICH_METHOD_CHARTS: readonly string[] = [
  "method_ranks",
  "metric_agreement",
  "report_card",
];

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
    var cards = data.comparisons ? data.comparisons.reportCard : [];
    var absent = data.comparisons ? data.comparisons.validityAbsent : [];
    var summary = chartById(QUANTUS_METRICS_ID);
    var marks = summary ? summary.spec.data.values : [];
    function two(x) { return x === null || !Number.isFinite(x) ? "" : x.toFixed(2); }
    // Methods best first: most metrics where the data cannot rank them below the best, then
    // the lower mean rank over the metrics.
    function standings(model) {
      var ranks = data.charts.filter(function (c) { return c.group === model && c.name === "method_ranks"; })[0];
      var cells = ranks ? ranks.spec.data.values : [];
      var byMethod = {};
      cells.forEach(function (c) {
        var s = byMethod[c.method] || (byMethod[c.method] = { method: c.method, top: 0, metrics: 0, rankSum: 0 });
        s.metrics++;
        s.rankSum += c.rank;
      });
      marks.forEach(function (m) {
        if (m.model === model && byMethod[m.method] && /\*$/.test(m.significance || "")) byMethod[m.method].top++;
      });
      return Object.keys(byMethod).map(function (k) { return byMethod[k]; }).sort(function (a, b) {
        return b.top - a.top || a.rankSum / a.metrics - b.rankSum / b.metrics;
      });
    }
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
      var standing = standings(model);
      var cardRows = cards.filter(function (c) { return c.model === model; });
      var why = absent.filter(function (line) { return line.indexOf(model + ":") === 0; });
      host.append(el("h3", { text: "Model " + model }),
        standing.length === 0 ? note("No method ranked yet.") : table(
          ["method", "best or not significantly worse on", "mean rank"],
          standing.map(function (s) { return [s.method, s.top + " of " + s.metrics + " metrics", two(s.rankSum / s.metrics)]; }),
          "standings-table"),
        grid,
        cardRows.length === 0 ? note("No report card: run deno task compare.") : table(
          ["metric", "validity tau [95% CI]", "vs", "agreement tau (metrics)", "noise resilience", "reactivity"],
          cardRows.map(function (c) {
            var validity = Number.isFinite(c.validityTau) ? two(c.validityTau) + " [" + two(c.validityCiLow) + ", " + two(c.validityCiHigh) + "]" : "absent";
            var agreement = Number.isFinite(c.agreementTau) ? two(c.agreementTau) + " (" + c.agreementMetrics + ")" : "";
            return [c.metric, validity, c.validityReference, agreement,
              c.noiseResilience === undefined ? "not computed" : two(c.noiseResilience),
              c.reactivity === undefined ? "not computed" : two(c.reactivity)];
          }), "report-card-table"),
        why.length === 0 ? el("span") : note(why.join(" ")),
        el("p", { text: significant.length + " of " + mine.length + " pairs differ significantly (Holm-corrected Wilcoxon p < 0.05). " }, [
          el("label", {}, [all, document.createTextNode(" show all pairs")])]),
        tableHost);
    });
  })();
`;
