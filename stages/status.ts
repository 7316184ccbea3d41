/**
 * `deno task status`: what is done and what is pending in an outputs folder, per stage, model
 * and method: training epochs from the resume state, explanation chunks from the part files,
 * and where each finished output came from (its provenance: data set, checkpoint, version).
 * Outputs made with another checkpoint or on another data set than the model's current one are
 * listed as stale, with why; runs of other data sets kept under `<out>/runs/` are listed too.
 *
 * @module
 */
import { join } from "node:path";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { readResumeManifest } from "../training/resume_state.ts";
import { checkpointedModels, modelPaths, readCheckpointMeta } from "../training/checkpoint_io.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { readPartsState } from "../runs/shard.ts";
import { parseQuantusFileName, quantusPartsFolders } from "../runs/quantus_outputs.ts";
import { xaiMethodDirs } from "../runs/xai_merge.ts";
import { metaPartsFolders } from "../runs/meta_outputs.ts";
import { PARKED_RUNS_DIR } from "../runs/park.ts";
import { describeData, type RecordedStage } from "../runs/provenance.ts";
import { type CurrentCheckpoint, OutputSelection } from "../runs/selection.ts";

/** Command-line description of `status`. */
export const statusSpec: StageSpec = {
  name: "status",
  summary: "Show per stage, model and method what is done and what is pending.",
  shared: ["out"],
  details: "Reads only: <out>/checkpoints/, <out>/explanations/, <out>/metrics/, " +
    "<out>/provenance/ and <out>/runs/ (runs of other data sets, kept by train).\n" +
    "Each finished output shows its data set (root, file count, fingerprint), checkpoint " +
    "fingerprint and project version; one made with another checkpoint or on another data set " +
    "than its model's current one is 'stale', with why (plots, viz and the summary leave it " +
    "out).\n" +
    "Example: deno task status --out outputs",
};

/** One line of the status: a stage's unit of work and where it stands. */
export interface StatusLine {
  stage: string;
  /** The model, or `model method`. */
  what: string;
  done: boolean;
  detail: string;
  /** Set when the outputs belong to another checkpoint or data set: why. */
  stale?: string;
}

/** Data rows of a CSV file (lines after the header). */
async function countCsvRows(file: string): Promise<number> {
  return (await Deno.readTextFile(file)).trimEnd().split("\n").length - 1;
}

/** The line of a folder with parts (a sharded or interrupted run), or undefined without any. */
async function partsLine(
  stage: string,
  what: string,
  dir: string,
): Promise<StatusLine | undefined> {
  const parts = await readPartsState(dir).catch((e: Error) => e);
  if (parts instanceof Error) return { stage, what, done: false, detail: parts.message };
  if (!parts) return undefined;
  const pending = [...Array(parts.chunks).keys()].filter((c) => !parts.done.includes(c));
  return {
    stage,
    what,
    done: false,
    detail: `${parts.done.length} of ${parts.chunks} chunks` +
      (pending.length > 0 ? `; pending chunks ${pending.join(",")}` : "; ready to merge") +
      parts.failed.map(({ chunk, reason }) => `; chunk ${chunk} failed: ${reason}`).join(""),
  };
}

/** A checkpoint's provenance in words: its data set, fingerprint and version. */
function checkpointDetail(current: CurrentCheckpoint): string {
  const { meta, fingerprint } = current;
  const data = meta.data
    ? describeData(meta.data)
    : typeof meta.config?.data === "string"
    ? meta.config.data
    : "unrecorded";
  return `data ${data}, checkpoint ${fingerprint.slice(0, 8)}, version ${
    meta.version ?? "unrecorded"
  }`;
}

/** A finished output's line: done with its provenance, or stale with why. */
function finishedLine(
  selection: OutputSelection,
  stage: RecordedStage,
  model: string,
  method: string | undefined,
  detail: string,
): StatusLine {
  const what = method === undefined ? model : `${model} ${method}`;
  const stale = selection.leftOut(stage, model, method);
  if (stale !== undefined) {
    return { stage, what, done: false, detail: `${detail}; ${stale}`, stale };
  }
  const record = selection.record(stage, model, method);
  const made = record
    ? `; data ${describeData(record.data)}, checkpoint ${
      record.checkpoint.fingerprint.slice(0, 8)
    }, version ${record.version}`
    : "";
  return { stage, what, done: true, detail: detail + made };
}

/**
 * The status of every unit of work found under the outputs folder `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outputsStatus } from "./status.ts";
 * assert((await outputsStatus(await Deno.makeTempDir())).length === 0);
 * ```
 */
