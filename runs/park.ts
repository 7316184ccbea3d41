/**
 * Another data set is another run. An outputs folder holds one run per model: its checkpoint
 * (`checkpoints/<model>_best`, `_last`), its training history and evaluation
 * (`metrics/<model>/`), what xai, quantus and viz made from that checkpoint, and the sanity
 * checks' folder and models of the architecture (`sanity/<model>/`, `sanity/checkpoints/`). When `train` is
 * asked to train a model on a data set other than the one its saved run used, that run is not
 * a resume conflict and is not lost: it moves, whole, to `<out>/runs/<data>-<fingerprint>/`
 * (the same layout, so every stage can read it there with `--out`), and a run of the model on
 * the new data parked there earlier moves back and continues.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import {
  type CheckpointMeta,
  type DataIdentity,
  modelPaths,
  readCheckpointMeta,
} from "../training/checkpoint_io.ts";
import { readResumeManifest } from "../training/resume_state.ts";
import { allProvenance, checkpointFingerprint, outputPath, PROVENANCE_DIR } from "./provenance.ts";
import { trainedOnRoot } from "./selection.ts";
import { SANITY_DIR, sanityPaths, writeSanityTables } from "../sanity/outputs.ts";

/** The folder below an outputs folder that holds runs of other data sets. */
export const PARKED_RUNS_DIR = "runs";

/** A data set as a saved run knows it: its root, and its fingerprint when recorded. */
export interface RunData {
  root: string;
  fingerprint?: string;
}

/**
 * The folder name of a run on `data`: the data folder's name and its fingerprint's first 8
 * characters (`unrecorded` for an older run that recorded none).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { runTag } from "./park.ts";
 * assert(runTag({ root: "data/ecg_images", fingerprint: "0123456789abcdef" }) === "ecg_images-01234567");
 * assert(runTag({ root: "outputs/synthetic/" }) === "synthetic-unrecorded");
 * ```
 */
export function runTag(data: RunData): string {
  const name = basename(data.root.replace(/[\\/]+$/, "")) || "data";
  return `${name}-${data.fingerprint?.slice(0, 8) ?? "unrecorded"}`;
}

/**
 * Whether two data sets are the same: by fingerprint when both have one, else by root.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sameData } from "./park.ts";
 * assert(sameData({ root: "a", fingerprint: "f" }, { root: "b", fingerprint: "f" }));
 * assert(!sameData({ root: "a" }, { root: "b", fingerprint: "f" }));
 * ```
 */
export function sameData(a: RunData, b: RunData): boolean {
  return a.fingerprint !== undefined && b.fingerprint !== undefined
    ? a.fingerprint === b.fingerprint
    : a.root === b.root;
}

/**
 * The data set the saved run of `model` under `out` trained on (its resume state, else its best
 * checkpoint's `meta.json`), or undefined when there is no saved run or it records none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { savedRunData } from "./park.ts";
 * assert((await savedRunData(await Deno.makeTempDir(), "ecgnet")) === undefined);
 * ```
 */
export async function savedRunData(out: string, model: string): Promise<RunData | undefined> {
  const paths = modelPaths(out, model);
  const state = await readResumeManifest(paths.last);
  if (state && typeof state.settings.data === "string") {
    return {
      root: state.settings.data,
      ...(state.settings.dataFingerprint ? { fingerprint: state.settings.dataFingerprint } : {}),
    };
  }
  const meta = await bestMeta(paths.best);
  const root = meta && trainedOnRoot(meta);
  if (root === undefined) return undefined;
  return { root, ...(meta?.data ? { fingerprint: meta.data.fingerprint } : {}) };
}

async function bestMeta(dir: string): Promise<CheckpointMeta | undefined> {
  return (await statOrUndefined(join(dir, "meta.json")))
    ? await readCheckpointMeta(dir)
    : undefined;
}

/**
 * Makes the outputs folder `out` hold `model`'s run on `data` before `train` runs: when the
 * saved run used other data, moves it to `<out>/runs/<tag>/` ({@link runTag}) with every
 * output made from its checkpoint, then moves back a run on `data` parked there earlier. Says
 * what moved through `log`, one line each.
 *
 * @throws {InputError} when the run's place under `runs/` is taken by another.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { switchRun } from "./park.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/checkpoints/ecgnet_best`, { recursive: true });
 * await Deno.writeTextFile(`${out}/checkpoints/ecgnet_best/meta.json`, JSON.stringify({
 *   model: "ecgnet", classes: ["A", "B"], imgSizePx: 32, epoch: 1, valAccuracy: 1, config: { data: "old" },
 * }));
 * await Deno.writeFile(`${out}/checkpoints/ecgnet_best/weights.bin`, new Uint8Array(4));
 * const lines: string[] = [];
 * await switchRun(out, "ecgnet", { root: "new", fingerprint: "f", files: 1, bytes: 1 }, (l) => lines.push(l));
 * assert((await Deno.stat(`${out}/runs/old-unrecorded/checkpoints/ecgnet_best/meta.json`)).isFile);
 * assert(lines.length === 1 && lines[0].includes("runs/old-unrecorded"));
 * ```
 */
