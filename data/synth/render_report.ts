/**
 * Renders one synthetic 12-lead ECG report page and its ground-truth evidence mask.
 *
 * The page imitates the real scans: white paper, a header block with synthetic patient
 * fields, a pink millimetre grid, the 3x4 lead panels with calibration pulses and labels,
 * a lead II rhythm strip and a footer with recorder settings and heart rate. It is drawn
 * slightly rotated and shifted, as a sheet lies on a scanner.
 *
 * The mask marks evidence regions: for every evidence span (where the recording and its
 * counterfactual twin differ, see {@link synthesizeRecording}) and every panel that shows it,
 * the box from the span's start to its end and from the lowest to the highest point either twin's
 * trace reaches there, widened by half the stroke and {@link MASK_MARGIN_MM} on every side,
 * tilted with the page. So the page drawn without the finding differs from this one only inside
 * the mask. A Normal report has no finding and an empty mask. On request (`traceMask`), the finer
 * trace-level mask too: the evidence spans' trace pixels (coverage at least one half).
 *
 * @module
 */
import { type Random, randomBetween, randomInt } from "../../core/random.ts";
import type { GrayImage, RgbaImage } from "../image.ts";
import { CAP_HEIGHT_CELLS, textRuns, textWidthCells } from "./bitmap_font.ts";
import {
  type EcgRecording,
  type LeadGroupName,
  type LeadName,
  LEADS,
  type SynthClass,
  synthesizeRecording,
} from "./beat_model.ts";
import {
  bandCoverage,
  compositeInk,
  CoverageCanvas,
  filledImage,
  type Rgb,
  thresholdMask,
} from "./raster.ts";
import {
  CALIBRATION_START_MM,
  GRID_BOX_MM,
  LEAD_ROWS,
  MM_PER_MV,
  MM_PER_SECOND,
  PAGE_WIDTH_MM,
  PageTransform,
  type Panel,
  PANEL_SECONDS,
  reportHeightPx,
  reportPanels,
  ROW_BASELINES_MM,
  TRACE_START_MM,
} from "./report_layout.ts";

/**
 * Margin of the evidence boxes beyond the trace's stroke, in page mm (2.5 mm is 100 ms and 0.25 mV
 * at the standard settings; 5.7 px at 640 px). The rendered pages differ only inside the boxes
 * whatever the margin; JPEG's 8 x 8 blocks spread some of the difference round a changed trace,
 * and 2.5 mm keeps at least 99 % of the written images' difference inside (tests/synth_test.ts).
 */
export const MASK_MARGIN_MM = 2.5;

/** Options of {@link renderSyntheticReport}. */
export interface RenderReportOptions {
  /** Image width; default 640 px. The height follows the real scans' aspect ratio. */
  widthPx?: number;
  /**
   * Draw the class's finding (default true); false draws the counterfactual twin, the same page
   * from the same draws without the finding (its mask is the original's).
   */
  withFinding?: boolean;
  /**
   * Also draw the trace-level mask (default false): stroking the evidence again costs about a
   * third of the rendering time, and the data set does not write it.
   */
  traceMask?: boolean;
}

/** What was drawn on one report, JSON-ready for `synthetic.json`. */
export interface ReportMeta {
  /** The class drawn. */
  readonly className: SynthClass;
  /** Image width. */
  readonly widthPx: number;
  /** Image height. */
  readonly heightPx: number;
  /** Mean sinus heart rate, rounded, as printed in the footer. */
  readonly heartRateBpm: number;
  /** Infarct lead group (MI, HistoryMI), else null. */
  readonly leadGroup: LeadGroupName | null;
  /**
   * The leads whose traces carry evidence (mask boxes): `leadGroup`'s for MI and HistoryMI, all
   * 12 for Abnormal, none for Normal.
   */
  readonly affectedLeads: readonly LeadName[];
  /** The class's findings, e.g. `"ST elevation"`; empty for Normal. */
  readonly findings: readonly string[];
  /** Beats with an R peak on the 10 s page. */
  readonly beatCount: number;
  /** Premature ventricular beats among them. */
  readonly prematureBeatCount: number;
  /** Page tilt, counter-clockwise, degrees. */
  readonly rotationDeg: number;
  /** Page shift to the right. */
  readonly shiftXMm: number;
  /** Page shift downwards. */
  readonly shiftYMm: number;
  /** Trace stroke width in px. */
  readonly traceWidthPx: number;
  /** Quality to encode this report's JPEG with. */
  readonly jpegQuality: number;
  /** Number of 255 pixels in the mask. */
  readonly maskPixels: number;
}