export async function outputsStatus(out: string): Promise<StatusLine[]> {
  const selection = await OutputSelection.open(out);
  const lines: StatusLine[] = [];
  for (const model of await checkpointedModels(out)) {
    const paths = modelPaths(out, model);
    const state = await readResumeManifest(paths.last);
    const current = selection.checkpoint(model);
    const made = current ? `; ${checkpointDetail(current)}` : "";
    const imported = current?.meta.imported;
    if (imported) {
      // Not trained here: the import stands in for training.
      lines.push({
        stage: "import",
        what: model,
        done: true,
        detail: `imported from ${imported.file} (sha256 ${imported.sha256.slice(0, 12)}) at ` +
          `${imported.at}${made}`,
      });
    } else if (!state) {
      lines.push({
        stage: "train",
        what: model,
        done: current !== undefined,
        detail: (current ? "best checkpoint (no resume state)" : "started, no epoch finished") +
          made,
      });
    } else {
      const finished = state.stoppedEarly || state.epochsDone >= state.settings.epochs;
      lines.push({
        stage: "train",
        what: model,
        done: finished,
        detail: `${state.epochsDone} of ${state.settings.epochs} epochs` +
          (state.stoppedEarly ? " (stopped early)" : "") + made,
      });
    }
    if (await statOrUndefined(join(paths.metrics, "classification_report.txt"))) {
      lines.push(finishedLine(selection, "eval", model, undefined, "test-split report"));
    }
  }
  for (const { model, method, dir } of await xaiMethodDirs(out)) {
    const parts = await partsLine("xai", `${model} ${method}`, dir);
    if (parts) lines.push(parts);
    else if (await statOrUndefined(join(dir, "index.csv"))) {
      const rows = await countCsvRows(join(dir, "index.csv"));
      lines.push(finishedLine(selection, "xai", model, method, `${rows} images in index.csv`));
    }
  }
  for (const { model, method, dir } of await quantusPartsFolders(out)) {
    const parts = await partsLine("quantus", `${model} ${method}`, dir);
    if (parts) lines.push(parts);
  }
  for (const entry of await listDirSorted(join(out, "metrics")).catch(() => [])) {
    const parsed = entry.isFile ? parseQuantusFileName(entry.name) : undefined;
    if (!parsed || !entry.name.endsWith(".csv")) continue;
    const rows = await countCsvRows(join(out, "metrics", entry.name));
    const detail = `${rows} images in ${entry.name}`;
    lines.push(finishedLine(selection, "quantus", parsed.model, parsed.method, detail));
  }
  // deno task meta: per model and metric, a parts folder while running, then a file.
  for (const { model, metric, dir } of await metaPartsFolders(out)) {
    const parts = await partsLine("meta", `${model} ${metric}`, dir);
    if (parts) lines.push(parts);
  }
  for (const model of await listDirSorted(join(out, "meta")).catch(() => [])) {
    if (!model.isDirectory) continue;
    for (const entry of await listDirSorted(join(out, "meta", model.name))) {
      if (!entry.isFile || !entry.name.endsWith(".csv")) continue;
      const metric = entry.name.slice(0, -4);
      const rows = await countCsvRows(join(out, "meta", model.name, entry.name));
      const detail = `${rows} score rows in meta/${model.name}/${entry.name}`;
      lines.push(finishedLine(selection, "meta", model.name, metric, detail));
    }
  }
  lines.push(...await parkedRunLines(out));
  return lines;
}

/** One line per model of each run kept under `<out>/runs/` (trained on another data set). */
async function parkedRunLines(out: string): Promise<StatusLine[]> {
  const root = join(out, PARKED_RUNS_DIR);
  const lines: StatusLine[] = [];
  for (const run of await listDirSorted(root).catch(() => [])) {
    if (!run.isDirectory) continue;
    const dir = join(root, run.name);
    for (const model of await checkpointedModels(dir)) {
      const best = modelPaths(dir, model).best;
      const meta = (await statOrUndefined(join(best, "meta.json")))
        ? await readCheckpointMeta(best)
        : undefined;
      const data = meta?.data ? describeData(meta.data) : (meta?.config?.data ?? "unrecorded");
      lines.push({
        stage: "runs",
        what: model,
        done: true,
        detail: `kept in ${dir} (trained on ${data}); read it with --out ${dir}`,
      });
    }
  }
  return lines;
}

/**
 * Runs `status` with parsed arguments: prints one line per unit of work.
 *
 * @example
 * ```ts
 * import { status } from "./status.ts";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * await status({ config: { ...DEFAULT_CONFIG, out: await Deno.makeTempDir() }, flags: {} });
 * ```
 */
export async function status({ config }: StageArgs): Promise<void> {
  const lines = await outputsStatus(config.out);
  if (lines.length === 0) console.log(`nothing started in ${config.out}`);
  for (const line of lines) {
    const state = line.done ? "done   " : line.stale ? "stale  " : "pending";
    console.log(`${line.stage.padEnd(7)} ${line.what.padEnd(32)} ${state} ${line.detail}`);
  }
}

if (import.meta.main) Deno.exit(await runStage(statusSpec, Deno.args, status));
