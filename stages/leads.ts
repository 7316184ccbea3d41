/**
 * `deno task leads`: how each explanation's positive relevance splits over the 12-lead report's
 * panels (3 x 4 leads and the lead II rhythm strip), from the `xai` stage's outputs alone, so it
 * works for every method and any model trained on this layout. Pages of the synthetic set get
 * their exact panel boxes; other pages get the layout fitted on the image (`leads/page_fit.ts`),
 * and a page whose layout is not found says so.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { openDataset } from "../data/dataset.ts";
import { readImageFile } from "../data/decode_image.ts";
import { limitPerSplit } from "../data/limit.ts";
import { readNpyFile } from "../data/npy.ts";
import { areaShare, panelShares, panelsOfLeads, SHARE_COLUMNS } from "../leads/lead_shares.ts";
import {
  LEAD_AFFECTED_COLUMNS,
  LEAD_ROW_COLUMNS,
  LEAD_SHARES_COLUMNS,
  leadAffectedSummary,
  type LeadRow,
  leadRowCells,
  leadSharesSummary,
} from "../leads/lead_tables.ts";
import { type PageLayout, PageLayouts } from "../leads/page_layouts.ts";
import { panelLabels } from "../leads/panel_boxes.ts";
import { layoutCaption, panelBoxesFigure, type PanelPage } from "../plots/figures/panel_boxes.ts";
import { writeFigureFiles } from "../svg/figure.ts";
import { OutputSelection } from "../runs/selection.ts";
import { xaiMethodDirs } from "../runs/xai_merge.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `leads`. */
export const leadsSpec: StageSpec = {
  name: "leads",
  summary: "Share of each explanation's positive relevance per lead panel of the report.",
  shared: ["out", "models", "data", "limit", "config"],
  flags: {
    methods: {
      type: "string",
      valueName: "a,b",
      help: "methods to read (default: every method folder under <out>/explanations/<model>/)",
    },
    "check-layout": {
      type: "boolean",
      help: "only find the layout on the test images of --data: layouts.csv and the figure",
    },
  },
  details: "Reads <out>/explanations/<model>/<method>/index.csv and heatmap/<id>.raw.npy (deno " +
    "task xai); --models limits the models (default: every one explained). Writes:\n" +
    `  <out>/leads/<model>/<method>.csv   per image: ${LEAD_ROW_COLUMNS.join(", ")}\n` +
    `  <out>/results/lead_shares.csv      ${LEAD_SHARES_COLUMNS.join(", ")}\n` +
    `  <out>/results/lead_affected.csv    ${LEAD_AFFECTED_COLUMNS.join(", ")}\n` +
    "  <out>/leads/layouts.csv            per page: how its layout was found, the fit's numbers\n" +
    "  <out>/leads/panel_boxes.{svg,png}  up to two pages per class with their panel boxes\n" +
    "A panel's share is the map's positive values inside its box over their sum on the page " +
    "(the raw map at the model's input, which covers the page stretched); outside is the rest. " +
    "Synthetic pages (a synthetic.json above the image) use the recorded page tilt and shift, " +
    "and record the leads with the evidence: affected_share is their panels' share, " +
    "chance_share their area's. Other pages are fitted on the column separators and trace " +
    "baselines; a page whose layout is not found gets NaN shares and says why.\n" +
    "Example: deno task leads --out outputs; deno task leads --check-layout --data " +
    "../shared/data/ecg-images",
};

/** The map's pixels' panels, per page and map size (a run explains each page at one size). */
class LabelCache {
  readonly #labels = new Map<string, Int8Array>();

  of(file: string, layout: PageLayout, heightPx: number, widthPx: number): Int8Array {
    const key = `${file}\n${heightPx}x${widthPx}`;
    let labels = this.#labels.get(key);
    if (!labels) {
      labels = panelLabels(layout.frame!, layout.source, { widthPx, heightPx });
      this.#labels.set(key, labels);
    }
    return labels;
  }
}

