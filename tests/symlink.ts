/**
 * Making symbolic links in tests. `Deno.symlink` needs unscoped read and write permissions,
 * which the test task does not grant (its writes are scoped to `outputs`), so a `deno eval`
 * child, which runs with all permissions, makes the link.
 *
 * @module
 */
import { resolve } from "node:path";
import { runDeno } from "./subprocess.ts";

/**
 * Makes a symbolic link at `path` pointing to `target`, taken relative to the working folder
 * (the link holds its absolute path).
 *
 * @example
 * ```ts ignore
 * await symlink("/etc", "outputs/tmp/x/etc");
 * ```
 */
export async function symlink(target: string, path: string): Promise<void> {
  const code = `await Deno.symlink(${JSON.stringify(resolve(target))}, ${JSON.stringify(path)});`;
  const result = await runDeno(["eval", code]);
  if (result.code !== 0) throw new Error(`cannot link ${path} -> ${target}: ${result.stderr}`);
}
