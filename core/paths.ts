/**
 * Paths read from files (config files, checkpoint manifests, data set lists, zip entries)
 * must stay inside the folder they belong to: a `../` or absolute path in a file someone sent
 * you must not make a stage read or write elsewhere.
 *
 * @module
 */
import { isAbsolute, normalize } from "node:path";

/**
 * True when `path`, taken relative to some folder, leaves it: absolute (POSIX, Windows drive
 * or UNC), or climbing above it with `..` once normalised. Backslashes count as separators.
 *
 * @example
 * ```ts
 * import { escapesFolder } from "./paths.ts";
 * console.assert(!escapesFolder("train/MI/MI(1).jpg") && !escapesFolder("a/../b.jpg"));
 * console.assert(escapesFolder("../x") && escapesFolder("/etc/passwd") && escapesFolder("a\\..\\..\\x"));
 * console.assert(escapesFolder("C:\\x") && escapesFolder(""));
 * ```
 */
export function escapesFolder(path: string): boolean {
  const slashed = path.replaceAll("\\", "/");
  if (slashed.trim() === "" || isAbsolute(slashed) || /^[a-zA-Z]:/.test(slashed)) return true;
  const normalised = normalize(slashed);
  return normalised === ".." || normalised.startsWith("../");
}