/** One rendered report. */
export interface SyntheticReport {
  /** The page, opaque RGBA, before JPEG encoding. */
  readonly image: RgbaImage;
  /** 255 in the evidence regions, 0 elsewhere (all 0 for Normal); same size as `image`. */
  readonly mask: GrayImage;
  /** With `options.traceMask`: 255 on the evidence spans' trace pixels, 0 elsewhere. */
  readonly traceMask?: GrayImage;
  /** What was drawn. */
  readonly meta: ReportMeta;
  /** The signals and evidence spans the traces were drawn from. */
  readonly recording: EcgRecording;
}

/** Draws `text` in the bitmap font with its left end at `xMm` and baseline at `baselineMm`. */
function drawText(
  canvas: CoverageCanvas,
  page: PageTransform,
  text: string,
  xMm: number,
  baselineMm: number,
  capHeightMm: number,
): void {
  const cellMm = capHeightMm / CAP_HEIGHT_CELLS;
  const topMm = baselineMm - capHeightMm;
  // Cells drawn a little larger than the grid they sit on: at report sizes a cell is under
  // a pixel, and exact cells print paler than the scans' text.
  const boldMm = 0.15 * cellMm;
  for (const run of textRuns(text)) {
    const yMm = topMm + (run.yCell + 0.5) * cellMm;
    const [x0, y0] = page.toPx(xMm + run.xCell * cellMm - boldMm, yMm);
    const [x1, y1] = page.toPx(xMm + (run.xCell + run.lengthCells) * cellMm + boldMm, yMm);
    canvas.fillBar(x0, y0, x1, y1, cellMm * page.pxPerMm + 2 * boldMm * page.pxPerMm);
  }
}

function textWidthMm(text: string, capHeightMm: number): number {
  return (textWidthCells(text) * capHeightMm) / CAP_HEIGHT_CELLS;
}

/** A straight line between two page points, `widthMm` thick. */
function drawRule(
  canvas: CoverageCanvas,
  page: PageTransform,
  from: [number, number],
  to: [number, number],
  widthMm: number,
): void {
  const [x0, y0] = page.toPx(...from);
  const [x1, y1] = page.toPx(...to);
  canvas.fillBar(x0, y0, x1, y1, widthMm * page.pxPerMm);
}

/** Strokes the polyline through page points given as flat [x, y, x, y, ...] mm. */
function strokePageLine(
  canvas: CoverageCanvas,
  page: PageTransform,
  pointsMm: readonly number[],
  widthPx: number,
): void {
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < pointsMm.length; i += 2) {
    const [x, y] = page.toPx(pointsMm[i], pointsMm[i + 1]);
    xs.push(x);
    ys.push(y);
  }
  canvas.strokePolyline(xs, ys, widthPx);
}

/** Strokes `panel`'s lead between `startSeconds` and `endSeconds` (inside the panel). */
function strokeTrace(
  canvas: CoverageCanvas,
  page: PageTransform,
  panel: Panel,
  recording: EcgRecording,
  startSeconds: number,
  endSeconds: number,
  widthPx: number,
): void {
  const signal = recording.signalsMv[panel.lead];
  const rate = recording.sampleRateHz;
  const first = Math.max(0, Math.ceil(startSeconds * rate));
  const last = Math.min(signal.length - 1, Math.floor(endSeconds * rate));
  const points: number[] = [];
  for (let i = first; i <= last; i++) {
    points.push(
      panel.xMm + (i / rate - panel.startSeconds) * MM_PER_SECOND,
      panel.baselineMm - signal[i] * MM_PER_MV,
    );
  }
  if (points.length > 0) strokePageLine(canvas, page, points, widthPx);
}

