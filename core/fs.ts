/**
 * Small file-system questions asked in many places, answered one way.
 *
 * @module
 */

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
