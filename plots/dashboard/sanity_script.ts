/**
 * The dashboard's "Sanity checks" panel, as browser code spliced into the page script
 * (`client_script.ts`), where it uses that script's helpers (`el`, `note`, `table`, `embed`) and
 * adds its chart embeds to `embeds`. Per model it shows the chart named in
 * {@link SANITY_CHARTS} (which the general chart grid then leaves out), the verdict per method
 * and statistic (`sanity/sanity_summary.csv`), and every sanity model's test accuracy beside
 * chance (`sanity/sanity_accuracy.csv`).
 *
 * @module
 */

/** The chart names the panel shows instead of the general grid. */
export const SANITY_CHARTS: readonly string[] = ["sanity_similarity"];

/** The panel's source text (ES2020, inside the page script's scope). */
export const SANITY_CLIENT_JS = String.raw`
  // Sanity checks: per model the chart, the verdicts and the models' accuracies
  (function () {
    var host = document.getElementById("sanity");
    var panelCharts = ${JSON.stringify(SANITY_CHARTS)};
    var charts = data.charts.filter(function (c) { return panelCharts.indexOf(c.name) >= 0; });
    var sanity = data.sanity;
    if (!sanity || charts.length === 0) {
      host.append(note("No sanity checks yet: run deno task sanity, then deno task plots."));
      return;
    }
    var cols = ["method", "statistic", "permuted_mean", "permuted_ci95_high", "seeds_mean", "seeds_ci95_low", "verdict"];
    var accuracyCols = ["checkpoint", "role", "seed", "best_epoch", "train_accuracy", "test_accuracy", "chance_accuracy"];
    function rowsOf(records, columns) {
      return records.map(function (r) { return columns.map(function (k) { return r[k]; }); });
    }
    charts.forEach(function (c) {
      var box = el("div", { class: "chart", "data-chart": c.id });
      host.append(el("h3", { text: "Model " + c.group }), box);
      embeds.push(embed(box, c.spec));
      var mine = sanity.summary.filter(function (r) { return r.model === c.group; });
      host.append(table(cols, rowsOf(mine, cols), "sanity-table"));
      var accuracy = (sanity.accuracy || []).filter(function (r) { return r.model === c.group; });
      if (accuracy.length > 0) {
        host.append(el("p", { text: "Test accuracy on the true labels: the permuted-label model's must be near chance, or the data randomisation test says nothing." }),
          table(accuracyCols, rowsOf(accuracy, accuracyCols), "sanity-accuracy-table"));
      }
    });
  })();
`;