/** Lowest and highest value of either twin's `lead` between the samples at `start` and `end` s. */
function excursionMv(
  recording: EcgRecording,
  lead: LeadName,
  startSeconds: number,
  endSeconds: number,
): [lowMv: number, highMv: number] {
  const rate = recording.sampleRateHz;
  const first = Math.max(0, Math.floor(startSeconds * rate));
  const last = Math.min(recording.signalsMv[lead].length - 1, Math.ceil(endSeconds * rate));
  let low = Infinity, high = -Infinity;
  for (const signal of [recording.signalsMv[lead], recording.twinSignalsMv[lead]]) {
    for (let i = first; i <= last; i++) {
      if (signal[i] < low) low = signal[i];
      if (signal[i] > high) high = signal[i];
    }
  }
  return [low, high];
}

/**
 * Fills the evidence box of `panel`'s lead between `startSeconds` and `endSeconds`: the span's
 * time and either twin's excursion, widened by half the stroke and {@link MASK_MARGIN_MM}.
 */
function fillEvidenceBox(
  canvas: CoverageCanvas,
  page: PageTransform,
  panel: Panel,
  recording: EcgRecording,
  startSeconds: number,
  endSeconds: number,
  traceWidthPx: number,
): void {
  const [lowMv, highMv] = excursionMv(recording, panel.lead, startSeconds, endSeconds);
  const marginMm = MASK_MARGIN_MM + traceWidthPx / page.pxPerMm / 2;
  const x = (t: number) => panel.xMm + (t - panel.startSeconds) * MM_PER_SECOND;
  const topMm = panel.baselineMm - highMv * MM_PER_MV - marginMm;
  const bottomMm = panel.baselineMm - lowMv * MM_PER_MV + marginMm;
  const middleMm = (topMm + bottomMm) / 2;
  drawRule(
    canvas,
    page,
    [x(startSeconds) - marginMm, middleMm],
    [x(endSeconds) + marginMm, middleMm],
    bottomMm - topMm,
  );
}

/** Grid colours: the 1 mm lines, the 5 mm lines and the box border, each at full coverage. */
interface GridInks {
  thin: Rgb;
  thick: Rgb;
  border: Rgb;
}

/**
 * Paints paper and the pink grid: thin lines every 1 mm, thick every 5 mm, a border round
 * the box, over the paper colour `image` is filled with. Evaluated per pixel in page
 * coordinates, so a tilted page costs no more.
 */
