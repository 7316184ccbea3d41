/**
 * Scale-out for any stage: which shard this process is (`--shard i/n`, or Kubernetes'
 * `JOB_COMPLETION_INDEX` with `--shards n`), which work items are its own, and the part
 * files a shard writes so that `deno task merge` can combine them into exactly what an
 * unsharded run writes.
 *
 * A stage lists its work items in one fixed order (xai: model x method x image chunk) and
 * item `k` belongs to shard `k mod n`: every shard computes the same list from the same flags,
 * so no coordination is needed, and round-robin keeps shards within one item of each other.
 *
 * Parts live in `<folder>/parts/<fingerprint>/`: `plan.json` (how many chunks) and one
 * `chunk-<k>-of-<n>.csv` per finished chunk, each written atomically after the chunk's other
 * files, and a `failed-<k>-of-<n>.txt` (one line: why) per chunk whose last try failed. The
 * fingerprint hashes everything that decides the outputs (checkpoint, method, images, options),
 * so parts of an earlier, different run are never merged or resumed from. An unsharded run is shard 0/1 and merges its own parts at the end; a resumed run skips the
 * chunks whose part exists.
 *
 * How a stage adds sharding (a model x method x chunk stage gets steps 2 and 3 and the merge
 * call from the grid runner, `runs/grid.ts`, as `xai` and `quantus` do):
 *
 * 1. spread {@link SHARD_FLAGS} into its `StageSpec.flags`, call {@link shardFromCommandLine}
 *    first, and grant its task `--allow-env=JOB_COMPLETION_INDEX`;
 * 2. walk its work items in a fixed order with one counter, doing item `k` only when
 *    {@link ownsItem}`(shard, k)`;
 * 3. per output folder: {@link fingerprint} the inputs, {@link preparePartsDir} (which returns the
 *    chunks already done), write each chunk's files atomically and then {@link writePart};
 * 4. write a merge function reading {@link readAllParts} (and {@link removeFilesExcept} for stale
 *    files), register it in `PART_MERGERS` (`stages/merge.ts`), and call it at the end of an
 *    unsharded run;
 * 5. keep timings out of the merged files (they differ between runs).
 *
 * @module
 */
import { join } from "node:path";
import { z } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { parseStateCsv, parseStateJson } from "../core/state_file.ts";
import type { FlagSpec } from "../core/flags.ts";

/** This process's share of the work: shard `index` of `count` (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/** The whole work in one process. */
export const UNSHARDED: Readonly<Shard> = Object.freeze({ index: 0, count: 1 });

/** The environment variable Kubernetes Indexed Jobs set to the pod's completion index. */
export const SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX";

/** The flags of a shardable stage; add them to its `StageSpec.flags`. */
export const SHARD_FLAGS: Record<string, FlagSpec> = {
  shard: {
    type: "string",
    valueName: "I/N",
    help: "run only shard I of N (0-based); `deno task merge` combines the shards' parts",
  },
  shards: {
    type: "string",
    valueName: "N",
    help: `N shards, this one's index read from ${SHARD_INDEX_ENV} (Kubernetes Indexed Job)`,
  },
};

function wholeNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InputError(`${what}: expected a whole number`);
  return Number(text);
}

/**
 * The shard the flags (and `env`, the value of `JOB_COMPLETION_INDEX` if set) name; unsharded
 * when neither `--shard` nor `--shards` is given.
 *
 * @throws {InputError} for a malformed or out-of-range shard, or both flags at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseShard } from "./shard.ts";
 * assert(parseShard({ shard: "1/3" }, undefined).index === 1);
 * assert(parseShard({ shards: "4" }, "3").count === 4);
 * assert(parseShard({}, "3").count === 1);
 * ```
 */
export function parseShard(
  flags: Record<string, string | boolean | undefined>,
  envIndex: string | undefined,
): Shard {
  const { shard, shards } = flags;
  if (typeof shard === "string" && typeof shards === "string") {
    throw new InputError("--shard and --shards: pass one (--shards reads the index from env)");
  }
  let shardFlag: Shard;
  if (typeof shard === "string") {
    const match = /^(\d+)\/(\d+)$/.exec(shard.trim());
    if (!match) throw new InputError(`--shard ${shard}: expected I/N, e.g. --shard 0/3`);
    shardFlag = { index: Number(match[1]), count: Number(match[2]) };
  } else if (typeof shards === "string") {
    if (envIndex === undefined) {
      throw new InputError(
        `--shards ${shards}: ${SHARD_INDEX_ENV} is not set; set it or pass --shard I/N instead`,
      );
    }
    shardFlag = {
      index: wholeNumber(envIndex, `${SHARD_INDEX_ENV}=${envIndex}`),
      count: wholeNumber(shards, `--shards ${shards}`),
    };
  } else {
    return { ...UNSHARDED };
  }
  if (shardFlag.count < 1 || shardFlag.index >= shardFlag.count) {
    throw new InputError(
      `shard ${shardFlag.index}/${shardFlag.count}: need N >= 1 and 0 <= I < N`,
    );
  }
  return shardFlag;
}

