/**
 * Everything the dashboard shows, gathered into one JSON-able value: the performance table, the
 * Quantus summary, the charts' specs, and per test image its overlays (as paths relative to the
 * dashboard) and per-image metric scores.
 *
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import { listDirSorted, statOrUndefined } from "../../core/fs.ts";
import { COLOUR_SCALE_PNG_KEYWORD, parseColourScaleText } from "../../xai/colour_scale.ts";
import { summaryValues } from "../charts/quantus_metrics.ts";
import { type ColourBarParts, colourBarParts } from "../../xai/colour_bar.ts";
import { readPngText } from "../../data/png_file.ts";
import { readImageHeader } from "../../data/image_header.ts";
import { recordedPictureHeightPx } from "../../xai/captioned_picture.ts";
import type { ChartPlan } from "../draw_charts.ts";
import { cellNumber, type CsvRecord, readCsvRecords } from "../inputs.ts";
import type { ChartSpec } from "../render.ts";
import type { QuantusComparisons } from "../../runs/quantus_comparisons.ts";

/** One chart as the dashboard embeds it. */
export interface DashboardChart {
  /** `<folder>/<name>`, unique. */
  id: string;
  /** Section: `comparison`, `dataset` or the model's name. */
  group: string;
  name: string;
  spec: ChartSpec["spec"];
}

/** One method's explanation of one image. */
export interface ImageExplanation {
  method: string;
  /** Overlay PNG, relative to the dashboard's folder (URL path, `/`-separated). */
  overlay: string;
  targetClass: string;
  /** Per-image Quantus scores by metric id (`null` for NaN), when the quantus stage ran. */
  scores?: Record<string, number | null>;
  /** Without scores: why (quantus not run, not for this method, not on this image) and the fix. */
  scoreNote?: string;
  nanReasons?: string;
  /** The overlay's colour bar, from the scale the xai stage recorded; `null`: none recorded. */
  colourBar: ColourBarParts | null;
  /**
   * Width / height of the picture above the overlay's own colour bar, when the PNG has one: the
   * page shows that part and draws the bar itself, like the grids.
   */
  pictureAspect?: number;
}

/** One test image of one model, with every method's explanation. */
export interface DashboardImage {
  model: string;
  id: string;
  /** The source image, relative to the dashboard's folder. */
  source: string;
  trueClass: string;
  predictedClass: string;
  probability: number;
  explanations: ImageExplanation[];
}

/** The dashboard's content. */
export interface DashboardData {
  generated: string;
  performance?: { columns: string[]; records: CsvRecord[] };
  quantus?: ReturnType<typeof summaryValues>;
  /** Pairwise method comparisons and metric agreement, for the "Which method?" panel. */
  comparisons?: QuantusComparisons;
  /** The share in the affected leads beside chance, for the "Relevance per lead" panel. */
  leadAffected?: CsvRecord[];
  /** The sanity checks' summary and accuracies, for the "Sanity checks" panel. */
  sanity?: { summary: CsvRecord[]; accuracy: CsvRecord[] };
  /** Metric id → label and direction, for per-image score tables. */
  metrics: Record<string, { label: string; direction: string }>;
  charts: DashboardChart[];
  images: DashboardImage[];
  /** Lines naming what could not be drawn and which stage makes it. */
  skipped: string[];
}

/**
 * A file path as a relative URL from `fromDir`, each segment percent-encoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { relativeUrl } from "./dashboard_data.ts";
 * assert(relativeUrl("out/dashboard", "out/explanations/m/a b.png") === "../explanations/m/a%20b.png");
 * ```
 */
export function relativeUrl(fromDir: string, file: string): string {
  return relative(resolve(fromDir), resolve(file)).split(sep).map(encodeURIComponent).join("/");
}

/**
 * The colour bar of an overlay the xai stage drew (`null` when it recorded no scale) and, when
 * the PNG carries its bar below the picture, the picture's aspect ratio.
 */
async function overlayLabels(
  file: string,
): Promise<Pick<ImageExplanation, "colourBar" | "pictureAspect">> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { colourBar: null };
    throw e;
  }
  const text = readPngText(bytes);
  const scale = text[COLOUR_SCALE_PNG_KEYWORD];
  const colourBar = scale === undefined ? null : colourBarParts(parseColourScaleText(scale, file));
  const pictureHeightPx = recordedPictureHeightPx(text, file);
  return pictureHeightPx === undefined
    ? { colourBar }
    : { colourBar, pictureAspect: readImageHeader(bytes, file).widthPx / pictureHeightPx };
}

/**
 * Why an explanation has no per-image scores, truthfully, with the command that adds them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { missingScoresNote } from "./dashboard_data.ts";
 * const row = { model: "m", method: "gradcam", metric: "x", label: "X", category: "c",
 *   direction: "higher" as const, n: 1, mean: 1, std: 0, ci95Low: 1, ci95High: 1, nanCount: 0 };
 * const plan = { charts: [], skipped: [], models: ["m"], quantus: [row] };
 * const note = missingScoresNote(plan, "m", "integrated_gradients", false);
 * assert(note.startsWith("Quantus ran for m on gradcam, not on integrated_gradients"));
 * assert(note.endsWith("deno task quantus --models m --methods integrated_gradients"));
 * ```
 */
