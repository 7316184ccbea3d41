/**
 * Atomic file writes: a temp file in the same folder, then a rename.
 *
 * A reader (or a resumed run after `kill -9`) sees either the old file or the whole new
 * one, never a torn write; parent folders are created on demand.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Writes `data` to `path` atomically, creating parent folders.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a/b.txt`, "hello");
 * assert(await Deno.readTextFile(`${dir}/a/b.txt`) === "hello");
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data);
    else await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
