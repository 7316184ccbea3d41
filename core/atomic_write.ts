/**
 * Atomic file writes: a temp file in the same folder, flushed to disk, then a rename.
 *
 * A reader (or a resumed run after `kill -9`) sees either the old file or the whole new
 * one, never a torn write; parent folders are created on demand. The temp file is synced
 * (fsync) before the rename, so that after a power loss or a crash of the machine the name
 * never points at a file whose data had not reached the disk (a rename can be persisted before
 * the data written ahead of it).
 *
 * @module
 */
import { dirname } from "node:path";
import { writeAll } from "./fs.ts";

/**
 * Writes `data` to `path` atomically and durably (written, synced, renamed), creating parent
 * folders.
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
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      await writeAll(file, typeof data === "string" ? new TextEncoder().encode(data) : data);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
