/**
 * What every stage's command line shares: the common flags, `--help`, config resolution,
 * and turning input errors into one clear line and a non-zero exit (no stack trace).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Config, configSchema, readConfigFile, resolveConfig } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import type { FlagSpec } from "../core/flags.ts";
import { checkWriteFolder } from "../core/write_folder.ts";
import { permissionHint, taskCommand } from "./permission_hint.ts";

/** The shared flags, by name. Stages pick the ones that apply to them. */
export const SHARED_FLAGS = {
  data: { type: "string", valueName: "DIR", help: "dataset root (ImageFolder or labels.csv)" },
  out: { type: "string", valueName: "DIR", help: "outputs folder (default outputs)" },
  models: { type: "string", valueName: "a,b", help: "models to run, comma-separated" },
  limit: { type: "string", valueName: "N", help: "use at most N images per split" },
  "img-size": { type: "string", valueName: "N", help: "model input size in px (default 224)" },
  seed: { type: "string", valueName: "N", help: "random seed (default 42)" },
  config: { type: "string", valueName: "FILE", help: "JSON file with config fields" },
  backend: {
    type: "string",
    valueName: "NAME",
    help: "auto|webgpu|wasm|cpu (default auto: webgpu on a real GPU, else wasm)",
  },
  convolutions: {
    type: "string",
    valueName: "LIB",
    help: "openblas|xnnpack: what wasm convolutions run on (default openblas where installed, " +
      "~2x faster; see README, Backends)",
  },
  "heap-budget-mb": {
    type: "string",
    valueName: "MB",
    help: "MiB of the wasm heap (4 GiB at most) batched model passes may fill (default 2560); " +
      "lower it when a run ends in 'the wasm heap is exhausted'",
  },
  "on-bad-image": {
    type: "string",
    valueName: "POLICY",
    help: "fail|skip: stop at an unreadable image, or leave it out and list it",
  },
} as const satisfies Record<string, FlagSpec>;

/** Name of a shared flag. */
export type SharedFlag = keyof typeof SHARED_FLAGS;

/** A stage's command-line description. */
export interface StageSpec {
  /** The task name, e.g. `data:split`. */
  name: string;
  /** One line saying what the stage does. */
  summary: string;
  /** Shared flags the stage accepts. */
  shared: readonly SharedFlag[];
  /** The stage's own flags. */
  flags?: Record<string, FlagSpec>;
  /** Extra help text: examples, outputs. */
  details?: string;
  /** The stage's own defaults for config fields; a config file and flags still override them. */
  defaults?: Partial<Config>;
}

/** Parsed command line: the resolved config and the stage's own flag values. */
export interface StageArgs {
  config: Config;
  flags: Record<string, string | boolean | undefined>;
  /**
   * Config fields nobody set (no flag, config file or stage default), so a stage may choose
   * them: without `--data`, a stage runs a checkpoint on the data it was trained on. Absent
   * (a caller's own config): every field counts as set.
   */
  defaulted?: readonly (keyof Config)[];
}

const FLAG_TO_FIELD: Record<SharedFlag, keyof Config | undefined> = {
  data: "data",
  out: "out",
  models: "models",
  limit: "limit",
  "img-size": "imgSizePx",
  seed: "seed",
  config: undefined,
  backend: "backend",
  convolutions: "convolutions",
  "heap-budget-mb": "heapBudgetMb",
  "on-bad-image": "onBadImage",
};

/**
 * A numeric flag's value: the number when `raw` is one, else `raw` itself, so that validation
 * reports the text the user typed rather than `NaN`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { numberOrText } from "./cli.ts";
 * assert(numberOrText("3e-4") === 3e-4 && numberOrText("big") === "big");
 * ```
 */
export function numberOrText(raw: string): number | string {
  return /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(raw.trim()) ? Number(raw) : raw;
}

/** The config fields whose flags take a number. */
const NUMERIC_FIELDS: readonly (keyof Config)[] = ["limit", "imgSizePx", "seed", "heapBudgetMb"];

function flagValue(field: keyof Config, raw: string): unknown {
  if (field === "models") return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return NUMERIC_FIELDS.includes(field) ? numberOrText(raw) : raw;
}

/**
 * Checks each flag's value against its config field, so that an error names the flag the user
 * typed and the text they typed (`--img-size "abc": not a number`), not only the field.
 *
 * @param values the flags' values as the config takes them (numbers parsed with
 * {@link numberOrText}), by flag name without `--`.
 * @param fields the config field of each flag.
 * @throws {InputError} listing every bad flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkFlagValues } from "./cli.ts";
 * checkFlagValues({ "img-size": 128 }, { "img-size": "imgSizePx" });
 * assert.throws(
 *   () => checkFlagValues({ "img-size": "abc" }, { "img-size": "imgSizePx" }),
 *   /--img-size "abc": not a number \(config field "imgSizePx"\)/,
 * );
 * ```
 */
