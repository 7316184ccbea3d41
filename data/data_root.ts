/**
 * Reading a data folder through symbolic links: a linked image or class folder counts like a
 * real one as long as it resolves inside the data folder; one that leads outside is refused, so
 * a data set (or a `labels.csv` someone sent you) cannot make a stage read files elsewhere. Both
 * layouts and `data:split` read their folders this way.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { listDirSorted, realPathOrUndefined } from "../core/fs.ts";
import { isInsideFolder } from "../core/paths.ts";

/** A folder entry with symbolic links followed: a link counts as what it leads to. */
export interface ResolvedEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * A folder's entries in name order ({@link listDirSorted}) with symbolic links followed, so a
 * linked image or class folder counts like a real one, as long as it stays inside the folder
 * `root`.
 *
 * @param realRoot `root`'s real path (`Deno.realPath`).
 * @throws {InputError} for a link that resolves outside `root` (naming both places) or leads
 * nowhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { listDirResolved } from "./data_root.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.mkdir(`${root}/B`);
 * await Deno.writeTextFile(`${root}/a.png`, "");
 * const entries = await listDirResolved(root, root, root);
 * assert(entries.map((e) => `${e.name}:${e.isFile}`).join() === "B:false,a.png:true");
 * ```
 */
export async function listDirResolved(
  dir: string,
  root: string,
  realRoot: string,
): Promise<ResolvedEntry[]> {
  const entries: ResolvedEntry[] = [];
  for (const entry of await listDirSorted(dir)) {
    const path = join(dir, entry.name);
    if (!entry.isSymlink) {
      entries.push({ name: entry.name, isFile: entry.isFile, isDirectory: entry.isDirectory });
      continue;
    }
    const real = await realPathInside(path, root, realRoot);
    if (real === undefined) {
      throw new InputError(
        `${path}: symbolic link to something that does not exist; remove it or restore its target`,
      );
    }
    const info = await Deno.stat(real);
    entries.push({ name: entry.name, isFile: info.isFile, isDirectory: info.isDirectory });
  }
  return entries;
}

/**
 * The real path of `path`, which must lie inside the data folder `root` (real path `realRoot`);
 * `undefined` when nothing is there.
 *
 * @throws {InputError} when symbolic links lead `path` outside `root`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { realPathInside } from "./data_root.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/a.png`, "");
 * assert((await realPathInside(`${root}/a.png`, root, root)) === `${root}/a.png`);
 * const inner = `${root}/inner`;
 * await Deno.mkdir(inner);
 * await assert.rejects(() => realPathInside(`${inner}/../a.png`, inner, inner), /outside the data folder/);
 * ```
 */
export async function realPathInside(
  path: string,
  root: string,
  realRoot: string,
): Promise<string | undefined> {
  const real = await realPathOrUndefined(path);
  if (real !== undefined && !isInsideFolder(real, realRoot)) {
    throw new InputError(
      `${path}: a symbolic link leads it to ${real}, outside the data folder ${root}; ` +
        "copy the file into the data folder, or point --data at a folder that holds both",
    );
  }
  return real;
}
