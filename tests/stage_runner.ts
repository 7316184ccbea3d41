/**
 * Running `mod.ts <stage> ...` in process for stage tests, capturing what it prints.
 *
 * @module
 */
import { main } from "../mod.ts";

/** Exit code and the text printed to stdout (`out`) and stderr (`err`). */
export interface StageRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `mod.ts <argv>` with console output captured (progress bars still go to stderr).
 *
 * @example
 * ```ts ignore
 * const { code, out } = await runMain(["viz", "--help"]);
 * ```
 */
export async function runMain(argv: string[]): Promise<StageRun> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  console.warn = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}