export function checkFlagValues(
  values: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, keyof Config>>,
): void {
  const problems = Object.entries(values).flatMap(([flag, value]) => {
    const field = fields[flag];
    if (value === undefined || field === undefined) return [];
    const result = configSchema.shape[field].safeParse(value);
    if (result.success) return [];
    const expectsNumber = result.error.issues[0].code === "invalid_type" &&
      typeof value === "string";
    const why = expectsNumber ? "not a number" : result.error.issues[0].message;
    return [`--${flag} ${JSON.stringify(value)}: ${why} (config field "${field}")`];
  });
  if (problems.length > 0) throw new InputError(problems.join("; "));
}

/**
 * `argv` with a negative number after a string flag joined to it (`--limit -1` becomes
 * `--limit=-1`): Node's parseArgs would read `-1` as an option and answer "argument is
 * ambiguous"; joined, the value reaches validation and its error names the flag.
 */
function joinNegativeValues(argv: readonly string[], stringFlags: ReadonlySet<string>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : undefined;
    if (name !== undefined && stringFlags.has(name) && /^-[\d.]/.test(argv[i + 1] ?? "")) {
      joined.push(`${argv[i]}=${argv[++i]}`);
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

/**
 * The `--help` text of a stage.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { helpText } from "./cli.ts";
 * const text = helpText({ name: "demo", summary: "everything", shared: ["seed"] });
 * assert(text.includes("--seed N"));
 * ```
 */
export function helpText(spec: StageSpec): string {
  const entries: [string, FlagSpec][] = [
    ...spec.shared.map((name): [string, FlagSpec] => [name, SHARED_FLAGS[name]]),
    ...Object.entries(spec.flags ?? {}),
    ["help", { type: "boolean", help: "show this help" }],
  ];
  const left = entries.map(([name, f]) => `--${name}${f.valueName ? ` ${f.valueName}` : ""}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = entries.map(([, f], i) => `  ${left[i].padEnd(width)}${f.help}`);
  return [
    `deno task ${spec.name} [flags]`,
    "",
    spec.summary,
    "",
    "Flags:",
    ...lines,
    ...(spec.details ? ["", spec.details] : []),
    ...(spec.defaults
      ? [
        "",
        `Defaults of this stage: ${
          JSON.stringify(spec.defaults)
        } (a --config file or flags override them)`,
      ]
      : []),
  ].join("\n");
}

/**
 * Parses `argv` for a stage; returns `undefined` when `--help` was asked (help is printed).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseStageArgs } from "./cli.ts";
 * const spec = { name: "x", summary: "y", shared: ["seed", "img-size"] as const };
 * const args = await parseStageArgs(spec, ["--seed", "7", "--img-size", "128"]);
 * assert(args!.config.seed === 7 && args!.config.imgSizePx === 128);
 * ```
 */
export async function parseStageArgs(
  spec: StageSpec,
  argv: readonly string[],
): Promise<StageArgs | undefined> {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const name of spec.shared) options[name] = { type: SHARED_FLAGS[name].type };
  for (const [name, f] of Object.entries(spec.flags ?? {})) options[name] = { type: f.type };
  const stringFlags = new Set(
    Object.entries(options).filter(([, o]) => o.type === "string").map(([n]) => n),
  );
  const args = joinNegativeValues(argv, stringFlags);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new InputError(`deno task ${spec.name}: ${(e as Error).message}; see --help`);
  }
  if (values.help) {
    console.log(helpText(spec));
    return undefined;
  }
  const fromFile = typeof values.config === "string" ? await readConfigFile(values.config) : {};
  const fromFlags: Record<string, unknown> = {};
  const typed: Record<string, unknown> = {};
  const fields: Record<string, keyof Config> = {};
  for (const name of spec.shared) {
    const field = FLAG_TO_FIELD[name];
    const raw = values[name];
    if (field && typeof raw === "string") {
      fromFlags[field] = typed[name] = flagValue(field, raw);
      fields[name] = field;
    }
  }
  checkFlagValues(typed, fields);
  const config = resolveConfig({ ...spec.defaults, ...fromFile }, fromFlags as Partial<Config>);
  if (spec.shared.includes("out")) await checkWriteFolder("--out", config.out);
  const own = Object.fromEntries(Object.keys(spec.flags ?? {}).map((k) => [k, values[k]]));
  const set = { ...spec.defaults, ...fromFile, ...fromFlags };
  const defaulted = (Object.keys(config) as (keyof Config)[]).filter((k) => set[k] === undefined);
  return { config, flags: own, defaulted };
}

/**
 * Runs a stage's `main` with the command line: prints help, or runs and maps errors to an
 * exit code. Input errors print one line; anything else is a bug and keeps its stack.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { runStage } from "./cli.ts";
 * const code = await runStage({ name: "x", summary: "y", shared: [] }, [], async () => {});
 * assert(code === 0);
 * ```
 */
export async function runStage(
  spec: StageSpec,
  argv: readonly string[],
  main: (args: StageArgs) => Promise<void>,
): Promise<number> {
  try {
    const args = await parseStageArgs(spec, argv);
    if (args) await main(args);
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      const message = (e as Error).message;
      const hint = permissionHint(message, spec.name, argv, await taskCommand(spec.name));
      console.error(`error: ${message}\n${hint}`);
      return 1;
    }
    throw e;
  }
}
