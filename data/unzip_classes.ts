/**
 * Unpacking the ECG data set's zip archive into one folder per class, `<dest>/<Class>/<file>`,
 * whatever folder names the archive uses.
 *
 * The archive is streamed and each image streamed to disk as it inflates (the real archive is
 * about a gigabyte), archives inside it are unpacked too, and an entry with an absolute or `../`
 * path rejects the whole archive before anything is kept: callers unpack into a staging folder
 * and rename it into place only on success. What an archive may unpack is capped (bytes and
 * entries, {@link UnpackLimits}): a small archive can inflate to gigabytes.
 * A truncated archive (no end-of-central-directory record, or fewer entries than it lists) is
 * rejected the same way.
 *
 * @module
 */
import { basename, join } from "node:path";
import { Unzip, UnzipInflate } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { writeAll } from "../core/fs.ts";
import { escapesFolder } from "../core/paths.ts";
import { isImageFile } from "./dataset.ts";

/**
 * The data set's class of an archive entry: from a folder name (the Mendeley archive's long
 * names, or the class names themselves), else from the file-name prefix the data set uses
 * (`HB(n)`, `PMI(n)`, `MI(n)`, `Normal(n)`); `undefined` when neither tells.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classOfEntry } from "./unzip_classes.ts";
 * assert(classOfEntry("ECG Images of Patient that have History of MI (172x12=2064)/PMI(1).jpg") === "HistoryMI");
 * assert(classOfEntry("x/Normal/a.jpg") === "Normal" && classOfEntry("flat/HB(3).jpg") === "Abnormal");
 * assert(classOfEntry("readme/notes.jpg") === undefined);
 * ```
 */
