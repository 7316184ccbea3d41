/**
 * Small file-system questions asked in many places, answered one way.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";

/**
 * `Deno.stat`, or `undefined` when nothing is at `path` (other errors still throw).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { statOrUndefined } from "./fs.ts";
 * assert((await statOrUndefined("./no/such/file")) === undefined);
 * ```
 */
export async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * A folder's entries sorted by name in code-point order, as Python's `sorted()` gives
 * torchvision's ImageFolder (so class indices match PyTorch's).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { listDirSorted } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/b`, "");
 * await Deno.writeTextFile(`${dir}/B`, "");
 * assert((await listDirSorted(dir)).map((e) => e.name).join() === "B,b");
 * ```
 */
export async function listDirSorted(path: string): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(path)) entries.push(entry);
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The real path of `path` (every symbolic link resolved), or `undefined` when nothing is there,
 * a dangling link included.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { realPathOrUndefined } from "./fs.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.mkdir(`${dir}/a`);
 * assert((await realPathOrUndefined(`${dir}/a/../a`)) === `${dir}/a`);
 * assert((await realPathOrUndefined(`${dir}/missing`)) === undefined);
 * ```
 */
export async function realPathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * The real path `path` would have once created: its nearest existing ancestor resolved (links
 * followed), the rest appended. For checking where a folder that may not exist yet would go.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { realPathOfNew } from "./fs.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.mkdir(`${dir}/a`);
 * assert((await realPathOfNew(`${dir}/a/../a/b/c`)) === `${dir}/a/b/c`);
 * ```
 */
export async function realPathOfNew(path: string): Promise<string> {
  const absolute = resolve(path);
  for (let existing = absolute;; existing = dirname(existing)) {
    const real = await realPathOrUndefined(existing);
    if (real !== undefined) return join(real, relative(existing, absolute));
    if (dirname(existing) === existing) return absolute;
  }
}

/**
 * Writes all of `bytes` to `file` (one `write` may take only part of them).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeAll } from "./fs.ts";
 * const path = await Deno.makeTempFile();
 * using file = await Deno.open(path, { write: true });
 * await writeAll(file, new Uint8Array(100_000).fill(7));
 * assert((await Deno.stat(path)).size === 100_000);
 * ```
 */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
}
