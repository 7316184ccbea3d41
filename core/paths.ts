/**
 * Paths read from files (config files, checkpoint manifests, data set lists, zip entries)
 * must stay inside the folder they belong to: a `../` or absolute path in a file someone sent
 * you must not make a stage read or write elsewhere.
 *
 * @module
 */
import { isAbsolute, normalize, relative } from "node:path";

/**
 * True when `path`, taken relative to some folder, leaves it: absolute (POSIX, Windows drive
 * or UNC), or climbing above it with `..` once normalised. Backslashes count as separators.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { escapesFolder } from "./paths.ts";
 * assert(!escapesFolder("train/MI/MI(1).jpg") && !escapesFolder("a/../b.jpg"));
 * assert(escapesFolder("../x") && escapesFolder("/etc/passwd") && escapesFolder("a\\..\\..\\x"));
 * assert(escapesFolder("C:\\x") && escapesFolder(""));
 * ```
 */
export function escapesFolder(path: string): boolean {
  const slashed = path.replaceAll("\\", "/");
  if (slashed.trim() === "" || isAbsolute(slashed) || /^[a-zA-Z]:/.test(slashed)) return true;
  const normalised = normalize(slashed);
  return normalised === ".." || normalised.startsWith("../");
}

/**
 * True when `name` can be one folder or file name as it is: not empty, `.` or `..`, and
 * without `/`, `\\` or a drive prefix. Class and model names become folder names
 * (`<split>/<Class>/`, `checkpoints/<model>_best/`), so they must be plain.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isPlainName } from "./paths.ts";
 * assert(isPlainName("HistoryMI") && isPlainName("resnet18"));
 * assert(!isPlainName("../MI") && !isPlainName("..") && !isPlainName("a\\b"));
 * ```
 */
export function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\\]/.test(name) &&
    !/^[a-zA-Z]:/.test(name);
}

/**
 * True when the absolute path `path` is `folder` or lies below it (both already resolved, e.g.
 * by `Deno.realPath`, so no `..` or link can lead elsewhere).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isInsideFolder } from "./paths.ts";
 * assert(isInsideFolder("/data/set/train/a.png", "/data/set") && isInsideFolder("/data/set", "/data/set"));
 * assert(!isInsideFolder("/data/settings/a.png", "/data/set") && !isInsideFolder("/etc", "/data/set"));
 * ```
 */
export function isInsideFolder(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith("../"));
}