export function classOfEntry(path: string): string | undefined {
  const parts = path.replaceAll("\\", "/").split("/");
  const folders = parts.slice(0, -1).reverse();
  for (const folder of folders) {
    const f = folder.toLowerCase();
    if (f.includes("history of mi") || folder === "HistoryMI") return "HistoryMI";
    if (f.includes("myocardial infarction") || folder === "MI") return "MI";
    if (f.includes("abnormal heartbeat") || folder === "Abnormal") return "Abnormal";
    if (f.includes("normal person") || folder === "Normal") return "Normal";
  }
  const file = parts.at(-1)!;
  const prefixes: [RegExp, string][] = [
    [/^HB\(/i, "Abnormal"],
    [/^PMI\(/i, "HistoryMI"],
    [/^MI\(/i, "MI"],
    [/^Normal\(/i, "Normal"],
  ];
  return prefixes.find(([re]) => re.test(file))?.[1];
}

/** What an archive held. */
export interface UnzipResult {
  /** Images written per class. */
  counts: Record<string, number>;
  /** Entries that are not images of a known class, or repeat a class's file name. */
  skipped: string[];
}

const EOCD_SIGNATURE = 0x06054b50;

/**
 * The entry count an archive's end-of-central-directory record lists (`undefined` for ZIP64,
 * which stores it elsewhere).
 *
 * @throws {InputError} when the record is missing: the archive is truncated or not a zip.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { zipSync } from "../deps.ts";
 * import { zipEntryCount } from "./unzip_classes.ts";
 * assert(zipEntryCount(zipSync({ "a.txt": new Uint8Array([1]) }), "t.zip") === 1);
 * ```
 */
export function zipEntryCount(tail: Uint8Array, source: string): number | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let at = tail.length - 22; at >= 0 && at >= tail.length - 22 - 65535; at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE) {
      const entries = view.getUint16(at + 10, true);
      return entries === 0xffff ? undefined : entries;
    }
  }
  throw new InputError(
    `${source}: not a complete zip archive (no end-of-central-directory record); the download ` +
      "was probably cut short: delete it and fetch again",
  );
}

async function fileTail(path: string, bytes: number): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    const size = (await file.stat()).size;
    const length = Math.min(size, bytes);
    await file.seek(size - length, Deno.SeekMode.Start);
    const tail = new Uint8Array(length);
    for (let read = 0; read < length;) {
      const n = await file.read(tail.subarray(read));
      if (n === null) break;
      read += n;
    }
    return tail;
  } finally {
    file.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** How much an archive may unpack: the guard against a zip bomb filling disk or memory. */
export interface UnpackLimits {
  /** Bytes unpacked in all, inner archives included (they are held in memory to unpack). */
  maxBytes: number;
  /** Entries in all, inner archives' included. */
  maxEntries: number;
}

/**
 * The default {@link UnpackLimits}: 4 GiB, about four times the real data set's archive, and
 * 100 000 entries for its 928 scans.
 */
export const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({
  maxBytes: 4096 * 2 ** 20,
  maxEntries: 100_000,
});

/**
 * An archive that unpacks to more than {@link UnpackLimits} allow. Not a sign of a corrupt
 * archive, so the caller may keep it for a rerun with higher limits.
 */
export class UnpackLimitError extends InputError {
  /** @param message what was exceeded, where, and the flag that raises it. */
  constructor(message: string) {
    super(message);
    this.name = "UnpackLimitError";
  }
}

/**
 * Unpacks the zip at `zipPath` into `<dest>/<Class>/<file name>` (see {@link classOfEntry}),
 * streaming each image to disk as it inflates; at most `limits` bytes and entries.
 *
 * @throws {InputError} for an entry whose path is absolute or contains `../`, a truncated or
 * corrupt archive; {@link UnpackLimitError} past `limits`. Files already written stay in `dest`
 * (every write has finished when it throws), so pass a staging folder and remove it on failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { zipSync } from "../deps.ts";
 * import { unzipImagesByClass } from "./unzip_classes.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/a.zip`, zipSync({ "set/MI/MI(1).jpg": new Uint8Array([1]), "x.txt": new Uint8Array() }));
 * const result = await unzipImagesByClass(`${dir}/a.zip`, `${dir}/out`);
 * assert(result.counts.MI === 1 && result.skipped.join() === "x.txt");
 * await assert.rejects(
 *   () => unzipImagesByClass(`${dir}/a.zip`, `${dir}/out2`, { maxBytes: 1024, maxEntries: 1 }),
 *   /more than 1 entries/,
 * );
 * ```
 */
export async function unzipImagesByClass(
  zipPath: string,
  dest: string,
  limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
): Promise<UnzipResult> {
  const result: UnzipResult = { counts: {}, skipped: [] };
  const written = new Set<string>();
  /** Every entry's write chain, settled before returning. */
  const writes: Promise<unknown>[] = [];
  /** Inner archives, unpacked one after another once the archive holding them is done. */
  const inner: { archive: Uint8Array; source: string }[] = [];
  /** Chains still writing, awaited after each pushed chunk so memory holds about one chunk. */
  const inFlight = new Set<Promise<unknown>>();
  const open = new Set<Deno.FsFile>();
  const failures: unknown[] = [];
  const track = (work: Promise<unknown>): void => {
    const settled = work.catch((e) => failures.push(e));
    writes.push(settled);
    inFlight.add(settled);
    settled.finally(() => inFlight.delete(settled));
  };
  let entries = 0;
  let bytes = 0;
  const overLimit = (what: string) =>
    new UnpackLimitError(
      `${zipPath}: unpacks to ${what}; stopped. If the archive is what you meant to fetch, ` +
        "rerun with a higher --max-unpacked-mb or --max-entries (data:fetch keeps it, so nothing " +
        "is downloaded again)",
    );
  const expectedEntries = zipEntryCount(await fileTail(zipPath, 22 + 65535), zipPath);
  const unpack = async (
    chunks: AsyncIterable<Uint8Array> | Uint8Array[],
    source: string,
    listed: number | undefined,
  ) => {
    let seen = 0;
    let failure: Error | undefined;
    const unzip = new Unzip((entry) => {
      seen++;
      if (failure) return;
      if (++entries > limits.maxEntries) {
        failure = overLimit(`more than ${limits.maxEntries} entries`);
        return;
      }
      if (escapesFolder(entry.name)) {
        failure = new InputError(
          `${source}: entry "${entry.name}" is absolute or leaves the archive's folder; ` +
            "refusing the whole archive (nothing is kept); get the data set from its source",
        );
        return;
      }
      if (entry.name.endsWith("/")) return;
      const nested = entry.name.toLowerCase().endsWith(".zip");
      const className = classOfEntry(entry.name);
      if (!nested && (!isImageFile(entry.name) || className === undefined)) {
        result.skipped.push(entry.name);
        return;
      }
      const target = nested ? "" : join(className!, basename(entry.name.replaceAll("\\", "/")));
      if (!nested && written.has(target)) {
        result.skipped.push(entry.name);
        return;
      }
      // The size a local header declares is checked before inflating anything; the bytes are
      // counted as they come, since a header may say nothing (or lie).
      if (bytes + (entry.originalSize ?? 0) > limits.maxBytes) {
        failure = overLimit(`more than ${limits.maxBytes / 2 ** 20} MiB (entry "${entry.name}")`);
        return;
      }
      const parts: Uint8Array[] = [];
      let chain: Promise<Deno.FsFile | undefined> = Promise.resolve(undefined);
      if (!nested) {
        written.add(target);
        result.counts[className!] = (result.counts[className!] ?? 0) + 1;
        chain = Deno.mkdir(join(dest, className!), { recursive: true })
          .then(() => Deno.open(join(dest, target), { write: true, create: true, truncate: true }))
          .then((file) => (open.add(file), file));
        track(chain);
      }
      entry.ondata = (error, data, final) => {
        if (error) {
          failure ??= new InputError(
            `${source}: entry "${entry.name}" is corrupt (${error.message})`,
          );
          return;
        }
        bytes += data.length;
        if (bytes > limits.maxBytes) {
          failure ??= overLimit(
            `more than ${limits.maxBytes / 2 ** 20} MiB (entry "${entry.name}")`,
          );
          entry.terminate();
          return;
        }
        if (nested) {
          parts.push(data);
          if (!final) return;
          inner.push({ archive: concat(parts), source: `${source}!${entry.name}` });
          return;
        }
        chain = chain.then(async (file) => {
          await writeAll(file!, data);
          if (final) {
            open.delete(file!);
            file!.close();
          }
          return file;
        });
        track(chain);
      };
      entry.start();
    });
    unzip.register(UnzipInflate);
    const push = (chunk: Uint8Array, final = false) => {
      try {
        unzip.push(chunk, final);
      } catch (e) {
        throw new InputError(`${source}: corrupt zip archive (${(e as Error).message})`);
      }
    };
    for await (const chunk of chunks) {
      push(chunk);
      if (failure) throw failure;
      await Promise.all(inFlight);
      if (failures.length > 0) throw failures[0];
    }
    push(new Uint8Array(0), true);
    if (failure) throw failure;
    if (listed !== undefined && seen < listed) {
      throw new InputError(
        `${source}: ${seen} of the ${listed} entries the archive lists could be read; it is ` +
          "truncated or corrupt: delete it and fetch again",
      );
    }
  };
  const file = await Deno.open(zipPath);
  try {
    await unpack(file.readable, zipPath, expectedEntries);
    for (let next = inner.shift(); next; next = inner.shift()) {
      await unpack([next.archive], next.source, zipEntryCount(next.archive, next.source));
    }
    await Promise.all(writes);
    if (failures.length > 0) throw failures[0];
  } finally {
    try {
      file.close();
    } catch {
      // The readable stream closes the file when it ends.
    }
    // On failure too, nothing may still be writing (or hold a file open) once this returns.
    await Promise.all(writes);
    for (const f of open) f.close();
  }
  return result;
}
