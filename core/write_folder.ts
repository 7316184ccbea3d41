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
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "./errors.ts";
import { realPathOfNew, statOrUndefined } from "./fs.ts";
import { isInsideFolder } from "./paths.ts";

/** The folders of the project's checkout that stages may write: results and data sets. */
export const WRITABLE_FOLDERS = ["outputs", "datasets"] as const;

/** The checkout this module runs from; `undefined` when it runs from a URL (no source on disk). */
const CHECKOUT = import.meta.url.startsWith("file:")
  ? fileURLToPath(new URL("..", import.meta.url))
  : undefined;

/** `path`'s real path ({@link realPathOfNew}), or its plain absolute path where reading is denied. */
async function realOrAbsolute(path: string): Promise<string> {
  try {
    return await realPathOfNew(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return resolve(path);
    }
    throw e;
  }
}

/** The deepest folder or file on `path`'s way up that exists (`path` itself where it does). */
async function nearestExisting(path: string): Promise<string> {
  let existing = path;
  while ((await statOrUndefined(existing)) === undefined && dirname(existing) !== existing) {
    existing = dirname(existing);
  }
  return existing;
}

/**
 * Checks the folder `path` a stage is about to write, given by `flag` (e.g. `--out`):
 *
 * - when its name places it inside the working folder, symbolic links may not lead it out;
 * - inside the project's own checkout it must lie under one of {@link WRITABLE_FOLDERS}, never in
 *   a folder of the source (`data/` holds the loader's code, not data sets). A new folder at the
 *   checkout's top is no source: writing there meets Deno's own permission error, which the
 *   stages' `--allow-write=outputs` raises first (least privilege is the outer wall).
 *
 * A folder named outside both is the user's explicit choice and passes.
 *
 * @throws {InputError} naming the flag, the link's target or the source folder, and the way out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkWriteFolder } from "./write_folder.ts";
 * assert((await checkWriteFolder("--out", "outputs/new/run")) === undefined);
 * await assert.rejects(() => checkWriteFolder("--dest", "data/synth"), /source tree/);
 * ```
 */
export async function checkWriteFolder(flag: string, path: string): Promise<void> {
  const real = await realOrAbsolute(path);
  const project = resolve(".");
  if (isInsideFolder(resolve(path), project)) {
    const realProject = await realOrAbsolute(project);
    if (!isInsideFolder(real, realProject)) {
      throw new InputError(
        `${flag} ${path}: a symbolic link leads it to ${real}, outside the project folder; ` +
          `remove the link, or to write there on purpose pass ${flag} ${real} (with deno run ` +
          `--allow-write=${real})`,
      );
    }
  }
  if (
    CHECKOUT !== undefined && isInsideFolder(real, CHECKOUT) &&
    !WRITABLE_FOLDERS.some((folder) => isInsideFolder(real, join(CHECKOUT, folder))) &&
    resolve(await nearestExisting(real)) !== resolve(CHECKOUT)
  ) {
    throw new InputError(
      `${flag} ${path}: ${relative(CHECKOUT, real) || "."} is in the project's source tree, ` +
        `which no stage writes; inside the project, stages write only under ` +
        `${WRITABLE_FOLDERS.map((f) => `${f}/`).join(" and ")}: keep data sets under datasets/ ` +
        "(e.g. datasets/ecg_images) and results under outputs/",
    );
  }
}