/**
 * The shard of a stage's command line: `parseShard` with `JOB_COMPLETION_INDEX` read from the
 * environment when `--shards` asks for it (the task must grant `--allow-env=JOB_COMPLETION_INDEX`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { shardFromCommandLine } from "./shard.ts";
 * assert(shardFromCommandLine({ shard: "2/5" }).index === 2);
 * ```
 */
export function shardFromCommandLine(flags: Record<string, string | boolean | undefined>): Shard {
  const wantsEnv = typeof flags.shards === "string" && typeof flags.shard !== "string";
  return parseShard(flags, wantsEnv ? Deno.env.get(SHARD_INDEX_ENV) : undefined);
}

/**
 * True when work item `item` (its position in the stage's fixed item order) is `shard`'s.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ownsItem } from "./shard.ts";
 * const mine = [0, 1, 2, 3, 4].filter((k) => ownsItem({ index: 1, count: 3 }, k));
 * assert(mine.join() === "1,4");
 * ```
 */
export function ownsItem(shard: Shard, item: number): boolean {
  return item % shard.count === shard.index;
}

/**
 * A short hex SHA-256 of `value` (as JSON) and any byte arrays: the identity of a run's inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fingerprint } from "./shard.ts";
 * const a = await fingerprint({ method: "gradcam" }, new Uint8Array([1]));
 * assert(a.length === 16 && a !== (await fingerprint({ method: "saliency" }, new Uint8Array([1]))));
 * ```
 */
