/**
 * `deno task import`: turn a PyTorch model's weights (a torchvision-named `state_dict` saved as
 * `.safetensors`) into the checkpoint `train` would have written, so `eval`, `xai`, `quantus`,
 * `viz` and `export` use it as they use a trained one. Its `meta.json` says it was imported, from
 * which file, and that file's SHA-256.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DEFAULT_CONFIG, validateConfig } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { startBackend } from "../backends/backend.ts";
import { openDataset } from "../data/dataset.ts";
import { readFileBytes } from "../data/decode_image.ts";
import { ARCHITECTURES, getArchitecture } from "../models/registry.ts";
import { parseSafetensors } from "../models/safetensors.ts";
import { type CheckpointMeta, modelPaths, writeCheckpoint } from "../training/checkpoint_io.ts";
import { dataIdentity, projectVersion } from "../runs/provenance.ts";
import {
  loadTorchWeights,
  type ModelBuilder,
  REGISTRY_BUILDER,
  requireSafetensorsName,
} from "../runs/model_source.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `import`. */
export const importSpec: StageSpec = {
  name: "import",
  summary: "Make a checkpoint from PyTorch weights (.safetensors) that every stage uses.",
  shared: ["out", "img-size", "config"],
  flags: {
    model: {
      type: "string",
      valueName: "ARCH",
      help: `the architecture the weights belong to: ${
        ARCHITECTURES.map((a) => a.name).join(", ")
      }`,
    },
    weights: {
      type: "string",
      valueName: "FILE",
      help: "torchvision-named state dict as .safetensors (F32, F16, BF16 or F64 tensors)",
    },
    classes: {
      type: "string",
      valueName: "a,b,c",
      help: "class names in the model's output order (default: the config's classes)",
    },
    data: {
      type: "string",
      valueName: "DIR",
      help: "the data set the model is for: its class folders must be --classes; recorded in " +
        "meta.json",
    },
    force: {
      type: "boolean",
      help: "replace a checkpoint of --model already there (its resume state and " +
        "history.csv go too)",
    },
  },
  details: "Writes <out>/checkpoints/<model>_best/ (model.json, weights.bin, meta.json) where " +
    "train puts it; meta.json records imported.file, imported.sha256 and imported.at, epoch 0, " +
    "valAccuracy null and, with --data, the data set (root and fingerprint), which eval, xai and " +
    "quantus then use when given no --data. eval leaves model_performance.csv's training columns " +
    "empty.\n" +
    "A 'module.' prefix on every key (nn.DataParallel) is removed with a notice. The head must " +
    "have one output per class; a head of another size is an error naming both shapes.\n" +
    "Convert a PyTorch checkpoint first (see README, Your own PyTorch model):\n" +
    '  safetensors.torch.save_file(torch.load("resnet50_best.pt", map_location="cpu"), ' +
    '"resnet50_best.safetensors")\n' +
    "Example: deno task import --model resnet50 --weights resnet50_best.safetensors " +
    "--classes Abnormal,HistoryMI,MI,Normal --data datasets/ecg_images",
};

/** A flag the stage cannot do without. */
function requiredFlag(flags: StageArgs["flags"], name: string, example: string): string {
  const value = flags[name];
  if (typeof value !== "string" || value === "") {
    throw new InputError(`deno task import: --${name} is required, e.g. --${name} ${example}`);
  }
  return value;
}

/**
 * The class names of `--classes` (comma-separated), checked as the config checks its classes.
 *
 * @throws {InputError} naming `--classes` for fewer than two, repeated or non-plain names.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { parseClassesFlag } from "./import.ts";
 * assert(parseClassesFlag("MI, Normal", DEFAULT_CONFIG).join() === "MI,Normal");
 * ```
 */
export function parseClassesFlag(
  flag: string,
  config: StageArgs["config"],
): string[] {
  const classes = flag.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return validateConfig({ ...config, classes }, `--classes ${flag}`).classes;
}

