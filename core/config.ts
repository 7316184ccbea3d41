/**
 * The one typed run configuration: reference defaults, overridden by a JSON file, then by flags.
 *
 * Validation errors name the source (file or flag), the field, the bad value and what is allowed,
 * so a typo in a config file never silently falls back to a default.
 *
 * @module
 */
import { z } from "../deps.ts";
import { InputError } from "./errors.ts";
import { escapesFolder, isPlainName } from "./paths.ts";
import { describeIssue } from "./schema_issues.ts";

/** Backends a run can ask for; `auto` picks webgpu on a real GPU and wasm otherwise. */
export const BACKEND_NAMES = ["auto", "webgpu", "wasm", "cpu"] as const;

/** What to do with an unreadable image: stop (default) or leave it out and list it. */
export const BAD_IMAGE_POLICIES = ["fail", "skip"] as const;

const positiveInt = z.number().int().positive();

/** Model and class names become folder names, so they may not be paths. */
const plainName = z.string().refine(isPlainName, {
  message: "must be a plain name (not empty, no / or \\, not . or ..)",
});

/** The schema of a config; JSON config files use these field names. */
/** What `convolutions` may name. */
export const CONVOLUTION_LIBRARIES = ["xnnpack", "openblas"] as const;

export const configSchema = z.strictObject({
  /** Dataset root (ImageFolder with train/val/test, or a flat folder with labels.csv). */
  data: z.string().min(1),
  /** Outputs folder; every stage writes only below it. */
  out: z.string().min(1),
  /** Architectures to run, by name. */
  models: z.array(plainName).min(1),
  /** Use at most this many images per split (for quick runs); unset means all. */
  limit: positiveInt.optional(),
  /** Square model input size in pixels. */
  imgSizePx: z.number().int().min(16).max(2048),
  batchSize: positiveInt,
  epochs: positiveInt,
  learningRate: z.number().positive().max(1),
  weightDecay: z.number().min(0).max(1),
  /** Early stopping: epochs without a better validation accuracy before training stops. */
  patience: positiveInt,
  seed: z.number().int().min(1).max(2 ** 31 - 1),
  /** Class names in label order (ImageFolder sorts folder names; so does this default). */
  classes: z.array(plainName).min(2).refine((c) => new Set(c).size === c.length, {
    message: "class names must be unique",
  }),
  /** Apply the reference's training augmentation (translation, rotation, brightness, contrast). */
  augment: z.boolean(),
  /**
   * Grey level (0–255) of the border that augmentation's shifts and rotations uncover. The
   * reference fills with 0 (black), which on a white ECG page is a strong artefact; 255 blends in.
   */
  augmentFillGray: z.number().int().min(0).max(255),
  backend: z.enum(BACKEND_NAMES),
  /**
   * What the wasm backend's convolutions run on: the system's OpenBLAS (the default, about 2x
   * faster; XNNPACK where it is not installed), or tfjs's XNNPACK (see README, Backends).
   */
  convolutions: z.enum(CONVOLUTION_LIBRARIES),
  /**
   * MiB of the wasm heap (4 GiB at most) that batched model passes size their chunks to fill
   * (`backends/heap.ts`, which checks the range).
   */
  heapBudgetMb: positiveInt,
  onBadImage: z.enum(BAD_IMAGE_POLICIES),
});

/** A validated run configuration. */
export type Config = z.infer<typeof configSchema>;

/** The reference pipeline's settings. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  data: "outputs/synthetic",
  out: "outputs",
  models: ["ecgnet"],
  imgSizePx: 224,
  batchSize: 64,
  epochs: 15,
  learningRate: 3e-4,
  weightDecay: 1e-4,
  patience: 5,
  seed: 42,
  classes: ["Abnormal", "HistoryMI", "MI", "Normal"],
  augment: true,
  augmentFillGray: 0,
  backend: "auto",
  convolutions: "openblas",
  heapBudgetMb: 2560,
  onBadImage: "fail",
});

/**
 * Validates `candidate` as a full config; `source` names where its values came from.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG, validateConfig } from "./config.ts";
 * const config = validateConfig({ ...DEFAULT_CONFIG, epochs: 3 }, "flags");
 * assert(config.epochs === 3);
 * try {
 *   validateConfig({ ...DEFAULT_CONFIG, epochs: -1 }, "my.json");
 * } catch (e) {
 *   assert(String(e).includes("epochs"));
 * }
 * ```
 */
export function validateConfig(candidate: unknown, source: string): Config {
  const result = configSchema.safeParse(candidate);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const allowed = Object.keys(configSchema.shape).join(", ");
      return `  unknown field(s) ${
        issue.keys.map((k) => `"${k}"`).join(", ")
      }; allowed: ${allowed}`;
    }
    return `  ${describeIssue(issue, candidate)}`;
  });
  throw new InputError(`${source}: invalid configuration\n${lines.join("\n")}`);
}

/**
 * The config fields that are paths. A config file, unlike a flag the user types, may come from
 * someone else, so its paths must stay inside the working folder.
 */
export const CONFIG_PATH_FIELDS = ["data", "out"] as const;

/**
 * Reads a JSON config file holding any subset of the fields.
 *
 * @throws {InputError} for a missing file, bad JSON, an invalid field, or a path field that is
 * absolute or climbs out of the working folder (`../`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readConfigFile } from "./config.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/c.json`, '{"epochs": 2}');
 * assert((await readConfigFile(`${dir}/c.json`)).epochs === 2);
 * ```
 */
export async function readConfigFile(path: string): Promise<Partial<Config>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`${path}: config file not found; check the --config path`);
    }
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message}); fix the file`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InputError(`${path}: a config file must hold one JSON object of fields`);
  }
  // Validate the file on its own first so its errors name the file, not the merged result.
  const config = validateConfig({ ...DEFAULT_CONFIG, ...parsed }, path);
  for (const field of CONFIG_PATH_FIELDS) {
    if (field in parsed && escapesFolder(config[field])) {
      throw new InputError(
        `${path}: field "${field}": ${JSON.stringify(config[field])} is absolute or leaves the ` +
          `working folder; a config file may only name paths inside it (pass --${field} on the ` +
          "command line to use another folder)",
      );
    }
  }
  return parsed as Partial<Config>;
}

/**
 * Merges defaults < config file < flags and validates the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ epochs: 5 }, { epochs: 7, seed: 3 });
 * assert(config.epochs === 7 && config.seed === 3 && config.imgSizePx === 224);
 * ```
 */
export function resolveConfig(fromFile: Partial<Config>, fromFlags: Partial<Config>): Config {
  const defined = Object.fromEntries(
    Object.entries(fromFlags).filter(([, value]) => value !== undefined),
  );
  return validateConfig({ ...DEFAULT_CONFIG, ...fromFile, ...defined }, "command-line flags");
}
