/**
 * Provenance: which data set, checkpoint, settings and project version an output came from.
 *
 * Every stage that writes results records them in `<out>/provenance/<stage>/<model>[/<method>].json`
 * (a {@link ProvenanceRecord}); a checkpoint carries its training data in its own `meta.json`.
 * Readers (the summary, charts, figures, dashboard, `status`) compare a record with the model's
 * current checkpoint and the data set they describe (`runs/selection.ts`) and leave out what
 * belongs to another, so outputs of different runs never mix. The records live in their own
 * folder, not beside the outputs, so the outputs stay byte-identical between runs.
 *
 * Fingerprints are cheap on purpose: a data set's is a hash of its file list and sizes (nothing
 * is decoded), a checkpoint's a hash of its files.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { type DataIdentity, WEIGHTS_FILE } from "../training/checkpoint_io.ts";
import { fingerprint, readPartsState } from "./shard.ts";

/** The folder below an outputs folder that holds the provenance records. */
export const PROVENANCE_DIR = "provenance";

/**
 * The identity of the data set at `root`: a hash of every file's path (relative to `root`) and
 * size, their count and total size. Nothing is read but the folder listings, so this takes
 * milliseconds for thousands of images; renaming, adding, removing or resizing a file changes
 * it. Symbolic links are followed (each folder once).
 *
 * @throws {InputError} when `root` is not a folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dataIdentity } from "./provenance.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/test/A`, { recursive: true });
 * await Deno.writeTextFile(`${root}/test/A/a.png`, "12345");
 * const before = await dataIdentity(root);
 * assert(before.files === 1 && before.bytes === 5 && before.root === root);
 * await Deno.writeTextFile(`${root}/test/A/b.png`, "1");
 * assert((await dataIdentity(root)).fingerprint !== before.fingerprint);
 * ```
 */
export async function dataIdentity(root: string): Promise<DataIdentity> {
  if (!(await statOrUndefined(root))?.isDirectory) {
    throw new InputError(`--data ${root}: the data set folder does not exist`);
  }
  const lines: string[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    const real = await Deno.realPath(join(root, folder));
    if (seen.has(real)) return;
    seen.add(real);
    for (const entry of await listDirSorted(join(root, folder))) {
      const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
      const info = await Deno.stat(join(root, path));
      if (info.isDirectory) await walk(path);
      else if (info.isFile) {
        lines.push(`${path}\t${info.size}`);
        bytes += info.size;
      }
    }
  };
  await walk("");
  const listing = new TextEncoder().encode(lines.join("\n"));
  return { root, fingerprint: await fingerprint(null, listing), files: lines.length, bytes };
}

/** Checkpoint fingerprints already computed, by folder and its files' sizes and times. */
const checkpointDigests = new Map<string, string>();

/**
 * The fingerprint of the checkpoint folder `dir`: a hash of its `meta.json` and weights. The
 * grid's part fingerprints use the same value, so it is cached per process by the files' sizes
 * and modification times (a 100 MB checkpoint is read once).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkpointFingerprint } from "./provenance.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/meta.json`, "{}");
 * await Deno.writeFile(`${dir}/weights.bin`, new Uint8Array([1, 2]));
 * const first = await checkpointFingerprint(dir);
 * await Deno.writeFile(`${dir}/weights.bin`, new Uint8Array([1, 2, 3]));
 * assert(first.length === 16 && (await checkpointFingerprint(dir)) !== first);
 * ```
 */
export async function checkpointFingerprint(dir: string): Promise<string> {
  const files = [join(dir, "meta.json"), join(dir, WEIGHTS_FILE)];
  const stats = await Promise.all(files.map((f) => Deno.stat(f)));
  const key = [dir, ...stats.map((s) => `${s.size}@${s.mtime?.getTime()}`)].join("\t");
  const cached = checkpointDigests.get(key);
  if (cached) return cached;
  const digest = await fingerprint(null, ...await Promise.all(files.map((f) => Deno.readFile(f))));
  checkpointDigests.set(key, digest);
  return digest;
}

let version: Promise<string> | undefined;

/**
 * The project's version for the record: `deno.json`'s `version` when it has one, and the git
 * commit of the checkout (read from `.git`, no `git` process) when there is one, else
 * `unknown` (run from a URL, or without read access to the checkout).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { projectVersion } from "./provenance.ts";
 * assert((await projectVersion()).length > 0);
 * ```
 */
export function projectVersion(): Promise<string> {
  version ??= readVersion();
  return version;
}