function paintGrid(image: RgbaImage, page: PageTransform, inks: GridInks): void {
  const { widthPx, heightPx, data } = image;
  const pxPerMm = page.pxPerMm;
  const { left, top, right, bottom } = GRID_BOX_MM;
  // Coverage of the thin and thick lines by position within one 5 mm period, tabulated:
  // the per-pixel loop below runs for every pixel of the grid box.
  const lutSize = 4096;
  const thinLut = new Float32Array(lutSize), thickLut = new Float32Array(lutSize);
  for (let i = 0; i < lutSize; i++) {
    const mm = ((i + 0.5) / lutSize) * 5;
    const toThinPx = Math.abs(mm - Math.round(mm)) * pxPerMm;
    const toThickPx = Math.min(mm, 5 - mm) * pxPerMm;
    thinLut[i] = bandCoverage(toThinPx, 0.1 * pxPerMm);
    thickLut[i] = bandCoverage(toThickPx, 0.2 * pxPerMm);
  }
  const borderPx = 0.4 * pxPerMm, borderReachMm = (borderPx / 2 + 0.5) / pxPerMm;
  const [originX, originY] = page.toMm(0.5, 0.5);
  const [rightX, rightY] = page.toMm(1.5, 0.5);
  const [downX, downY] = page.toMm(0.5, 1.5);
  const paper: Rgb = [data[0], data[1], data[2]];
  // Final colour for every (thin, thick) coverage pair, quantised to 1/63: one table look-up
  // per pixel instead of two blends.
  const levels = 64;
  const colorLut = new Uint8Array(levels * levels * 3);
  for (let thin = 0; thin < levels; thin++) {
    for (let thick = 0; thick < levels; thick++) {
      const k = (thin * levels + thick) * 3;
      for (let c = 0; c < 3; c++) {
        const withThin = paper[c] + (inks.thin[c] - paper[c]) * (thin / (levels - 1));
        colorLut[k + c] = Math.round(
          withThin + (inks.thick[c] - withThin) * (thick / (levels - 1)),
        );
      }
    }
  }
  const toIndex = lutSize / 5;
  for (let y = 0; y < heightPx; y++) {
    let u = originX + y * (downX - originX), v = originY + y * (downY - originY);
    for (let x = 0; x < widthPx; x++, u += rightX - originX, v += rightY - originY) {
      if (u < left - borderReachMm || u > right + borderReachMm) continue;
      if (v < top - borderReachMm || v > bottom + borderReachMm) continue;
      const j = (y * widthPx + x) * 4;
      const gx = u - left, gy = v - top;
      if (gx >= 0 && u <= right && gy >= 0 && v <= bottom) {
        const ix = ((gx % 5) * toIndex) | 0, iy = ((gy % 5) * toIndex) | 0;
        const thin = thinLut[ix] > thinLut[iy] ? thinLut[ix] : thinLut[iy];
        const thick = thickLut[ix] > thickLut[iy] ? thickLut[ix] : thickLut[iy];
        if (thin > 0 || thick > 0) {
          const k =
            (((thin * (levels - 1) + 0.5) | 0) * levels + ((thick * (levels - 1) + 0.5) | 0)) * 3;
          data[j] = colorLut[k];
          data[j + 1] = colorLut[k + 1];
          data[j + 2] = colorLut[k + 2];
        }
      }
      const edgeMm = Math.min(
        Math.abs(gx),
        Math.abs(u - right),
        Math.abs(gy),
        Math.abs(v - bottom),
      );
      if (edgeMm < borderReachMm) {
        const alpha = bandCoverage(edgeMm * pxPerMm, borderPx);
        for (let c = 0; c < 3; c++) {
          data[j + c] = Math.round(data[j + c] + (inks.border[c] - data[j + c]) * alpha);
        }
      }
    }
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Header and footer lines with synthetic patient fields: none depends on the class. */
function drawHeaderAndFooter(
  canvas: CoverageCanvas,
  page: PageTransform,
  random: Random,
  heartRateBpm: number,
): void {
  const title = "ECG REPORT";
  const titleCapMm = 3.6;
  const titleXMm = PAGE_WIDTH_MM / 2 - textWidthMm(title, titleCapMm) / 2;
  drawText(canvas, page, title, titleXMm, 7.6, titleCapMm);
  const fieldCapMm = 1.9;
  const sex = random.uniform() < 0.5 ? "Male" : "Female";
  const systolic = 100 + randomInt(random, 60);
  const departments = ["Cardiology", "Emergency", "Internal", "Outpatient", "ICU"];
  const line1: [number, string][] = [
    [8.9, `ID : ${100000 + randomInt(random, 900000)}`],
    [36.0, `${25 + randomInt(random, 65)} Years`],
    [56.5, sex],
    [72.0, `${150 + randomInt(random, 45)} cm`],
    [92.0, `${45 + randomInt(random, 60)} kg`],
    [110.0, `${systolic} / ${systolic - 30 - randomInt(random, 25)} mmHg`],
    [139.4, random.uniform() < 0.8 ? "Race:Unknown" : "Race:Asian"],
    [169.5, `Room No.: ${1 + randomInt(random, 40)}`],
    [194.1, `Department: ${departments[randomInt(random, departments.length)]}`],
  ];
  for (const [xMm, text] of line1) drawText(canvas, page, text, xMm, 11.6, fieldCapMm);
  drawText(canvas, page, `Exam.Room: ${1 + randomInt(random, 9)}`, 8.9, 15.4, fieldCapMm);
  drawText(canvas, page, "Medication:", 36.0, 15.4, fieldCapMm);
  drawRule(canvas, page, [8.9, 17.2], [GRID_BOX_MM.right, 17.2], 0.35);
  drawRule(canvas, page, [8.9, 18.1], [GRID_BOX_MM.right, 18.1], 0.2);
  drawText(canvas, page, "Diagnosis Information:", 8.9, 21.2, fieldCapMm);
  drawText(canvas, page, "Technician :", 198.0, 25.4, fieldCapMm);
  drawText(canvas, page, "Ref-Phys. :", 198.0, 29.3, fieldCapMm);
  drawText(canvas, page, "Report Confirmed by:", 198.0, 33.4, fieldCapMm);

  const footerCapMm = 1.8;
  const settings = `0.67~25Hz AC50 25mm/s 10mm/mV 4*2.5s+1r \u2665${
    Math.round(heartRateBpm)
  } SE=3 V1.0 SEMIP V1.7`;
  drawText(canvas, page, settings, 8.9, 197.3, footerCapMm);
  const hour = 1 + randomInt(random, 12);
  const stamp = `${2019 + randomInt(random, 3)}-${pad(1 + randomInt(random, 12), 2)}-${
    pad(1 + randomInt(random, 28), 2)
  }  ${pad(hour, 2)}:${pad(randomInt(random, 60), 2)}:${pad(randomInt(random, 60), 2)} ${
    random.uniform() < 0.5 ? "AM" : "PM"
  }`;
  drawText(canvas, page, stamp, 228.6, 197.3, footerCapMm);
}

/** Calibration pulses, column separators and lead labels. */
function drawLeadFurniture(canvas: CoverageCanvas, page: PageTransform, traceWidthPx: number) {
  const labelCapMm = 3.2;
  const riseMm = CALIBRATION_START_MM + 1;
  const fallMm = riseMm + 0.2 * MM_PER_SECOND;
  for (const baseline of ROW_BASELINES_MM) {
    const top = baseline - 1 * MM_PER_MV;
    strokePageLine(canvas, page, [
      CALIBRATION_START_MM,
      baseline,
      riseMm,
      baseline,
      riseMm,
      top,
      fallMm,
      top,
      fallMm,
      baseline,
      fallMm + 1,
      baseline,
    ], traceWidthPx);
  }
  const columnMm = PANEL_SECONDS * MM_PER_SECOND;
  for (let column = 1; column < LEAD_ROWS[0].length; column++) {
    const xMm = TRACE_START_MM + column * columnMm;
    drawRule(
      canvas,
      page,
      [xMm, ROW_BASELINES_MM[0] - 4],
      [xMm, ROW_BASELINES_MM[2] + 6],
      (0.8 * traceWidthPx) / page.pxPerMm,
    );
  }
  for (const panel of reportPanels()) {
    const first = panel.xMm === TRACE_START_MM;
    const xMm = first ? TRACE_START_MM - 0.9 : panel.xMm + 0.6;
    drawText(canvas, page, panel.lead, xMm, panel.baselineMm - 0.4, labelCapMm);
  }
}

/**
 * Renders one synthetic report of class `className` from `random` (fork one stream per
 * image so images do not share draws).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { renderSyntheticReport } from "./render_report.ts";
 * const report = renderSyntheticReport("MI", new SeededRandom(1).fork("train/MI/1"));
 * assert(report.image.widthPx === 640 && report.image.heightPx === 455);
 * assert(report.mask.data.length === 640 * 455 && report.meta.maskPixels > 0);
 * ```
 */
export function renderSyntheticReport(
  className: SynthClass,
  random: Random,
  options: RenderReportOptions = {},
): SyntheticReport {
  const widthPx = options.widthPx ?? 640;
  const withFinding = options.withFinding ?? true;
  const heightPx = reportHeightPx(widthPx);
  const pageRandom = random.fork("page");
  const rotationDeg = randomBetween(pageRandom, -1, 1);
  const shiftXMm = randomBetween(pageRandom, -1.5, 1.5);
  const shiftYMm = randomBetween(pageRandom, -1.2, 0.6);
  const page = new PageTransform(widthPx, rotationDeg, shiftXMm, shiftYMm);
  // Never under a pixel: thinner strokes never reach the mask's half-coverage threshold.
  const traceWidthPx = Math.max(1, randomBetween(pageRandom, 0.6, 0.72) * page.pxPerMm);
  const inkLevel = 10 + randomInt(pageRandom, 35);
  const paperLevel = 250 + randomInt(pageRandom, 6);
  const paper: Rgb = [paperLevel, paperLevel, paperLevel - randomInt(pageRandom, 4)];
  // Faint pink, as on the scans: the 5 mm lines reach only about G 225 at 640 px.
  const pinkShift = randomInt(pageRandom, 20);
  const gridInks: GridInks = {
    thin: [248, 220 + pinkShift / 2, 224 + pinkShift / 2],
    thick: [242, 185 + pinkShift, 192 + pinkShift],
    border: [236, 150 + pinkShift, 160 + pinkShift],
  };
  const jpegQuality = 72 + randomInt(pageRandom, 24);

  // At least two samples per pixel of trace, so the steep QRS edges stay smooth.
  const sampleRateHz = Math.max(250, Math.ceil(2 * MM_PER_SECOND * page.pxPerMm));
  const recording = synthesizeRecording(className, random.fork("signal"), {
    sampleRateHz,
    withFinding,
  });

  const image = filledImage(widthPx, heightPx, paper);
  paintGrid(image, page, gridInks);
  const ink = new CoverageCanvas(widthPx, heightPx);
  const regions = new CoverageCanvas(widthPx, heightPx);
  const traces = options.traceMask ? new CoverageCanvas(widthPx, heightPx) : undefined;
  drawHeaderAndFooter(ink, page, random.fork("header"), recording.heartRateBpm);
  drawLeadFurniture(ink, page, traceWidthPx);
  const panels = reportPanels();
  for (const panel of panels) {
    strokeTrace(ink, page, panel, recording, panel.startSeconds, panel.endSeconds, traceWidthPx);
  }
  for (const span of recording.evidence) {
    for (const panel of panels) {
      if (panel.lead !== span.lead) continue;
      const start = Math.max(span.startSeconds, panel.startSeconds);
      const end = Math.min(span.endSeconds, panel.endSeconds);
      if (end <= start) continue;
      if (traces) strokeTrace(traces, page, panel, recording, start, end, traceWidthPx);
      fillEvidenceBox(regions, page, panel, recording, start, end, traceWidthPx);
    }
  }
  compositeInk(image, ink, [inkLevel, inkLevel, inkLevel]);
  const mask = thresholdMask(regions, 0.5);
  let maskPixels = 0;
  for (const value of mask.data) if (value !== 0) maskPixels++;

  return {
    image,
    mask,
    traceMask: traces && thresholdMask(traces, 0.5),
    recording,
    meta: {
      className,
      widthPx,
      heightPx,
      heartRateBpm: Math.round(recording.heartRateBpm),
      leadGroup: recording.leadGroup,
      affectedLeads: LEADS.filter((lead) => recording.evidence.some((span) => span.lead === lead)),
      findings: recording.findings,
      beatCount:
        recording.beats.filter((b) => b.rSeconds >= 0 && b.rSeconds < recording.durationSeconds)
          .length,
      prematureBeatCount:
        recording.beats.filter((b) =>
          b.kind === "pvc" && b.rSeconds >= 0 && b.rSeconds < recording.durationSeconds
        ).length,
      rotationDeg: Number(rotationDeg.toFixed(3)),
      shiftXMm: Number(shiftXMm.toFixed(3)),
      shiftYMm: Number(shiftYMm.toFixed(3)),
      traceWidthPx: Number(traceWidthPx.toFixed(3)),
      jpegQuality,
      maskPixels,
    },
  };
}