export async function switchRun(
  out: string,
  model: string,
  data: DataIdentity,
  log: (line: string) => void = console.log,
): Promise<void> {
  const saved = await savedRunData(out, model);
  if (saved && sameData(saved, data)) return;
  const paths = modelPaths(out, model);
  const hasRun = await anyExists([paths.best, paths.last]);
  if (hasRun) {
    const parked = join(out, PARKED_RUNS_DIR, runTag(saved ?? { root: "unknown-data" }));
    await moveRun(out, parked, model);
    log(
      `${model}: the saved run trained on ${saved?.root ?? "an unrecorded data set"}, not on ` +
        `${data.root}; it is kept in ${parked} (every stage reads it there with --out)`,
    );
  }
  const parked = join(out, PARKED_RUNS_DIR, runTag(data));
  const back = modelPaths(parked, model);
  if (await anyExists([back.best, back.last])) {
    await moveRun(parked, out, model);
    if (await pruneEmpty(parked)) await pruneEmpty(dirname(parked));
    log(`${model}: continuing its earlier run on ${data.root}, moved back from ${parked}`);
  }
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) if (await statOrUndefined(path)) return true;
  return false;
}

/**
 * Moves `model`'s run from the outputs folder `from` to `to`: its checkpoints and metrics
 * folder, every output (with its provenance record) made from its best checkpoint, and its
 * sanity checks' folder and models (whose combined tables are then rebuilt on both sides).
 */
async function moveRun(from: string, to: string, model: string): Promise<void> {
  const source = modelPaths(from, model);
  const made = (await statOrUndefined(join(source.best, "meta.json")))
    ? await checkpointFingerprint(source.best)
    : undefined;
  const moves = [source.best, source.last, source.metrics].map((p) => outputPath(from, p));
  for (const { file, record } of await allProvenance(from)) {
    if (record.model !== model || record.checkpoint.fingerprint !== made) continue;
    moves.push(...record.outputs, outputPath(from, file));
  }
  // The sanity checks' folder and models of the architecture were made with this run.
  const sanity = await sanityPaths(from, model);
  moves.push(...sanity);
  // A folder moves with what is inside it (an evaluation's files inside metrics/<model>/).
  const outermost = [...new Set(moves)].filter((path) =>
    !moves.some((other) => other !== path && path.startsWith(`${other}/`))
  );
  const present: string[] = [];
  for (const path of outermost) if (await statOrUndefined(join(from, path))) present.push(path);
  const taken = [];
  for (const path of present) if (await statOrUndefined(join(to, path))) taken.push(path);
  if (taken.length > 0) {
    throw new InputError(
      `${to}: already holds ${taken.join(", ")} of another run of ${model}; move or delete ` +
        `one of the two (${join(from, taken[0])} or ${join(to, taken[0])}) and train again`,
    );
  }
  for (const path of present) {
    await Deno.mkdir(dirname(join(to, path)), { recursive: true });
    await Deno.rename(join(from, path), join(to, path));
  }
  for (const folder of ["explanations", "metrics", PROVENANCE_DIR, SANITY_DIR]) {
    if (!(await statOrUndefined(join(from, folder)))?.isDirectory) continue;
    for (const entry of await listDirSorted(join(from, folder))) {
      if (entry.isDirectory) await pruneEmpty(join(from, folder, entry.name));
    }
  }
  if (sanity.some((path) => present.includes(path))) {
    // Sanity's combined tables are made from its architecture folders: both sides' change.
    for (const side of [from, to]) {
      await writeSanityTables(side);
      await pruneEmpty(join(side, SANITY_DIR));
    }
  }
}

/** Removes `folder` and the folders below it that hold no file; true when `folder` went. */
async function pruneEmpty(folder: string): Promise<boolean> {
  for (const entry of await listDirSorted(folder)) {
    if (entry.isDirectory) await pruneEmpty(join(folder, entry.name));
  }
  if ((await listDirSorted(folder)).length > 0) return false;
  await Deno.remove(folder);
  return true;
}