async function readVersion(): Promise<string> {
  if (!import.meta.url.startsWith("file:")) return "unknown";
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const read = (path: string) => Deno.readTextFile(join(root, path)).catch(() => undefined);
  const parts: string[] = [];
  const denoJson = await read("deno.json");
  try {
    const declared = denoJson && JSON.parse(denoJson).version;
    if (typeof declared === "string") parts.push(declared);
  } catch {
    // An unreadable deno.json only means no declared version.
  }
  const head = (await read(".git/HEAD"))?.trim();
  const ref = head?.startsWith("ref: ") ? head.slice(5) : undefined;
  let commit = ref === undefined ? head : (await read(`.git/${ref}`))?.trim();
  if (ref !== undefined && commit === undefined) {
    const packed = (await read(".git/packed-refs"))?.split("\n") ?? [];
    commit = packed.find((line) => line.endsWith(` ${ref}`))?.split(" ")[0];
  }
  if (commit && /^[0-9a-f]{40}$/.test(commit)) parts.push(`git ${commit.slice(0, 12)}`);
  return parts.length > 0 ? parts.join(", ") : "unknown";
}

/** The stages that record provenance, by the folder their records go to. */
export type RecordedStage = "eval" | "xai" | "quantus" | "viz" | "meta";

/** What one stage's outputs for one model (and method) came from. */
export interface ProvenanceRecord {
  stage: RecordedStage;
  model: string;
  /** The attribution method, for xai and quantus. */
  method?: string;
  /** The files or folders it covers, relative to the outputs folder. */
  outputs: string[];
  /** The checkpoint the outputs were made with. */
  checkpoint: { fingerprint: string; epoch?: number };
  /** The data set the outputs describe. */
  data: DataIdentity;
  /** The data set the checkpoint was trained on, when it is recorded and not {@link data}. */
  trainedOn?: DataIdentity;
  /** The settings that decide the numbers, by the flag that sets them (`--limit`, ...). */
  settings: Record<string, unknown>;
  /** The grid's fingerprint of the last run merged into the outputs (xai, quantus). */
  fingerprint?: string;
  /** Per score column (quantus): the fingerprint of the run that computed it. */
  columns?: Record<string, string>;
  /** {@link projectVersion} of the run that wrote the record. */
  version: string;
  /** When the record was written (ISO 8601). */
  written: string;
}

const identitySchema = z.looseObject({
  root: z.string(),
  fingerprint: z.string(),
  files: z.number(),
  bytes: z.number(),
});

const recordSchema = z.looseObject({
  stage: z.enum(["eval", "xai", "quantus", "viz", "meta"]),
  model: z.string(),
  method: z.string().optional(),
  outputs: z.array(z.string()),
  checkpoint: z.looseObject({ fingerprint: z.string(), epoch: z.number().optional() }),
  data: identitySchema,
  trainedOn: identitySchema.optional(),
  settings: z.record(z.string(), z.unknown()),
  fingerprint: z.string().optional(),
  columns: z.record(z.string(), z.string()).optional(),
  version: z.string(),
  written: z.string(),
});

/**
 * Where the record of `stage`'s outputs for `model` (and `method`) lies under `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { provenanceFile } from "./provenance.ts";
 * assert(provenanceFile("outputs", "xai", "ecgnet", "gradcam") === "outputs/provenance/xai/ecgnet/gradcam.json");
 * assert(provenanceFile("outputs", "eval", "ecgnet") === "outputs/provenance/eval/ecgnet.json");
 * ```
 */
export function provenanceFile(
  out: string,
  stage: RecordedStage,
  model: string,
  method?: string,
): string {
  return method === undefined
    ? join(out, PROVENANCE_DIR, stage, `${model}.json`)
    : join(out, PROVENANCE_DIR, stage, model, `${method}.json`);
}

/**
 * Writes `record` where {@link provenanceFile} says, stamped with the time.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readProvenance, writeProvenance } from "./provenance.ts";
 * const out = await Deno.makeTempDir();
 * const data = { root: "ds", fingerprint: "d", files: 1, bytes: 1 };
 * await writeProvenance(out, { stage: "eval", model: "m", outputs: ["metrics/m"],
 *   checkpoint: { fingerprint: "c" }, data, settings: {}, version: "unknown" });
 * assert((await readProvenance(out, "eval", "m"))!.checkpoint.fingerprint === "c");
 * ```
 */
export async function writeProvenance(
  out: string,
  record: Omit<ProvenanceRecord, "written">,
): Promise<void> {
  const full: ProvenanceRecord = { ...record, written: new Date().toISOString() };
  const file = provenanceFile(out, record.stage, record.model, record.method);
  await writeFileAtomic(file, `${JSON.stringify(full, null, 1)}\n`);
}

function parseRecord(text: string, file: string): ProvenanceRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw damagedRecord(file, (e as Error).message);
  }
  const result = recordSchema.safeParse(parsed);
  if (!result.success) throw damagedRecord(file, result.error.issues[0].message);
  return result.data as ProvenanceRecord;
}