export async function fingerprint(value: unknown, ...bytes: Uint8Array[]): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const total = new Uint8Array(json.length + bytes.reduce((s, b) => s + b.length, 0));
  let offset = 0;
  for (const part of [json, ...bytes]) {
    total.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", total));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The folder below an output folder that holds its parts. */
export const PARTS_DIR = "parts";

const PLAN_FILE = "plan.json";

function chunkOf(chunk: number, chunks: number): string {
  return `${String(chunk).padStart(5, "0")}-of-${String(chunks).padStart(5, "0")}`;
}

function partName(chunk: number, chunks: number): string {
  return `chunk-${chunkOf(chunk, chunks)}.csv`;
}

/** A chunk that failed (the heap ran out): not done, its reason beside the parts. */
function failureName(chunk: number, chunks: number): string {
  return `failed-${chunkOf(chunk, chunks)}.txt`;
}

/** Where an output folder stands: its run's fingerprint, chunk count and finished chunks. */
export interface PartsState {
  fingerprint: string;
  chunks: number;
  /** Chunks whose part file exists, ascending. */
  done: number[];
  /** Chunks that failed in their last try (not done), ascending, with the one-line reason. */
  failed: { chunk: number; reason: string }[];
  /** What the run recorded besides the chunk count (parts of older versions record nothing). */
  plan: Partial<PartsPlan>;
}

/** What a run records in its `plan.json` besides the chunk count. */
export interface PartsPlan {
  /** How many shards the run that wrote the parts has (1: unsharded). */
  shards: number;
  /**
   * The settings that decide the parts, keyed by the flag that sets them (`--limit`) or by what
   * they are (`checkpoint`); a run that finds parts of other settings names the ones that differ.
   */
  settings: Record<string, unknown>;
  /** What the merge needs besides the rows (the outputs' provenance record). */
  record?: unknown;
}

/**
 * The settings that differ between two plans, as `name: theirs (parts) vs ours (this run)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { settingsDifferences } from "./shard.ts";
 * const lines = settingsDifferences({ "--limit": 24, "--target": "pred" }, { "--limit": 16, "--target": "pred" });
 * assert(lines.join() === "--limit: 24 (parts) vs 16 (this run)");
 * ```
 */
export function settingsDifferences(
  theirs: Record<string, unknown>,
  ours: Record<string, unknown>,
): string[] {
  const show = (value: unknown) => {
    const text = JSON.stringify(value) ?? "unset";
    return text.length > 40 ? `${text.slice(0, 37)}...` : text;
  };
  return [...new Set([...Object.keys(theirs), ...Object.keys(ours)])]
    .filter((key) => JSON.stringify(theirs[key]) !== JSON.stringify(ours[key]))
    .map((key) => `${key}: ${show(theirs[key])} (parts) vs ${show(ours[key])} (this run)`);
}

/**
 * Prepares `<folder>/parts/<fp>/` for a run of `chunks` chunks and returns the chunks already
 * done (resume). Parts of another run (another fingerprint) are removed when both runs are
 * unsharded (an interrupted run whose flags changed); when either is sharded they are another
 * shard's finished work, and this run is refused with the settings that differ.
 *
 * @throws {InputError} naming the differing settings, when parts of a sharded run with other
 * settings are there or this sharded run finds parts of another.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { preparePartsDir, writePart } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await preparePartsDir(dir, "old", 2);
 * await writePart(dir, "old", 0, 2, "a\n1\n");
 * assert((await preparePartsDir(dir, "old", 2)).done.join() === "0");
 * assert((await preparePartsDir(dir, "new", 2)).done.length === 0);
 * const sharded = await Deno.makeTempDir();
 * await preparePartsDir(sharded, "a", 3, { shards: 2, settings: { "--limit": 24 } });
 * await assert.rejects(
 *   preparePartsDir(sharded, "b", 2, { shards: 2, settings: { "--limit": 16 } }),
 *   /--limit: 24 \(parts\) vs 16 \(this run\)/,
 * );
 * ```
 */
export async function preparePartsDir(
  folder: string,
  fp: string,
  chunks: number,
  plan: PartsPlan = { shards: 1, settings: {} },
): Promise<PartsState> {
  const root = join(folder, PARTS_DIR);
  for (const entry of (await statOrUndefined(root)) ? await listDirSorted(root) : []) {
    if (entry.name === fp) continue;
    const theirs = await readPlan(join(root, entry.name)).catch(() => undefined);
    if (plan.shards > 1 || (theirs?.shards ?? 1) > 1) {
      const differences = settingsDifferences(theirs?.settings ?? {}, plan.settings);
      throw new InputError(
        `${folder}: holds the parts of a ${
          (theirs?.shards ?? 1) > 1 ? "sharded " : ""
        }run with other settings (${
          differences.join("; ") || "settings not recorded"
        }); a shard never removes another run's work: rerun with that run's flags, or finish ` +
          `it and deno task merge, or delete ${join(root, entry.name)} to discard it`,
      );
    }
    await Deno.remove(join(root, entry.name), { recursive: true }).catch((e) => {
      // A parallel run of the same stale parts may have removed them first.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  await writeFileAtomic(join(root, fp, PLAN_FILE), JSON.stringify({ chunks, ...plan }));
  return (await readPartsState(folder))!;
}

/**
 * Writes chunk `chunk`'s part (CSV text with a header) atomically; call it after the chunk's
 * other files are written, since its presence marks the chunk done.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { preparePartsDir, readPartsState, writePart } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await preparePartsDir(dir, "f", 3);
 * await writePart(dir, "f", 2, 3, "a\n1\n");
 * assert((await readPartsState(dir))!.done.join() === "2");
 * ```
 */
export async function writePart(
  folder: string,
  fp: string,
  chunk: number,
  chunks: number,
  csvText: string,
): Promise<void> {
  await writeFileAtomic(join(folder, PARTS_DIR, fp, partName(chunk, chunks)), csvText);
  await Deno.remove(join(folder, PARTS_DIR, fp, failureName(chunk, chunks))).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/**
 * Records that chunk `chunk` failed with `reason` (one line, e.g. the heap ran out): the chunk
 * stays not done, so a rerun tries it again, and `status` and the merge say why it is missing.
 * A later {@link writePart} of the chunk removes the record.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { preparePartsDir, readPartsState, writePart, writePartFailure } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await preparePartsDir(dir, "f", 2);
 * await writePartFailure(dir, "f", 1, 2, "the wasm heap is exhausted");
 * const state = (await readPartsState(dir))!;
 * assert(state.done.length === 0 && state.failed[0].reason === "the wasm heap is exhausted");
 * await writePart(dir, "f", 1, 2, "a\n1\n");
 * assert((await readPartsState(dir))!.failed.length === 0);
 * ```
 */
export async function writePartFailure(
  folder: string,
  fp: string,
  chunk: number,
  chunks: number,
  reason: string,
): Promise<void> {
  const line = reason.replace(/\s+/g, " ").trim();
  await writeFileAtomic(join(folder, PARTS_DIR, fp, failureName(chunk, chunks)), `${line}\n`);
}

/** What a run's `plan.json` holds. */
const planSchema = z.looseObject({
  chunks: z.number().int().positive(),
  shards: z.number().int().positive().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The parts state of `folder`, or `undefined` when it has no parts (never started, or merged).
 *
 * @throws {InputError} when parts of several runs lie side by side (shards run with different
 * flags or checkpoints), or `plan.json` is damaged.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readPartsState } from "./shard.ts";
 * assert((await readPartsState(await Deno.makeTempDir())) === undefined);
 * ```
 */
export async function readPartsState(folder: string): Promise<PartsState | undefined> {
  const root = join(folder, PARTS_DIR);
  if (!(await statOrUndefined(root))) return undefined;
  const runs = (await listDirSorted(root)).filter((e) => e.isDirectory);
  if (runs.length === 0) return undefined;
  if (runs.length > 1) {
    throw new InputError(
      `${root}: parts of ${runs.length} different runs (${runs.map((r) => r.name).join(", ")}); ` +
        "all shards must run with the same flags and checkpoints; delete the stale folder",
    );
  }
  const fp = runs[0].name;
  const { chunks, ...plan } = await readPlan(join(root, fp));
  const done: number[] = [];
  const failed: PartsState["failed"] = [];
  for (const entry of await listDirSorted(join(root, fp))) {
    const match = /^(chunk|failed)-(\d+)-of-(\d+)\.(csv|txt)$/.exec(entry.name);
    if (!match || Number(match[3]) !== chunks) continue;
    const chunk = Number(match[2]);
    if (match[1] === "chunk") done.push(chunk);
    else {
      const reason = (await Deno.readTextFile(join(root, fp, entry.name))).trim();
      failed.push({ chunk, reason });
    }
  }
  return {
    fingerprint: fp,
    chunks,
    done,
    failed: failed.filter(({ chunk }) => !done.includes(chunk)),
    plan,
  };
}

/** The plan of one run's parts folder `<folder>/parts/<fp>`. */
async function readPlan(runDir: string): Promise<{ chunks: number } & Partial<PartsPlan>> {
  const planFile = join(runDir, PLAN_FILE);
  return parseStateJson(
    await Deno.readTextFile(planFile),
    planFile,
    planSchema,
    `delete the folder ${runDir} and run the stage again (its chunks are redone)`,
  );
}

/**
 * The rows of every chunk's part in chunk order, header once, when all chunks are done.
 *
 * @throws {InputError} listing the missing chunks, or when a part is damaged or parts' headers
 * differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { preparePartsDir, readAllParts, writePart } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await preparePartsDir(dir, "f", 2);
 * await writePart(dir, "f", 1, 2, "a\n2\n");
 * await writePart(dir, "f", 0, 2, "a\n1\n");
 * assert(JSON.stringify(await readAllParts(dir)) === '[["a"],["1"],["2"]]');
 * ```
 */
export async function readAllParts(folder: string): Promise<string[][]> {
  const state = await readPartsState(folder);
  if (!state) throw new InputError(`${folder}: no parts to merge`);
  const missing = [...Array(state.chunks).keys()].filter((c) => !state.done.includes(c));
  if (missing.length > 0) {
    const failed = state.failed.map(({ chunk, reason }) => `; chunk ${chunk} failed: ${reason}`);
    throw new InputError(
      `${folder}: chunks ${missing.join(", ")} of ${state.chunks} are not done yet` +
        `${
          failed.join("")
        }; run the missing shards (deno task status lists them), then merge again`,
    );
  }
  let header: string[] | undefined;
  const rows: string[][] = [];
  for (let chunk = 0; chunk < state.chunks; chunk++) {
    const file = join(folder, PARTS_DIR, state.fingerprint, partName(chunk, state.chunks));
    const fix = "delete it and run the stage again (that chunk is redone), then merge";
    const [head, ...body] = parseStateCsv(await Deno.readTextFile(file), file, fix);
    header ??= head;
    if (head.join() !== header.join()) throw new InputError(`${file}: header differs`);
    rows.push(...body);
  }
  return [header!, ...rows];
}

/**
 * Removes every file below `root` whose path relative to `root` fails `keep` (stale files
 * of an earlier, larger run; temp files a `kill -9` left), then the folders left empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { removeFilesExcept } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/a/b`, { recursive: true });
 * await Deno.writeTextFile(`${dir}/a/keep.txt`, "");
 * await Deno.writeTextFile(`${dir}/a/b/old.txt`, "");
 * await removeFilesExcept(dir, (path) => path === "a/keep.txt");
 * assert([...Deno.readDirSync(`${dir}/a`)].map((e) => e.name).join() === "keep.txt");
 * ```
 */
export async function removeFilesExcept(
  root: string,
  keep: (relativePath: string) => boolean,
): Promise<void> {
  const walk = async (relative: string): Promise<boolean> => {
    let empty = true;
    for (const entry of await listDirSorted(join(root, relative))) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory && (await walk(path))) {
        await Deno.remove(join(root, path));
      } else if (entry.isDirectory || keep(path)) {
        empty = false;
      } else {
        await Deno.remove(join(root, path));
      }
    }
    return empty;
  };
  if (await statOrUndefined(root)) await walk("");
}
