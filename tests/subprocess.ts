/**
 * Test helpers that run the command line in a child `deno` process, as users and CI do:
 * with a task's permission flags, killable with SIGKILL, and files compared byte for byte.
 *
 * @module
 */
import { join } from "node:path";
import { listDirSorted } from "../core/fs.ts";
import { writeTinySyntheticSet, writeUntrainedCheckpoint } from "./training_fixtures.ts";

/** The permission flags of the `xai` and `train` tasks, with test data under `outputs/`. */
export const STAGE_FLAGS = [
  "--allow-read=.",
  "--allow-write=outputs",
  "--allow-env=JOB_COMPLETION_INDEX",
];

/** A finished child: its exit code and what it printed. */
export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Spawns `deno <args>` in `cwd` (default the checkout), with `env` added to the child's
 * environment.
 *
 * @example
 * ```ts ignore
 * const { code } = await denoChild(["run", ...STAGE_FLAGS, "mod.ts", "--help"]).output();
 * ```
 */
export function denoChild(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Deno.ChildProcess {
  // By name: the test task's --allow-run=deno grants the `deno` on PATH.
  return new Deno.Command("deno", {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs `deno <args>` to the end.
 *
 * @example
 * ```ts ignore
 * const { code, stderr } = await runDeno(["run", ...STAGE_FLAGS, "mod.ts", "--help"]);
 * ```
 */
export async function runDeno(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<ChildResult> {
  const { code, stdout, stderr } = await denoChild(args, env, cwd).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/**
 * Every file below `root` by relative path (sorted), for byte-for-byte comparison of trees.
 *
 * @example
 * ```ts ignore
 * const files = await readTree("outputs/x", (path) => !path.startsWith("cache/"));
 * ```
 */
export async function readTree(
  root: string,
  include: (relativePath: string) => boolean = () => true,
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (relative: string) => {
    for (const entry of await listDirSorted(join(root, relative))) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (include(path)) files.set(path, await Deno.readFile(join(root, path)));
    }
  };
  await walk("");
  return files;
}

/**
 * The paths where two trees differ (missing on one side or different bytes); empty when equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { treeDifferences } from "./subprocess.ts";
 * const a = new Map([["x", new Uint8Array([1])]]);
 * assert(treeDifferences(a, new Map([["x", new Uint8Array([2])]])).join() === "x");
 * ```
 */
export function treeDifferences(
  a: Map<string, Uint8Array>,
  b: Map<string, Uint8Array>,
): string[] {
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((p) => {
    const x = a.get(p), y = b.get(p);
    return !x || !y || x.length !== y.length || x.some((v, i) => v !== y[i]);
  }).sort();
}

/**
 * Copies folder `from` to `to` (created), recursively.
 *
 * @example
 * ```ts ignore
 * await copyTree("outputs/a/checkpoints", "outputs/b/checkpoints");
 * ```
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for (const entry of await listDirSorted(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/**
 * Spawns `deno <args>` and SIGKILLs it once `ready()` holds (polled every 20 ms); returns
 * whether the kill happened before the child finished on its own.
 *
 * @example
 * ```ts ignore
 * const killed = await killWhen(["run", ...STAGE_FLAGS, "mod.ts", "xai"], async () => (await countFiles(dir)) >= 3);
 * ```
 */
export async function killWhen(
  args: string[],
  ready: () => Promise<boolean>,
): Promise<{ killed: boolean; result: Deno.CommandStatus }> {
  const child = denoChild(args);
  const stdout = child.stdout.pipeTo(new WritableStream());
  const stderr = child.stderr.pipeTo(new WritableStream());
  let finished = false;
  const status = child.status.then((s) => {
    finished = true;
    return s;
  });
  let killed = false;
  while (!finished) {
    if (await ready()) {
      if (!finished) {
        child.kill("SIGKILL");
        killed = true;
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const result = await status;
  await Promise.all([stdout, stderr]);
  return { killed, result };
}

/**
 * Files below `root` whose name ends with `suffix` (0 when `root` does not exist yet).
 *
 * @example
 * ```ts ignore
 * const maps = await countFiles("outputs/explanations", ".raw.npy");
 * ```
 */
export async function countFiles(root: string, suffix: string): Promise<number> {
  let n = 0;
  const walk = async (dir: string) => {
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`);
        else if (e.name.endsWith(suffix)) n++;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  };
  await walk(root);
  return n;
}

/**
 * The set-up of a scale-out test: a tiny synthetic data set and three outputs folders (`one`
 * process, `sharded`, `killed` and resumed), each holding the same untrained checkpoint.
 *
 * @example
 * ```ts ignore
 * const { data, outs } = await scaleOutScenario(dir.path);
 * ```
 */
export async function scaleOutScenario(
  root: string,
): Promise<{ data: string; outs: { one: string; sharded: string; killed: string } }> {
  const data = `${root}/ds`;
  await writeTinySyntheticSet(data);
  const base = `${root}/base`;
  await writeUntrainedCheckpoint(`${base}/checkpoints/ecgnet_best`);
  const outs = { one: `${root}/one`, sharded: `${root}/sharded`, killed: `${root}/killed` };
  for (const out of Object.values(outs)) {
    await copyTree(`${base}/checkpoints`, `${out}/checkpoints`);
  }
  return { data, outs };
}