function damagedRecord(file: string, why: string): InputError {
  return new InputError(
    `${file}: damaged provenance record (${why.replace(/\s+/g, " ")}); delete it and rerun ` +
      "the stage that wrote the outputs it describes",
  );
}

/**
 * The record of `stage`'s outputs for `model` (and `method`), or undefined when there is none.
 *
 * @throws {InputError} naming the file when it is damaged.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readProvenance } from "./provenance.ts";
 * assert((await readProvenance(await Deno.makeTempDir(), "xai", "m", "gradcam")) === undefined);
 * ```
 */
export async function readProvenance(
  out: string,
  stage: RecordedStage,
  model: string,
  method?: string,
): Promise<ProvenanceRecord | undefined> {
  const file = provenanceFile(out, stage, model, method);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return parseRecord(text, file);
}

/**
 * Every record under `<out>/provenance/`, with its file.
 *
 * @throws {InputError} naming the first damaged record.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allProvenance } from "./provenance.ts";
 * assert((await allProvenance(await Deno.makeTempDir())).length === 0);
 * ```
 */
export async function allProvenance(
  out: string,
): Promise<{ file: string; record: ProvenanceRecord }[]> {
  const root = join(out, PROVENANCE_DIR);
  const found: { file: string; record: ProvenanceRecord }[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await listDirSorted(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".json")) {
        found.push({ file: path, record: parseRecord(await Deno.readTextFile(path), path) });
      }
    }
  };
  if ((await statOrUndefined(root))?.isDirectory) await walk(root);
  return found;
}

/**
 * The provenance record a grid method's merge writes, kept in its parts' plan until then (the
 * merge stamps the time).
 */
export type PlannedRecord = Omit<ProvenanceRecord, "written">;

/**
 * The record the parts in `folder` carry for their merge (their `plan.json`), or undefined when
 * there are none or they were written by a version that recorded none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { plannedRecord } from "./provenance.ts";
 * import { preparePartsDir } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * assert((await plannedRecord(dir)) === undefined);
 * const data = { root: "ds", fingerprint: "d", files: 1, bytes: 1 };
 * const record = { stage: "xai", model: "m", method: "saliency", outputs: [], checkpoint: { fingerprint: "c" },
 *   data, settings: {}, version: "unknown" };
 * await preparePartsDir(dir, "f", 1, { shards: 1, settings: {}, record });
 * assert((await plannedRecord(dir))?.method === "saliency");
 * ```
 */
export async function plannedRecord(folder: string): Promise<PlannedRecord | undefined> {
  const record = (await readPartsState(folder))?.plan.record;
  if (record === undefined) return undefined;
  const parsed = recordSchema.omit({ written: true }).safeParse(record);
  return parsed.success ? parsed.data as PlannedRecord : undefined;
}

/**
 * Whether two records (or a record and a planned one) are of the same checkpoint, data set and
 * `keys` of their settings: then the outputs of one may be kept beside the other's (other
 * images, other metric columns) without mixing two runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sameSubject } from "./provenance.ts";
 * const data = { root: "ds", fingerprint: "d", files: 1, bytes: 1 };
 * const a = { checkpoint: { fingerprint: "c" }, data, settings: { "--target": "pred", "--limit": 8 } };
 * assert(sameSubject(a, { ...a, settings: { "--target": "pred", "--limit": 4 } }, ["--target"]));
 * assert(!sameSubject(a, { ...a, settings: { "--target": "true" } }, ["--target"]));
 * ```
 */
export function sameSubject(
  a: Pick<ProvenanceRecord, "checkpoint" | "data" | "settings">,
  b: Pick<ProvenanceRecord, "checkpoint" | "data" | "settings">,
  keys: readonly string[],
): boolean {
  return a.checkpoint.fingerprint === b.checkpoint.fingerprint &&
    a.data.fingerprint === b.data.fingerprint &&
    keys.every((key) => JSON.stringify(a.settings[key]) === JSON.stringify(b.settings[key]));
}

/**
 * `path` relative to the outputs folder `out`, with `/` separators, as records list outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outputPath } from "./provenance.ts";
 * assert(outputPath("o", "o/explanations/m/gradcam") === "explanations/m/gradcam");
 * ```
 */
export function outputPath(out: string, path: string): string {
  return relative(out, path).replaceAll("\\", "/");
}

/**
 * A data set in a line: its root, file count and fingerprint.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { describeData } from "./provenance.ts";
 * const line = describeData({ root: "ds", fingerprint: "0123456789abcdef", files: 3, bytes: 9 });
 * assert(line === "ds (3 files, 01234567)");
 * ```
 */
export function describeData(data: DataIdentity): string {
  return `${data.root} (${data.files} files, ${data.fingerprint.slice(0, 8)})`;
}
