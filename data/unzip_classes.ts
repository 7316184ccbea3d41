/**
 * Unpacking the ECG data set's zip archive into one folder per class, `<dest>/<Class>/<file>`,
 * whatever folder names the archive uses.
 *
 * The archive is streamed (the real one is about a gigabyte), archives inside it are unpacked
 * too, and an entry with an absolute or `../` path rejects the whole archive before anything
 * is kept: callers unpack into a staging folder and rename it into place only on success.
 * A truncated archive (no end-of-central-directory record, or fewer entries than it lists) is
 * rejected the same way.
 *
 * @module
 */
import { basename, join } from "node:path";
import { Unzip, UnzipInflate } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
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

/**
 * Unpacks the zip at `zipPath` into `<dest>/<Class>/<file name>` (see {@link classOfEntry}).
 *
 * @throws {InputError} for an entry whose path is absolute or contains `../`, a truncated or
 * corrupt archive; files already written stay in `dest`, so pass a staging folder.
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
 * ```
 */
export async function unzipImagesByClass(zipPath: string, dest: string): Promise<UnzipResult> {
  const result: UnzipResult = { counts: {}, skipped: [] };
  const written = new Set<string>();
  const writes: Promise<unknown>[] = [];
  const failures: unknown[] = [];
  const track = (work: Promise<void>) => writes.push(work.catch((e) => failures.push(e)));
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
      if (escapesFolder(entry.name)) {
        failure ??= new InputError(
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
      const parts: Uint8Array[] = [];
      entry.ondata = (error, data, final) => {
        if (error) {
          failure ??= new InputError(
            `${source}: entry "${entry.name}" is corrupt (${error.message})`,
          );
          return;
        }
        parts.push(data);
        if (!final) return;
        const bytes = concat(parts);
        if (nested) {
          const inner = `${source}!${entry.name}`;
          track(unpack([bytes], inner, zipEntryCount(bytes, inner)));
          return;
        }
        const target = join(className!, basename(entry.name.replaceAll("\\", "/")));
        if (written.has(target)) {
          result.skipped.push(entry.name);
          return;
        }
        written.add(target);
        result.counts[className!] = (result.counts[className!] ?? 0) + 1;
        track(writeFileAtomic(join(dest, target), bytes));
      };
      entry.start();
    });
    unzip.register(UnzipInflate);
    try {
      for await (const chunk of chunks) {
        unzip.push(chunk);
        if (failure) throw failure;
      }
      unzip.push(new Uint8Array(0), true);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${source}: corrupt zip archive (${(e as Error).message})`);
    }
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
  } finally {
    try {
      file.close();
    } catch {
      // The readable stream closes the file when it ends.
    }
  }
  // Nested archives add work while it drains.
  for (let i = 0; i < writes.length; i++) await writes[i];
  if (failures.length > 0) throw failures[0];
  return result;
}