/**
 * Runs `import` with parsed arguments; returns the checkpoint folder and its `meta.json`.
 *
 * @throws {InputError} for a missing flag, an unknown architecture, a file that is not a
 * readable `.safetensors` state dict of it (keys, shapes, a head of another class count), a data
 * set whose class folders are not the classes, or a checkpoint already there without `--force`.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { importWeights, importSpec } from "./import.ts";
 * const argv = ["--model", "resnet18", "--weights", "resnet18_best.safetensors"];
 * const { dir, meta } = await importWeights((await parseStageArgs(importSpec, argv))!);
 * ```
 */
export async function importWeights(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<{ dir: string; meta: CheckpointMeta }> {
  const arch = requiredFlag(flags, "model", "resnet50");
  getArchitecture(arch);
  const file = requiredFlag(flags, "weights", `${arch}_best.safetensors`);
  requireSafetensorsName(file, "--weights");
  const classes = typeof flags.classes === "string"
    ? parseClassesFlag(flags.classes, config)
    : config.classes;
  const data = typeof flags.data === "string" ? flags.data : undefined;
  if (data !== undefined) {
    // Opening the test split checks the class folders (or labels.csv) against the classes.
    const dataset = await openDataset(data, { classes, splits: ["test"], seed: config.seed });
    console.log(`data set: ${dataset.root}, ${dataset.samples.length} test images`);
  }
  // Stages given no --data use the data set recorded here, as for a trained checkpoint.
  const dataRecord = data === undefined ? {} : { data: await dataIdentity(data) };

  const paths = modelPaths(config.out, arch);
  const historyFile = join(paths.metrics, "history.csv");
  const previous = [];
  for (const path of [paths.best, paths.last, historyFile]) {
    if (await statOrUndefined(path)) previous.push(path);
  }
  if (previous.length > 0 && flags.force !== true) {
    throw new InputError(
      `${arch} already has ${previous.join(", ")}; pass --force to replace the checkpoint with ` +
        `the imported weights (and remove a resume state and history.csv), or import into ` +
        `another --out folder`,
    );
  }

  const bytes = await readFileBytes(file);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const { tensors } = parseSafetensors(bytes, file);
  await startBackend("cpu"); // Only weights are copied: no backend computes anything here.
  const imgSizePx = config.imgSizePx;
  const model = (hooks.buildModel ?? REGISTRY_BUILDER)(arch, {
    numClasses: classes.length,
    imgSizePx,
  });
  try {
    const loaded = loadTorchWeights(model, arch, tensors, file, false);
    const meta: CheckpointMeta = {
      model: arch,
      classes,
      imgSizePx,
      epoch: 0,
      valAccuracy: null,
      config: { model: arch, data: data ?? null, classes, imgSizePx, weights: file },
      imported: {
        file,
        sha256,
        at: new Date().toISOString(),
        ...(loaded.strippedPrefix ? { strippedPrefix: loaded.strippedPrefix } : {}),
      },
      ...dataRecord,
      version: await projectVersion(),
    };
    await writeCheckpoint(paths.best, model, meta);
    // The resume state and history describe the replaced weights: train would resume them and
    // eval would report their training.
    for (const path of previous.filter((p) => p !== paths.best)) {
      await Deno.remove(path, { recursive: true });
      console.log(`removed ${path} (--force)`);
    }
    console.log(
      `${arch}: imported ${file} (sha256 ${sha256}, ${loaded.tensorCount} tensors, ` +
        `${classes.length} classes: ${classes.join(", ")}, ${imgSizePx} px) -> ${paths.best}`,
    );
    console.log(
      `next: deno task eval --models ${arch} --data ${data ?? "DIR"}` +
        (config.out === DEFAULT_CONFIG.out ? "" : ` --out ${config.out}`),
    );
    return { dir: paths.best, meta };
  } finally {
    model.dispose();
  }
}

if (import.meta.main) {
  Deno.exit(
    await runStage(importSpec, Deno.args, async (args) => void (await importWeights(args))),
  );
}
