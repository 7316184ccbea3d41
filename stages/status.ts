/**
 * `deno task status`: what is done and what is pending in an outputs folder, per stage, model
 * and method: training epochs from the resume state, explanation chunks from the part files.
 *
 * @module
 */
import { join } from "node:path";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { readResumeManifest } from "../training/resume_state.ts";
import { checkpointedModels, modelPaths } from "../training/checkpoint_io.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { readPartsState } from "../runs/shard.ts";
import { parseQuantusFileName, quantusPartsFolders } from "../runs/quantus_outputs.ts";
import { xaiMethodDirs } from "../runs/xai_merge.ts";

/** Command-line description of `status`. */
export const statusSpec: StageSpec = {
  name: "status",
  summary: "Show per stage, model and method what is done and what is pending.",
  shared: ["out"],
  details: "Reads only: <out>/checkpoints/*_last/state.json and <out>/explanations/*/*/.\n" +
    "Example: deno task status --out outputs",
};

/** One line of the status: a stage's unit of work and where it stands. */
export interface StatusLine {
  stage: string;
  /** The model, or `model method`. */
  what: string;
  done: boolean;
  detail: string;
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
      (pending.length > 0 ? `; pending chunks ${pending.join(",")}` : "; ready to merge"),
  };
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
  const lines: StatusLine[] = [];
  for (const model of await checkpointedModels(out)) {
    const paths = modelPaths(out, model);
    const state = await readResumeManifest(paths.last);
    const hasBest = (await statOrUndefined(join(paths.best, "meta.json"))) !== undefined;
    if (!state) {
      lines.push({
        stage: "train",
        what: model,
        done: hasBest,
        detail: hasBest ? "best checkpoint (no resume state)" : "started, no epoch finished",
      });
      continue;
    }
    const finished = state.stoppedEarly || state.epochsDone >= state.settings.epochs;
    lines.push({
      stage: "train",
      what: model,
      done: finished,
      detail: `${state.epochsDone} of ${state.settings.epochs} epochs` +
        (state.stoppedEarly ? " (stopped early)" : ""),
    });
  }
  for (const { model, method, dir } of await xaiMethodDirs(out)) {
    const what = `${model} ${method}`;
    const parts = await partsLine("xai", what, dir);
    if (parts) lines.push(parts);
    else if (await statOrUndefined(join(dir, "index.csv"))) {
      const rows = await countCsvRows(join(dir, "index.csv"));
      lines.push({ stage: "xai", what, done: true, detail: `${rows} images in index.csv` });
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
    lines.push({
      stage: "quantus",
      what: `${parsed.model} ${parsed.method}`,
      done: true,
      detail: `${rows} images in ${entry.name}`,
    });
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
    console.log(
      `${line.stage.padEnd(7)} ${line.what.padEnd(32)} ${line.done ? "done   " : "pending"} ` +
        line.detail,
    );
  }
}

if (import.meta.main) Deno.exit(await runStage(statusSpec, Deno.args, status));
