/**
 * A folder a stage writes must be where its name says. Deno's `--allow-write=outputs` checks the
 * path as typed, so `outputs/x`, a symbolic link to another folder, would let a stage write
 * there unnoticed; such a folder is refused instead, with the way to write there on purpose.
 *
 * @module
 */
import { resolve } from "node:path";
import { InputError } from "./errors.ts";
import { realPathOfNew } from "./fs.ts";
import { isInsideFolder } from "./paths.ts";

/**
 * Checks that the folder `path`, given by `flag` (e.g. `--out`), stays inside the project folder
 * (the working folder) once symbolic links are resolved, when its name places it there. A
 * folder named outside the project is the user's explicit choice and passes.
 *
 * @throws {InputError} naming the flag, the link's target and the way out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkWriteFolder } from "./write_folder.ts";
 * // No link on the way: passes. (Making a link needs unscoped permissions; the refusal is
 * // tested in tests/stages_test.ts.)
 * assert((await checkWriteFolder("--out", "outputs/new/run")) === undefined);
 * ```
 */
export async function checkWriteFolder(flag: string, path: string): Promise<void> {
  const project = resolve(".");
  if (!isInsideFolder(resolve(path), project)) return;
  const real = await realPathOfNew(path);
  const realProject = await Deno.realPath(project);
  if (isInsideFolder(real, realProject)) return;
  throw new InputError(
    `${flag} ${path}: a symbolic link leads it to ${real}, outside the project folder; remove ` +
      `the link, or to write there on purpose pass ${flag} ${real} (with deno run ` +
      `--allow-write=${real})`,
  );
}
