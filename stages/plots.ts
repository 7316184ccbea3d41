/**
 * `deno task plots`: every chart the outputs allow (SVG, PNG and the spec to restyle them) under
 * `<out>/plots/`, and the offline dashboard `<out>/dashboard/index.html`.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { drawCharts, planCharts } from "../plots/draw_charts.ts";
import { writeDashboard } from "../plots/dashboard/write_dashboard.ts";
import type { FlagSpec } from "../core/flags.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import {
  readQuantusSummary,
  selectQuantusScoreFiles,
  writeQuantusSummary,
} from "../runs/quantus_outputs.ts";
import { OutputSelection } from "../runs/selection.ts";

/** `--dpi N`, the paper export of `plots` and `viz`. */
export const DPI_FLAG: FlagSpec = {
  type: "string",
  valueName: "N",
  help: "paper export: PNGs at N dots per inch (e.g. 300) and SVGs with their text outlined",
};

/**
 * The value of `--dpi`: undefined when absent, else a number from 72 to 2400.
 *
 * @throws {InputError} for anything else, naming the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseDpiFlag } from "./plots.ts";
 * assert(parseDpiFlag("300") === 300 && parseDpiFlag(undefined) === undefined);
 * assert.throws(() => parseDpiFlag("lots"), /--dpi/);
 * ```
 */
export function parseDpiFlag(flag: string | boolean | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const dpi = Number(flag);
  if (typeof flag !== "string" || !(dpi >= 72 && dpi <= 2400)) {
    throw new InputError(`--dpi: "${flag}" is not a resolution from 72 to 2400; try --dpi 300`);
  }
  return dpi;
}

/** Command-line description of `plots`. */
export const plotsSpec: StageSpec = {
  name: "plots",
  summary: "Charts of training, evaluation, Quantus results and the data set; offline dashboard.",
  shared: ["data", "out", "seed", "config"],
  flags: { dpi: DPI_FLAG },
  details: "Reads what train, eval, xai and quantus wrote under <out> and the images under " +
    "--data; each chart needs only its own inputs, and for each one it cannot draw it prints " +
    "one line naming the missing file and the stage that makes it.\n" +
    "Only outputs of each model's current checkpoint on the data set described (--data, else " +
    "the data the checkpoint was trained on) are drawn; each one left out is named in one " +
    "line with why (see docs/runs.md), and quantus_summary.csv is rebuilt without them.\n" +
    "Writes <out>/plots/{per_model/<model>,comparison,dataset}/<chart>.{svg,png,vl.json} " +
    "(the radar's spec is Vega: .vg.json), <out>/plots/comparison/model_performance.{csv,md} " +
    "and <out>/dashboard/index.html (self-contained; opens from disk with no network).\n" +
    "Example: deno task plots --data ../shared/data/ecg-images",
};

/** What `plots` wrote. */
export interface PlotsResult {
  /** Every chart and table file written. */
  files: string[];
  /** One line per chart that could not be drawn. */
  skipped: string[];
  /** Path of the dashboard. */
  dashboard: string;
}

/**
 * Runs `plots` with parsed arguments: draws the charts, writes the dashboard and prints its
 * path. The demo can call it after the other stages.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { plots, plotsSpec } from "./plots.ts";
 * const { dashboard } = await plots((await parseStageArgs(plotsSpec, []))!);
 * ```
 */
export async function plots({ config, flags, defaulted }: StageArgs): Promise<PlotsResult> {
  const dpi = parseDpiFlag(flags.dpi);
  const dataGiven = !defaulted?.includes("data");
  const selection = await OutputSelection.open(config.out, dataGiven ? { data: config.data } : {});
  await refreshQuantusSummary(config.out, selection);
  const plan = await planCharts({
    out: config.out,
    data: dataGiven ? config.data : selection.dataRoot() ?? config.data,
    classes: config.classes,
    seed: config.seed,
    selection,
  });
  for (const line of plan.leftOut ?? []) console.log(line);
  for (const line of plan.skipped) console.log(`not drawn: ${line}`);
  const { files } = await drawCharts(config.out, plan, { dpi });
  console.log(`${plan.charts.length} chart(s) -> ${config.out}/plots`);
  const dashboard = await writeDashboard(config.out, plan);
  console.log(`dashboard: ${dashboard}`);
  return { files, skipped: plan.skipped, dashboard };
}

/**
 * Rebuilds `<out>/results/quantus_summary.csv` from the per-image files `selection` keeps when
 * the summary holds rows it does not keep (of another checkpoint or data set, or of a run
 * moved away); a summary that matches them, or one without per-image files, stays as it is.
 *
 * @example
 * ```ts
 * import { OutputSelection } from "../runs/selection.ts";
 * import { refreshQuantusSummary } from "./plots.ts";
 * const out = await Deno.makeTempDir();
 * await refreshQuantusSummary(out, await OutputSelection.open(out));
 * ```
 */
export async function refreshQuantusSummary(
  out: string,
  selection: OutputSelection,
): Promise<void> {
  if (!(await statOrUndefined(join(out, "metrics")))?.isDirectory) return;
  const { files, leftOut } = await selectQuantusScoreFiles(out, selection);
  if (files.length === 0 && leftOut.length === 0) return;
  const kept = new Set(files.map((f) => `${f.model}\t${f.method}`));
  const summary = await readQuantusSummary(out).catch(() => []);
  if (leftOut.length > 0 || summary.some((r) => !kept.has(`${r.model}\t${r.method}`))) {
    await writeQuantusSummary(out, selection);
  }
}

if (import.meta.main) {
  Deno.exit(await runStage(plotsSpec, Deno.args, async (args) => void (await plots(args))));
}
