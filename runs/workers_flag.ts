/**
 * The `--workers N` flag of the stages that spread independent jobs over Web Workers
 * (`core/worker_pool.ts`): its help line and its parsing, one definition for every such stage.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { FlagSpec } from "../core/flags.ts";

/**
 * The `--workers` flag's spec; `jobs` says what the workers do, e.g. `"scoring batches"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { workersFlag } from "./workers_flag.ts";
 * assert(workersFlag("explaining chunks").help.startsWith("Web Workers explaining"));
 * ```
 */
export function workersFlag(jobs: string): FlagSpec {
  return {
    type: "string",
    valueName: "N",
    help: `Web Workers ${jobs} in parallel, each with its own tfjs and model ` +
      "(default: min(2, CPU cores)); 1 runs in this thread",
  };
}

/**
 * The `--workers` count: a positive integer, or min(2, CPU cores) when absent.
 *
 * @throws {InputError} for anything but a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseWorkers } from "./workers_flag.ts";
 * assert(parseWorkers("3") === 3 && parseWorkers(undefined) <= 2);
 * ```
 */
export function parseWorkers(flag: unknown): number {
  if (flag === undefined) return Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 1));
  const workers = Number(flag);
  if (typeof flag !== "string" || !/^\d+$/.test(flag.trim()) || workers < 1) {
    throw new InputError(`--workers ${flag}: give a whole number of workers >= 1, e.g. 2`);
  }
  return workers;
}
