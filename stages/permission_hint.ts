/**
 * What to tell a user whom Deno's permissions stopped. Each task reads the project (and
 * `../shared`) and writes `outputs`; a path elsewhere fails with Deno's "Requires read access".
 * `deno task` passes no extra permission flags, so "run again with --allow-read" cannot be
 * followed through it: the hint spells out the task's own `deno run` line with the path added.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { isInsideFolder } from "../core/paths.ts";

/** What Deno denied: `read` or `write` access to `path`. */
interface Denied {
  kind: "read" | "write";
  path: string;
}

function denied(message: string): Denied | undefined {
  const match = /Requires (read|write) access to "([^"]+)"/.exec(message);
  return match ? { kind: match[1] as Denied["kind"], path: match[2] } : undefined;
}

/** `arg` quoted for a POSIX shell where it needs it. */
function shellQuote(arg: string): string {
  return /^[\w./=:,@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The folder to grant: the value of a path flag (`--data DIR`, `--out DIR`, ...) that holds the
 * denied path, as the user typed it, else the denied path's folder.
 */
function folderToGrant(path: string, argv: readonly string[]): string {
  const values = argv.flatMap((arg, i) => {
    if (arg.startsWith("--") && arg.includes("=")) return [arg.slice(arg.indexOf("=") + 1)];
    return arg.startsWith("--") && i + 1 < argv.length ? [argv[i + 1]] : [];
  });
  const holder = values.find((v) => v !== "" && isInsideFolder(resolve(path), resolve(v)));
  return holder ?? dirname(path);
}

/**
 * `command` (a task's `deno run ...` line) with `folder` added to its `--allow-<kind>` list.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { withPermission } from "./permission_hint.ts";
 * const line = "deno run --allow-read=.,../shared/data --allow-write=outputs stages/train.ts";
 * assert(withPermission(line, "read", "/data/ecg") ===
 *   "deno run --allow-read=.,../shared/data,/data/ecg --allow-write=outputs stages/train.ts");
 * assert(withPermission("deno run stages/status.ts", "write", "/x") === "deno run --allow-write=/x stages/status.ts");
 * assert(withPermission("A=1 deno run x.ts", "read", "/d") === "A=1 deno run --allow-read=/d x.ts");
 * ```
 */
export function withPermission(command: string, kind: "read" | "write", folder: string): string {
  const flag = new RegExp(`--allow-${kind}=(\\S+)`);
  if (flag.test(command)) return command.replace(flag, `--allow-${kind}=$1,${folder}`);
  return command.replace(/\bdeno run /, `deno run --allow-${kind}=${folder} `);
}

/**
 * The lines to print after Deno's permission error `message` in task `task` run with `argv`: the
 * task's exact `deno run` line (from `deno.json`, in `taskCommand`) with the denied folder added,
 * or, where that cannot be built, what to do in words.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { permissionHint } from "./permission_hint.ts";
 * const hint = permissionHint(
 *   'Requires read access to "/data/ecg/train", run again with the --allow-read flag',
 *   "data:check",
 *   ["--data", "/data/ecg"],
 *   "deno run --allow-read=. --allow-write=outputs stages/data_check.ts",
 * );
 * assert(hint.includes("  deno run --allow-read=.,/data/ecg --allow-write=outputs stages/data_check.ts --data /data/ecg"));
 * ```
 */
export function permissionHint(
  message: string,
  task: string,
  argv: readonly string[],
  taskCommand: string | undefined,
): string {
  const what = denied(message);
  const general = `deno task ${task} may read only the project folder (and ../shared where it ` +
    "says so) and write only under outputs/ and datasets/.";
  const instead = what?.kind === "write"
    ? "or pass an --out inside the project"
    : "or copy the data under ./datasets";
  // A task may set environment variables first (`NAME=value deno run ...`); a shell takes them.
  if (!what || !/^(\w+=\S* )*deno run /.test(taskCommand ?? "")) {
    return `${general} Run the stage with deno run and a matching --allow-read or --allow-write ` +
      `flag, ${instead}.`;
  }
  const folder = folderToGrant(what.path, argv);
  const line = [withPermission(taskCommand!, what.kind, folder), ...argv.map(shellQuote)].join(" ");
  return `${general} deno task passes no extra permissions; to let it ${what.kind} ${folder}, ` +
    `run its command with that folder added:\n  ${line}\n${instead}.`;
}

/**
 * The `deno run ...` command of task `task` in `./deno.json`, or `undefined` when there is none
 * (or it cannot be read, as when the project runs from a URL).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { taskCommand } from "./permission_hint.ts";
 * assert((await taskCommand("status"))?.includes("stages/status.ts"));
 * assert((await taskCommand("no-such-task")) === undefined);
 * ```
 */
export async function taskCommand(task: string): Promise<string | undefined> {
  try {
    const tasks = JSON.parse(await Deno.readTextFile("deno.json")).tasks ?? {};
    const entry = tasks[task];
    const command = typeof entry === "string" ? entry : entry?.command;
    return typeof command === "string" ? command : undefined;
  } catch {
    // Only a hint is at stake, in the middle of reporting another error: without the file, the
    // hint says what to do in words.
    return undefined;
  }
}