export function missingScoresNote(
  plan: ChartPlan,
  model: string,
  method: string,
  methodScored: boolean,
): string {
  const command = `deno task quantus --models ${model} --methods ${method}`;
  if (methodScored) {
    return `Quantus scored ${method} on other images of ${model}, not this one (an earlier ` +
      `--limit?): run ${command}`;
  }
  const scored = [
    ...new Set((plan.quantus ?? []).filter((r) => r.model === model).map((r) => r.method)),
  ];
  return scored.length > 0
    ? `Quantus ran for ${model} on ${scored.join(", ")}, not on ${method}: run ${command}`
    : `No per-image scores: run ${command}`;
}

async function subfolders(dir: string): Promise<string[]> {
  if (!(await statOrUndefined(dir))?.isDirectory) return [];
  return (await listDirSorted(dir)).filter((e) => e.isDirectory).map((e) => e.name);
}

/**
 * Gathers the dashboard's content for `<out>/dashboard/index.html` from a chart plan and the
 * xai and quantus outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dashboardData } from "./dashboard_data.ts";
 * const out = await Deno.makeTempDir();
 * const data = await dashboardData(out, { charts: [], skipped: ["x: missing"], models: [] });
 * assert(data.images.length === 0 && data.skipped.length === 1);
 * ```
 */
export async function dashboardData(out: string, plan: ChartPlan): Promise<DashboardData> {
  const dashboardDir = join(out, "dashboard");
  const metrics: DashboardData["metrics"] = {};
  for (const r of plan.quantus ?? []) {
    metrics[r.metric] = { label: r.label, direction: r.direction };
  }
  const images = new Map<string, DashboardImage>();
  const explanationsDir = join(out, "explanations");
  const models = [...new Set([...plan.models, ...await subfolders(explanationsDir)])];
  for (const model of models) {
    for (const method of await subfolders(join(explanationsDir, model))) {
      // Explanations or scores of another checkpoint or data set are left out (plan.leftOut).
      if (plan.selection?.leftOut("xai", model, method) !== undefined) continue;
      const dir = join(explanationsDir, model, method);
      const indexFile = join(dir, "index.csv");
      const index = await readCsvRecords(indexFile, ["id", "file", "true_class"]);
      if (!index) continue;
      const quantusFile = join(out, "metrics", `quantus_${model}_${method}.csv`);
      const perImage = plan.selection?.leftOut("quantus", model, method) === undefined
        ? await readCsvRecords(quantusFile, ["id"])
        : undefined;
      const scoresById = new Map((perImage ?? []).map((r, i) => [r.id, { r, i }]));
      for (const [i, row] of index.entries()) {
        const key = `${model}\t${row.id}`;
        const image = images.get(key) ?? {
          model,
          id: row.id,
          source: relativeUrl(dashboardDir, row.file),
          trueClass: row.true_class,
          predictedClass: row.predicted_class,
          probability: cellNumber(row, "probability", indexFile, i),
          explanations: [],
        };
        images.set(key, image);
        const scored = scoresById.get(row.id);
        const overlayFile = join(dir, "overlay", `${row.id}.png`);
        const explanation: ImageExplanation = {
          method,
          overlay: relativeUrl(dashboardDir, overlayFile),
          targetClass: row.target_class,
          ...await overlayLabels(overlayFile),
        };
        if (!scored) {
          explanation.scoreNote = missingScoresNote(plan, model, method, perImage !== undefined);
        }
        if (scored) {
          const ids = Object.keys(scored.r).filter((c) =>
            !["id", "file", "true_class", "target_class", "nan_reasons"].includes(c)
          );
          explanation.scores = Object.fromEntries(ids.map((c) => {
            const v = cellNumber(scored.r, c, quantusFile, scored.i);
            return [c, Number.isFinite(v) ? v : null];
          }));
          explanation.nanReasons = scored.r.nan_reasons ?? "";
          for (const c of ids) metrics[c] ??= { label: c, direction: "" };
        }
        image.explanations.push(explanation);
      }
    }
  }
  return {
    generated: new Date().toISOString(),
    ...(plan.performance
      ? { performance: { columns: plan.performance.columns, records: plan.performance.records } }
      : {}),
    ...(plan.quantus ? { quantus: summaryValues(plan.quantus) } : {}),
    ...(plan.comparisons ? { comparisons: plan.comparisons } : {}),
    ...(plan.leadAffected ? { leadAffected: plan.leadAffected } : {}),
    ...(plan.sanity?.summary
      ? { sanity: { summary: plan.sanity.summary, accuracy: plan.sanity.accuracy ?? [] } }
      : {}),
    metrics,
    charts: plan.charts.map((c) => ({
      id: `${c.folder.replaceAll(sep, "/")}/${c.name}`,
      group: c.model ?? c.folder,
      name: c.name,
      spec: c.chart.spec,
    })),
    images: [...images.values()],
    skipped: [...plan.skipped, ...plan.leftOut ?? []],
  };
}
