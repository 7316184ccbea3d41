/**
 * What a command-line flag is, for the stages (`stages/cli.ts`) and for the library pieces that
 * bring flags of their own to the stages using them (`runs/shard.ts`'s `--shard`,
 * `runs/workers_flag.ts`'s `--workers`), so neither imports the other's room.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import type { FlagSpec } from "./flags.ts";
 * const dpi: FlagSpec = { type: "string", valueName: "N", help: "PNG resolution in dpi" };
 * assert(dpi.type === "string");
 * ```
 *
 * @module
 */

/** One command-line flag: its parseArgs type and its line in `--help`. */
export interface FlagSpec {
  type: "string" | "boolean";
  help: string;
  /** Placeholder shown in help for string flags, e.g. `DIR`. */
  valueName?: string;
}
