/**
 * The dashboard's browser code, inlined into `index.html`. Plain ES2020 with no imports: it reads
 * the JSON in `<script id="dashboard-data">`, and uses the inlined `vegaEmbed` global.
 *
 * The page records its state in `window.__dashboard` (`ready`: a promise settled when every chart
 * is embedded; `errors`: script and resource errors) so a headless browser can check it.
 *
 * @module
 */
import { WHICH_METHOD_CHARTS, WHICH_METHOD_CLIENT_JS } from "./which_method_script.ts";
import { LEADS_CHARTS, LEADS_CLIENT_JS } from "./leads_script.ts";
import { SANITY_CHARTS, SANITY_CLIENT_JS } from "./sanity_script.ts";

/** The script's source text. */
export const DASHBOARD_CLIENT_JS = String.raw`
(function () {
  "use strict";
  var state = (window.__dashboard = { errors: [], embedded: 0, ready: null });
  window.addEventListener("error", function (e) {
    var where = e.target && e.target !== window ? (e.target.src || e.target.href || e.target.tagName) : "";
    state.errors.push((e.message || "resource failed to load") + (where ? " " + where : ""));
  }, true);
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "onclick") node.addEventListener("click", attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.append(c); });
    return node;
  }
  function note(text) { return el("p", { class: "note", text: text }); }
  function cellText(value, digits) {
    if (value === null || value === undefined) return "NaN";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(digits || 4);
    var n = Number(value);
    if (value !== "" && Number.isFinite(n) && !Number.isInteger(n)) return n.toFixed(digits || 4);
    return String(value);
  }
  function table(columns, rows, className) {
    return el("table", { class: className || "" }, [
      el("thead", {}, [el("tr", {}, columns.map(function (c) { return el("th", { text: c }); }))]),
      el("tbody", {}, rows.map(function (r) {
        return el("tr", {}, r.map(function (v) { return el("td", { text: cellText(v) }); }));
      })),
    ]);
  }
  function embed(host, spec) {
    return vegaEmbed(host, spec, { actions: false, renderer: "svg" }).then(function (result) {
      host.setAttribute("data-rendered", "true");
      state.embedded++;
      return result;
    }, function (err) {
      state.errors.push("chart " + host.getAttribute("data-chart") + ": " + err);
      host.append(note("This chart failed to render: " + err));
    });
  }
  var QUANTUS_METRICS_ID = "comparison/quantus_metrics";
  function chartById(id) {
    return data.charts.filter(function (c) { return c.id === id; })[0];
  }
  function clone(x) { return JSON.parse(JSON.stringify(x)); }

  // Model performance
  (function () {
    var host = document.getElementById("performance");
    if (!data.performance) { host.append(note("No model_performance.csv yet: run deno task eval.")); return; }
    var cols = data.performance.columns;
    host.append(table(cols, data.performance.records.map(function (r) {
      return cols.map(function (c) { return r[c]; });
    })));
  })();

  // Quantus summary with filters
  var quantusChart = null;
  (function () {
    var host = document.getElementById("quantus");
    if (!data.quantus) { host.append(note("No quantus_summary.csv yet: run deno task quantus.")); return; }
    var fields = [["model", "model"], ["method", "method"], ["label", "metric"]];
    var chosen = {};
    var filterBox = el("div", { class: "filters" });
    var tableHost = el("div", { class: "table-scroll" });
    var chartHost = el("div", { class: "chart", id: "quantus-filtered-chart", "data-chart": "quantus (filtered)" });
    fields.forEach(function (f) {
      var values = Array.from(new Set(data.quantus.map(function (r) { return r[f[0]]; })));
      chosen[f[0]] = new Set(values);
      var group = el("fieldset", { "data-filter": f[1] }, [el("legend", { text: f[1] })]);
      values.forEach(function (v) {
        var box = el("input", { type: "checkbox", value: v, checked: "checked" });
        box.addEventListener("change", function () {
          if (box.checked) chosen[f[0]].add(v); else chosen[f[0]].delete(v);
          update();
        });
        group.append(el("label", {}, [box, document.createTextNode(" " + v)]));
      });
      filterBox.append(group);
    });
    host.append(filterBox, tableHost, chartHost);
    var cols = ["model", "method", "label", "category", "direction", "n", "mean", "std", "ci95_low", "ci95_high", "nan_count"];
    function update() {
      var rows = data.quantus.filter(function (r) {
        return fields.every(function (f) { return chosen[f[0]].has(r[f[0]]); });
      });
      tableHost.replaceChildren(table(cols.map(function (c) { return c === "label" ? "metric" : c; }),
        rows.map(function (r) { return cols.map(function (c) { return r[c]; }); }), "quantus-table"));
      var base = chartById(QUANTUS_METRICS_ID);
      if (!base) return;
      var spec = clone(base.spec);
      // The chart's own rows carry its significance marks; data.quantus does not.
      spec.data = { values: spec.data.values.filter(function (r) {
        return fields.every(function (f) { return chosen[f[0]].has(r[f[0]]); });
      }) };
      chartHost.replaceChildren();
      if (rows.length === 0) { chartHost.append(note("No rows match the filters.")); return; }
      quantusChart = embed(chartHost, spec);
    }
    update();
  })();

  // Charts
  var embeds = [];
  (function () {
    var host = document.getElementById("charts");
    // The "Which method?" and "Relevance per lead" panels show their own charts.
    var panelCharts = ${
  JSON.stringify([...WHICH_METHOD_CHARTS, ...LEADS_CHARTS, ...SANITY_CHARTS])
};
    // The per-metric Quantus chart shows once, filtered, in the Quantus section.
    var gridCharts = data.charts.filter(function (c) {
      return panelCharts.indexOf(c.name) < 0 && c.id !== QUANTUS_METRICS_ID;
    });
    if (gridCharts.length === 0) host.append(note("No charts: see the list of missing inputs below."));
    var groups = [];
    gridCharts.forEach(function (c) { if (groups.indexOf(c.group) < 0) groups.push(c.group); });
    groups.forEach(function (g) {
      var title = g === "comparison" ? "Across models" : g === "dataset" ? "Data set" : "Model " + g;
      var grid = el("div", { class: "chart-grid" });
      host.append(el("h3", { text: title }), grid);
      gridCharts.filter(function (c) { return c.group === g; }).forEach(function (c) {
        var box = el("div", { class: "chart", "data-chart": c.id });
        grid.append(box);
        embeds.push(embed(box, c.spec));
      });
    });
    var skipped = document.getElementById("skipped");
    if (data.skipped.length === 0) skipped.append(note("Every chart could be drawn."));
    else skipped.append(el("ul", {}, data.skipped.map(function (s) { return el("li", { text: s }); })));
  })();

${WHICH_METHOD_CLIENT_JS}
${LEADS_CLIENT_JS}
${SANITY_CLIENT_JS}
  // Test image browser
  (function () {
    var host = document.getElementById("images");
    if (data.images.length === 0) { host.append(note("No explanations yet: run deno task xai.")); return; }
    var models = Array.from(new Set(data.images.map(function (i) { return i.model; })));
    var select = el("select", { id: "image-model" }, models.map(function (m) { return el("option", { value: m, text: m }); }));
    var grid = el("div", { class: "thumbs" });
    var detail = el("div", { id: "image-detail" }, [note("Click an image to see every method's overlay and its scores.")]);
    host.append(el("label", {}, [document.createTextNode("model "), select]), grid, detail);
    function showThumbs() {
      grid.replaceChildren();
      data.images.filter(function (i) { return i.model === select.value; }).forEach(function (image) {
        var wrong = image.trueClass !== image.predictedClass;
        grid.append(el("button", {
          class: "thumb" + (wrong ? " wrong" : ""), "data-id": image.id, title: image.id,
          onclick: function () { show(image); },
        }, [el("img", { src: image.source, alt: image.id, loading: "lazy" }),
          el("span", { text: image.id.split("/").pop() + " · " + image.trueClass + " → " + image.predictedClass })]));
      });
    }
    function colourBar(bar) {
      if (!bar) return note("No colour scale recorded with this overlay: rerun deno task xai.");
      return el("div", { class: "colour-bar" }, [
        el("div", { class: "colour-bar-ramp", style: "background: " + bar.gradient }),
        el("div", { class: "colour-bar-ticks" }, [el("span", { text: bar.low }),
          bar.middle ? el("span", { text: bar.middle }) : null, el("span", { text: bar.high })]),
        el("div", { class: "colour-bar-meaning", text: bar.meaning }),
      ]);
    }
    function scoreTable(expl) {
      if (!expl.scores) return note(expl.scoreNote || "No per-image scores: run deno task quantus.");
      var rows = Object.keys(expl.scores).map(function (m) {
        var meta = data.metrics[m] || { label: m, direction: "" };
        return [meta.label, expl.scores[m], meta.direction ? meta.direction + " = better" : ""];
      });
      return table(["metric", "score", ""], rows, "scores");
    }
    function show(image) {
      Array.from(grid.children).forEach(function (b) { b.classList.toggle("selected", b.getAttribute("data-id") === image.id); });
      detail.replaceChildren(
        el("h3", { text: image.model + " · " + image.id }),
        el("p", { text: "true " + image.trueClass + ", predicted " + image.predictedClass + " (p = " + cellText(image.probability, 3) + ")" }),
        el("div", { class: "overlays" }, [el("figure", { class: "source" }, [
          el("img", { src: image.source, alt: image.id }), el("figcaption", { text: "image" })])].concat(
          image.explanations.map(function (x) {
            var picture = el("img", { src: x.overlay, alt: x.method + " overlay" });
            return el("figure", { class: "overlay", "data-method": x.method }, [
              // A PNG with its own bar below shows just the picture; the page draws the bar.
              x.pictureAspect
                ? el("div", { class: "picture-crop", style: "aspect-ratio: " + x.pictureAspect }, [picture])
                : picture,
              colourBar(x.colourBar),
              el("figcaption", { text: x.method + " (explains " + x.targetClass + ")" }),
              scoreTable(x),
              x.nanReasons ? note("NaN: " + x.nanReasons) : null,
            ]);
          }))));
    }
    select.addEventListener("change", showThumbs);
    showThumbs();
  })();

  state.ready = Promise.all(embeds.concat(quantusChart ? [quantusChart] : [])).then(function () {
    return { charts: data.charts.length, embedded: state.embedded };
  });
})();
`;
