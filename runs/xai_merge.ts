/**
 * The `xai` stage's outputs as parts and merged: which files a method folder holds, and the
 * merge that turns its chunk parts into `index.csv` and `timings.csv`.
 *
 * Timings live in their own file because they differ between any two runs; everything else
 * a run writes is a pure function of checkpoint, images, method and options, so a sharded run
 * merged, a resumed run and an uninterrupted run are byte-identical except `timings.csv`.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import {
  type PlannedRecord,
  plannedRecord,
  readProvenance,
  sameSubject,
  writeProvenance,
} from "./provenance.ts";
import { PARTS_DIR, readAllParts, removeFilesExcept } from "./shard.ts";

/** The columns of `index.csv`. */
export const XAI_INDEX_COLUMNS = [
  "id",
  "file",
  "true_class",
  "predicted_class",
  "probability",
  "target_class",
] as const;

/** The columns of a chunk's part file: the index columns, then the image's explain seconds. */
export const XAI_PART_COLUMNS = [...XAI_INDEX_COLUMNS, "seconds"] as const;

/**
 * The settings two xai runs of one checkpoint, data set and method must share for a folder to
 * hold images of both (a run on a subset keeps the other images); `--limit` may differ.
 */
export const XAI_SUBJECT_SETTINGS: readonly string[] = ["--target", "--chunk-size", "--colormap"];

/** The folder of one model's explanations by one method. */
export function xaiMethodDir(out: string, model: string, method: string): string {
  return join(out, "explanations", model, method);
}

/**
 * Every method folder under `<out>/explanations/` as `{ model, method, dir }`, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { xaiMethodDirs } from "./xai_merge.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/explanations/ecgnet/gradcam`, { recursive: true });
 * assert((await xaiMethodDirs(out))[0].method === "gradcam");
 * ```
 */
export async function xaiMethodDirs(
  out: string,
): Promise<{ model: string; method: string; dir: string }[]> {
  const root = join(out, "explanations");
  if (!(await statOrUndefined(root))) return [];
  const found = [];
  for (const model of await listDirSorted(root)) {
    if (!model.isDirectory) continue;
    for (const method of await listDirSorted(join(root, model.name))) {
      if (!method.isDirectory) continue;
      found.push({
        model: model.name,
        method: method.name,
        dir: xaiMethodDir(out, model.name, method.name),
      });
    }
  }
  return found;
}

/**
 * The files of one explained image, relative to its method folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { xaiImageFiles } from "./xai_merge.ts";
 * assert(xaiImageFiles("test/MI/MI(1)").includes("overlay/test/MI/MI(1).png"));
 * ```
 */
export function xaiImageFiles(stem: string): string[] {
  return [
    `heatmap/${stem}.npy`,
    `heatmap/${stem}.raw.npy`,
    `heatmap/${stem}.png`,
    `overlay/${stem}.png`,
  ];
}

/**
 * Merges a method folder's parts (all chunks must be done) into `index.csv` and `timings.csv`,
 * removes files of images not in the index (an earlier run's, temp files of a killed one) and
 * the parts, and writes the folder's provenance record; returns the number of images in the
 * index. When the folder holds a finished run of the same checkpoint, data set, target and
 * chunk size and colour map (its record says so), the images of that run which this one did not explain stay,
 * after this run's: a run on a subset of the images adds or replaces just those.
 *
 * @throws {InputError} when chunks are missing or parts of different runs are present.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { preparePartsDir, writePart } from "./shard.ts";
 * import { mergeXaiMethod } from "./xai_merge.ts";
 * const dir = await Deno.makeTempDir();
 * await preparePartsDir(dir, "f", 1);
 * await writePart(dir, "f", 0, 1, "id,file,true_class,predicted_class,probability,target_class,seconds\na,a.png,X,X,1,X,0.5\n");
 * assert((await mergeXaiMethod(dir)) === 1);
 * assert((await Deno.readTextFile(`${dir}/timings.csv`)) === "id,seconds\na,0.5\n");
 * ```
 */
export async function mergeXaiMethod(dir: string): Promise<number> {
  const planned = await plannedRecord(dir);
  const [, ...rows] = await readAllParts(dir);
  const width = XAI_INDEX_COLUMNS.length;
  const out = join(dir, "..", "..", "..");
  const kept = planned ? await keptImages(out, dir, planned, rows) : { index: [], timings: [] };
  const index = [...rows.map((r) => r.slice(0, width)), ...kept.index];
  await writeFileAtomic(join(dir, "index.csv"), stringifyCsv([[...XAI_INDEX_COLUMNS], ...index]));
  await writeFileAtomic(
    join(dir, "timings.csv"),
    stringifyCsv([["id", "seconds"], ...rows.map((r) => [r[0], r[width]]), ...kept.timings]),
  );
  const keep = new Set(["index.csv", "timings.csv", ...index.flatMap((r) => xaiImageFiles(r[0]))]);
  await removeFilesExcept(dir, (path) => keep.has(path) || path.startsWith(`${PARTS_DIR}/`));
  await Deno.remove(join(dir, PARTS_DIR), { recursive: true });
  if (planned) await writeProvenance(out, planned);
  return index.length;
}

/** The index and timing rows of a finished run of the same subject that this run did not redo. */
async function keptImages(
  out: string,
  dir: string,
  planned: PlannedRecord,
  rows: readonly string[][],
): Promise<{ index: string[][]; timings: string[][] }> {
  const none = { index: [], timings: [] };
  const previous = await readProvenance(out, "xai", planned.model, planned.method);
  if (!previous || !sameSubject(previous, planned, XAI_SUBJECT_SETTINGS)) return none;
  const read = (file: string) =>
    Deno.readTextFile(join(dir, file)).then((text) => parseCsv(text) as string[][], () => []);
  const [, ...index] = await read("index.csv");
  const seconds = new Map((await read("timings.csv")).slice(1).map(([id, s]) => [id, s]));
  const redone = new Set(rows.map((r) => r[0]));
  const others = index.filter((r) => !redone.has(r[0]));
  return { index: others, timings: others.map(([id]) => [id, seconds.get(id) ?? ""]) };
}