/** One explained image's row, from its raw map and its page's layout. */
async function leadRow(
  dir: string,
  record: Record<string, string>,
  layout: PageLayout,
  labels: LabelCache,
): Promise<LeadRow> {
  const row: LeadRow = {
    id: record.id,
    file: record.file,
    trueClass: record.true_class,
    targetClass: record.target_class,
    layout: layout.kind,
    shares: new Float64Array(SHARE_COLUMNS.length).fill(NaN),
    affectedLeads: layout.affectedLeads ?? [],
    affectedShare: NaN,
    chanceShare: NaN,
    reason: "",
  };
  if (layout.kind === "not_found") return { ...row, reason: `layout not found: ${layout.reason}` };
  const map = await readNpyFile(join(dir, "heatmap", `${record.id}.raw.npy`));
  const [heightPx, widthPx] = map.shape;
  const pixels = labels.of(record.file, layout, heightPx, widthPx);
  row.shares = panelShares(Float32Array.from(map.data as ArrayLike<number>), pixels);
  if (Number.isNaN(row.shares[0])) row.reason = "the map has no positive value";
  const affected = panelsOfLeads(row.affectedLeads);
  if (affected.length > 0) {
    row.affectedShare = affected.reduce((sum, k) => sum + row.shares[k], 0);
    row.chanceShare = areaShare(pixels, affected);
  }
  return row;
}

/** The columns of `<out>/leads/layouts.csv`. */
export const LAYOUT_COLUMNS = [
  "file",
  "layout",
  "px_per_mm",
  "rotation_deg",
  "origin_x_px",
  "origin_y_px",
  "baseline_offsets_mm",
  "reason",
] as const;

function layoutCells(file: string, layout: PageLayout): string[] {
  const g = layout.geometry;
  const fixed = (v: number | undefined, digits: number) => v === undefined ? "" : v.toFixed(digits);
  return [
    file,
    layout.kind,
    fixed(g?.pxPerMm, 4),
    fixed(g?.rotationDeg, 3),
    fixed(g?.originXPx, 2),
    fixed(g?.originYPx, 2),
    (layout.baselineOffsetsMm ?? []).map((v) => v.toFixed(2)).join(" "),
    layout.reason ?? "",
  ];
}

/**
 * Writes `layouts.csv` and the panel figure for `pages` (file, class, label) under `folder`:
 * up to two pages per class, and up to two whose layout was not found.
 */
async function writeLayouts(
  folder: string,
  pages: readonly { file: string; className: string; label: string }[],
  layouts: PageLayouts,
): Promise<{ found: number; total: number }> {
  const rows: string[][] = [[...LAYOUT_COLUMNS]];
  const shown: { file: string; label: string; layout: PageLayout }[] = [];
  const perClass = new Map<string, number>();
  let failed = 0, found = 0;
  for (const page of pages) {
    const layout = await layouts.of(page.file);
    rows.push(layoutCells(page.file, layout));
    if (layout.kind === "not_found") {
      console.log(`${page.file}: ${layoutCaption(layout)}`);
      if (failed++ < 2) shown.push({ ...page, layout });
      continue;
    }
    found++;
    const count = perClass.get(page.className) ?? 0;
    if (count < 2) shown.push({ ...page, layout });
    perClass.set(page.className, count + 1);
  }
  await writeFileAtomic(join(folder, "layouts.csv"), stringifyCsv(rows));
  const figurePages: PanelPage[] = [];
  for (const page of shown) {
    figurePages.push({
      image: await readImageFile(page.file),
      layout: page.layout,
      label: page.label,
    });
  }
  const figure = panelBoxesFigure([
    "Panel boxes of the 3 x 4 report layout",
    `${found} of ${pages.length} page(s) with their layout; boxes as the leads stage uses them`,
  ], figurePages);
  await writeFigureFiles(join(folder, "panel_boxes"), figure);
  return { found, total: pages.length };
}

