/**
 * The figure that shows where the `leads` stage put the 13 panels on report pages: each page
 * with its panel boxes outlined and named, and under it how the layout was found (exactly from
 * the synthetic set's record, or fitted, with the fit's numbers) or why it was not — so a reader
 * can see that the boxes sit on the traces before trusting the shares per lead.
 *
 * @module
 */
import type { RgbaImage } from "../../data/image.ts";
import type { PageLayout } from "../../leads/page_layouts.ts";
import { PANEL_BOXES } from "../../leads/panel_boxes.ts";
import { fitWithin } from "./canvas.ts";
import { MUTED_INK, type SvgFigure, svgFigure, svgPicture, svgText } from "../../svg/figure.ts";
import { LABEL_FONT_PX, lineHeightPx, SMALL_FONT_PX, TITLE_FONT_PX } from "../../svg/text.ts";

/** One page of the figure. */
export interface PanelPage {
  /** The page image at its own size (the layout's pixels). */
  image: RgbaImage;
  layout: PageLayout;
  /** Its first caption line, e.g. the sample id. */
  label: string;
}

/** Width each page is drawn at. */
const PAGE_WIDTH_PX = 560;
const GAP_PX = 16;
const BOX_COLOUR = "#1f77b4";
const FAILED_COLOUR = "#c0392b";

/**
 * The caption line saying how `layout` was found.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { layoutCaption } from "./panel_boxes.ts";
 * const source = { widthPx: 640, heightPx: 455 };
 * assert(layoutCaption({ kind: "not_found", source, reason: "no lines" }) === "layout not found: no lines");
 * ```
 */
export function layoutCaption(layout: PageLayout): string {
  if (layout.kind === "not_found") return `layout not found: ${layout.reason}`;
  const { pxPerMm, rotationDeg } = layout.geometry!;
  const how = layout.kind === "synthetic" ? "exact (synthetic.json)" : "fitted";
  const residual = layout.baselineOffsetsMm
    ? `, baselines off by ≤ ${Math.max(...layout.baselineOffsetsMm.map(Math.abs)).toFixed(1)} mm`
    : "";
  return `${how}: ${pxPerMm.toFixed(3)} px/mm, tilt ${rotationDeg.toFixed(2)}°${residual}`;
}

/** The 13 boxes' outlines and names over a page drawn at (`left`, `top`) `scale` times its size. */
function boxesSvg(layout: PageLayout, left: number, top: number, scale: number): string[] {
  const frame = layout.frame;
  if (!frame) return [];
  return PANEL_BOXES.flatMap((box) => {
    const corners = [
      [box.leftMm, box.topMm],
      [box.rightMm, box.topMm],
      [box.rightMm, box.bottomMm],
      [box.leftMm, box.bottomMm],
    ].map(([x, y]) => frame.toPx(x, y)).map(([x, y]) => [left + x * scale, top + y * scale]);
    const points = corners.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    return [
      `<polygon points="${points}" fill="none" stroke="${BOX_COLOUR}" stroke-width="1.5" ` +
      `class="panel-box"/>`,
      svgText(box.name, corners[0][0] + 3, corners[0][1] + 2, {
        fontPx: SMALL_FONT_PX,
        bold: true,
        fill: BOX_COLOUR,
        className: "panel-label",
      }),
    ];
  });
}

/**
 * The figure: `pages` two per row, each with its boxes and captions, under `title`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { renderSyntheticReport } from "../../data/synth/render_report.ts";
 * import { PageTransform } from "../../data/synth/report_layout.ts";
 * import { panelBoxesFigure } from "./panel_boxes.ts";
 * const { image, meta } = renderSyntheticReport("MI", new SeededRandom(1).fork("a"), { widthPx: 320 });
 * const frame = new PageTransform(320, meta.rotationDeg, meta.shiftXMm, meta.shiftYMm);
 * const layout = {
 *   kind: "synthetic" as const, source: { widthPx: 320, heightPx: 227 }, frame,
 *   geometry: { pxPerMm: frame.pxPerMm, rotationDeg: meta.rotationDeg, originXPx: 0, originYPx: 0 },
 * };
 * const figure = panelBoxesFigure(["Panels"], [{ image, layout, label: "test/MI/MI(1)" }]);
 * assert((figure.svg.match(/class="panel-box"/g) ?? []).length === 13);
 * ```
 */
export function panelBoxesFigure(title: readonly string[], pages: readonly PanelPage[]): SvgFigure {
  const columns = Math.min(2, Math.max(1, pages.length));
  const lineLabel = lineHeightPx(LABEL_FONT_PX);
  const pictures = pages.map((page) => fitWithin(page.image, PAGE_WIDTH_PX, PAGE_WIDTH_PX));
  const cellHeight = Math.max(0, ...pictures.map((p) => p.heightPx)) + 2 * lineLabel + GAP_PX;
  const [heading, ...subtitles] = title;
  const body: string[] = [];
  let top = GAP_PX;
  if (heading !== undefined) {
    body.push(svgText(heading, GAP_PX, top, { fontPx: TITLE_FONT_PX, bold: true }));
    top += lineHeightPx(TITLE_FONT_PX);
  }
  for (const line of subtitles) {
    body.push(svgText(line, GAP_PX, top, { fontPx: LABEL_FONT_PX, fill: MUTED_INK }));
    top += lineLabel;
  }
  top += GAP_PX / 2;
  pages.forEach((page, k) => {
    const left = GAP_PX + (k % columns) * (PAGE_WIDTH_PX + GAP_PX);
    const cellTop = top + Math.floor(k / columns) * cellHeight;
    const picture = pictures[k];
    const scale = picture.widthPx / page.layout.source.widthPx;
    body.push(svgPicture(picture, left, cellTop));
    body.push(...boxesSvg(page.layout, left, cellTop, scale));
    const captionTop = cellTop + picture.heightPx + 4;
    body.push(svgText(page.label, left, captionTop, { fontPx: LABEL_FONT_PX, bold: true }));
    body.push(svgText(layoutCaption(page.layout), left, captionTop + lineLabel, {
      fontPx: LABEL_FONT_PX,
      fill: page.layout.kind === "not_found" ? FAILED_COLOUR : MUTED_INK,
      className: page.layout.kind === "not_found" ? "layout-not-found" : "layout-caption",
    }));
  });
  const rows = Math.ceil(pages.length / columns);
  return svgFigure(
    GAP_PX + columns * (PAGE_WIDTH_PX + GAP_PX),
    top + rows * cellHeight,
    body,
  );
}
