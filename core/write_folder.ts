/**
 * A folder a stage writes must be where its name says, and never the project's source code.
 *
 * Deno's `--allow-write=outputs` checks the path as typed, so `outputs/x`, a symbolic link to
 * another folder, would let a stage write there unnoticed; and a task allowed to write `data`
 * once replaced `data/synth/*.ts` with a downloaded data set. Both are refused here, with the way
 * to do what the user meant.
 *
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import { InputError } from "./errors.ts";
import { realPathOfNew } from "./fs.ts";
import { isInsideFolder } from "./paths.ts";

/** A source file directly inside `dir`, or `undefined` (also when `dir` does not exist). */
async function sourceFileIn(dir: string): Promise<string | undefined> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".ts")) return entry.name;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
  return undefined;
}

/**
 * Checks the folder `path` a stage is about to write, given by `flag` (e.g. `--out`), when its
 * name places it inside the project (the working folder): once symbolic links are resolved it
 * must still lie inside the project, and neither it nor a folder above it (below the project
 * root) may hold source files (`.ts`). A folder named outside the project is the user's explicit
 * choice and passes.
 *
 * @throws {InputError} naming the flag, the link's target or the source folder, and the way out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkWriteFolder } from "./write_folder.ts";
 * assert((await checkWriteFolder("--out", "outputs/new/run")) === undefined);
 * await assert.rejects(() => checkWriteFolder("--dest", "core/x"), /holds the project's source/);
 * ```
 */
export async function checkWriteFolder(flag: string, path: string): Promise<void> {
  const project = resolve(".");
  if (!isInsideFolder(resolve(path), project)) return;
  const real = await realPathOfNew(path);
  const realProject = await Deno.realPath(project);
  if (!isInsideFolder(real, realProject)) {
    throw new InputError(
      `${flag} ${path}: a symbolic link leads it to ${real}, outside the project folder; remove ` +
        `the link, or to write there on purpose pass ${flag} ${real} (with deno run ` +
        `--allow-write=${real})`,
    );
  }
  const parts = relative(realProject, real).split(sep).filter((p) => p !== "");
  // The project root itself holds mod.ts, so writing it (an empty relative path) is refused too.
  const folders = parts.length === 0
    ? [realProject]
    : parts.map((_, i) => join(realProject, ...parts.slice(0, i + 1)));
  for (const folder of folders) {
    const source = await sourceFileIn(folder);
    if (source === undefined) continue;
    const name = relative(realProject, folder) || ".";
    throw new InputError(
      `${flag} ${path}: ${name}/ holds the project's source code (${source}), which no stage ` +
        "writes; keep data sets under datasets/ (e.g. datasets/ecg_images) and results under " +
        "outputs/",
    );
  }
}