/** `--check-layout`: the layouts of the test images of `--data`. */
async function checkLayout({ config }: StageArgs): Promise<void> {
  const dataset = await openDataset(config.data, {
    splits: ["test"],
    classes: config.classes,
    seed: config.seed,
  });
  const samples = limitPerSplit(dataset.samples.filter((s) => s.split === "test"), config.limit);
  const folder = join(config.out, "leads");
  const { found, total } = await writeLayouts(
    folder,
    samples.map((s) => ({ file: s.file, className: s.className, label: s.id })),
    new PageLayouts(),
  );
  console.log(
    `layout found on ${found} of ${total} test page(s) -> ${folder}/layouts.csv, ` +
      `${folder}/panel_boxes.png`,
  );
}

/**
 * Runs `leads` with parsed arguments.
 *
 * @throws {InputError} when there are no explanations to read.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { leads, leadsSpec } from "./leads.ts";
 * await leads((await parseStageArgs(leadsSpec, ["--out", "outputs"]))!);
 * ```
 */
export async function leads(args: StageArgs): Promise<void> {
  if (args.flags["check-layout"] === true) return await checkLayout(args);
  const { config, flags, defaulted } = args;
  const methods = typeof flags.methods === "string"
    ? flags.methods.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : undefined;
  const everyModel = defaulted?.includes("models") ?? false;
  // Only explanations of each model's current checkpoint on the data described (`--data` when
  // given, else the data the model was trained on) are read; the others are named, with why.
  const dataGiven = !defaulted?.includes("data");
  const selection = await OutputSelection.open(config.out, dataGiven ? { data: config.data } : {});
  let leftOutCount = 0;
  const dirs = (await xaiMethodDirs(config.out)).filter(({ model, method }) => {
    if (!(everyModel || config.models.includes(model))) return false;
    if (methods && !methods.includes(method)) return false;
    const leftOut = selection.leftOutLine("xai", model, method);
    if (leftOut === undefined) return true;
    console.log(leftOut);
    leftOutCount++;
    return false;
  });
  if (dirs.length === 0) {
    throw new InputError(
      `no explanations of ${everyModel ? "any model" : config.models.join(", ")}` +
        `${methods ? ` by ${methods.join(", ")}` : ""} under ${join(config.out, "explanations")}${
          leftOutCount > 0 ? ` but the ${leftOutCount} left out above` : ""
        }; ` +
        "run deno task xai first",
    );
  }
  const layouts = new PageLayouts();
  const labels = new LabelCache();
  const shares: string[][] = [[...LEAD_SHARES_COLUMNS]];
  const affected: string[][] = [[...LEAD_AFFECTED_COLUMNS]];
  const pages = new Map<string, { file: string; className: string; label: string }>();
  for (const { model, method, dir } of dirs) {
    const records: Record<string, string>[] = parseCsv(
      await Deno.readTextFile(join(dir, "index.csv")),
      { columns: true },
    );
    const rows: LeadRow[] = [];
    for (const record of records) {
      rows.push(await leadRow(dir, record, await layouts.of(record.file), labels));
      pages.set(record.file, { file: record.file, className: record.true_class, label: record.id });
    }
    const file = join(config.out, "leads", model, `${method}.csv`);
    await writeFileAtomic(file, stringifyCsv([[...LEAD_ROW_COLUMNS], ...rows.map(leadRowCells)]));
    shares.push(...leadSharesSummary(model, method, rows));
    const lines = leadAffectedSummary(model, method, rows);
    affected.push(...lines);
    for (const [, , className, n, share, chance, p] of lines) {
      console.log(
        `${model} ${method} ${className}: ${share} of the relevance in the affected leads, ` +
          `${chance} by chance (n=${n}, Wilcoxon p=${p})`,
      );
    }
    console.log(`${rows.length} image(s) -> ${file}`);
  }
  const results = join(config.out, "results");
  await writeFileAtomic(join(results, "lead_shares.csv"), stringifyCsv(shares));
  await writeFileAtomic(join(results, "lead_affected.csv"), stringifyCsv(affected));
  const sorted = [...pages.values()].sort((a, b) => a.label < b.label ? -1 : 1);
  const { found, total } = await writeLayouts(join(config.out, "leads"), sorted, layouts);
  console.log(`layout found on ${found} of ${total} page(s); summaries -> ${results}/lead_*.csv`);
}

if (import.meta.main) Deno.exit(await runStage(leadsSpec, Deno.args, leads));
