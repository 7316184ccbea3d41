/**
 * Shared test helpers: temp folders inside the outputs folder (the only place the test task
 * may write) and the location of the `../shared` fixtures.
 *
 * @module
 */
import { resolve } from "node:path";
import { statOrUndefined } from "../core/fs.ts";

/**
 * A fresh temp folder under `outputs/tmp`, removed by the returned disposer.
 *
 * @example
 * ```ts ignore
 * await using dir = await testDir();
 * await Deno.writeTextFile(`${dir.path}/a.txt`, "x");
 * ```
 */
export async function testDir(): Promise<{ path: string } & AsyncDisposable> {
  await Deno.mkdir("outputs/tmp", { recursive: true });
  const path = await Deno.makeTempDir({ dir: "outputs/tmp" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** The shared fixtures folder beside the checkout (`../shared`). */
export const SHARED_DIR = resolve("../shared");

/**
 * True when `path` exists; tests that need `../shared` use it to skip with a message.
 *
 * @example
 * ```ts ignore
 * const have = await pathExists("../shared/data");
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  return (await statOrUndefined(path)) !== undefined;
}
