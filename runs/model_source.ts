/**
 * Stage glue for models: which builder makes an architecture (the registry, or a test's own),
 * loading PyTorch `.safetensors` weights into a built model, and reopening a checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import type { tf } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { InputError } from "../core/errors.ts";
import type { BuildOptions } from "../models/architecture.ts";
import { buildModel, getArchitecture, unknownModelsError } from "../models/registry.ts";
import { type HostTensor, readSafetensorsFile } from "../models/safetensors.ts";
import {
  DATA_PARALLEL_PREFIX,
  loadTorchStateDict,
  stripDataParallelPrefix,
} from "../models/torch_weights.ts";
import {
  type CheckpointMeta,
  loadWeightsInto,
  type ModelPaths,
  modelPaths,
  readCheckpointMeta,
} from "../training/checkpoint_io.ts";

/** Builds an architecture by name; `buildModel` from the registry unless a test passes its own. */
export type ModelBuilder = (name: string, options: BuildOptions) => tf.LayersModel;

/** The registry's builder. */
export const REGISTRY_BUILDER: ModelBuilder = buildModel;

/** What {@link loadTorchWeights} did besides loading. */
export interface LoadedTorchWeights {
  /** Tensors in the state dict (BatchNorm step counters not counted). */
  tensorCount: number;
  /** Set when every key carried `nn.DataParallel`'s `module.` prefix, which was removed. */
  strippedPrefix?: string;
}

/**
 * Loads a torchvision-named state dict into `model` (architecture `name`), first removing a
 * `module.` prefix on every key (saved from `nn.DataParallel`), with a notice. With
 * `keepHeadWhenShapesDiffer`, a head of another class count (an ImageNet checkpoint) is left at
 * its fresh initialisation; without it, that head is an error naming the head tensor and both
 * shapes.
 *
 * @param source the file name for messages.
 * @throws {InputError} naming `source` when the keys or shapes do not fit the model.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { exportTorchStateDict } from "../models/torch_weights.ts";
 * import { loadTorchWeights } from "./model_source.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 2, imgSizePx: 32 });
 * const saved = await exportTorchStateDict(model);
 * const wrapped = new Map([...saved].map(([key, tensor]) => [`module.${key}`, tensor]));
 * const loaded = loadTorchWeights(model, "ecgnet", wrapped, "w.safetensors", false, () => {});
 * assert(loaded.strippedPrefix === "module." && loaded.tensorCount === saved.size);
 * model.dispose();
 * ```
 */
export function loadTorchWeights(
  model: tf.LayersModel,
  name: string,
  tensors: ReadonlyMap<string, HostTensor>,
  source: string,
  keepHeadWhenShapesDiffer: boolean,
  notice: (line: string) => void = console.log,
): LoadedTorchWeights {
  const { stateDict, stripped } = stripDataParallelPrefix(tensors);
  if (stripped) {
    notice(
      `note: ${source}: every key starts with "${DATA_PARALLEL_PREFIX}" (saved from ` +
        `nn.DataParallel or DistributedDataParallel); loading it without that prefix`,
    );
  }
  const numClasses = model.outputs[0].shape.at(-1)!;
  const head = getArchitecture(name).headModule;
  const headKey = `${head}.weight`;
  const headWeight = stateDict.get(headKey);
  const headDiffers = headWeight !== undefined && headWeight.shape[0] !== numClasses;
  if (headDiffers && !keepHeadWhenShapesDiffer) {
    const [fileClasses, ...rest] = headWeight.shape;
    throw new InputError(
      `${source}: head tensor "${headKey}" has shape [${headWeight.shape.join(", ")}] ` +
        `(${fileClasses} classes), the ${name} model for ${numClasses} classes needs ` +
        `[${[numClasses, ...rest].join(", ")}]; give the ${fileClasses} class names in the ` +
        `model's output order (import: --classes a,b,...; other stages: "classes" in a --config ` +
        `file), or fine-tune it for these classes with deno task train --pretrained ${source}`,
    );
  }
  const skipHead = headDiffers && keepHeadWhenShapesDiffer;
  loadTorchStateDict(model, stateDict, { source, skipModules: skipHead ? [head] : [] });
  return {
    tensorCount: stateDict.size,
    ...(stripped ? { strippedPrefix: DATA_PARALLEL_PREFIX } : {}),
  };
}

/**
 * Loads torchvision-named weights from the `.safetensors` file `file` into `model` (architecture
 * `name`), as {@link loadTorchWeights} does.
 *
 * @throws {InputError} when `file` is no `.safetensors` file or its tensors do not fit.
 *
 * @example
 * ```ts ignore
 * await loadSafetensorsWeights(model, "ecgnet", "weights/ecgnet.safetensors", false);
 * ```
 */
export async function loadSafetensorsWeights(
  model: tf.LayersModel,
  name: string,
  file: string,
  keepHeadWhenShapesDiffer: boolean,
): Promise<void> {
  requireSafetensorsName(file, "--weights");
  const { tensors } = await readSafetensorsFile(file);
  loadTorchWeights(model, name, tensors, file, keepHeadWhenShapesDiffer);
}

/**
 * Checks that the file a flag names ends in `.safetensors`.
 *
 * @throws {InputError} naming the flag, the file and the conversion.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requireSafetensorsName } from "./model_source.ts";
 * requireSafetensorsName("resnet18_best.safetensors", "--weights");
 * assert.throws(() => requireSafetensorsName("resnet18_best.pt", "--weights"), /--weights/);
 * ```
 */
export function requireSafetensorsName(file: string, flag: string): void {
  if (!file.endsWith(".safetensors")) {
    throw new InputError(
      `${flag} ${file}: expected a .safetensors file (a torch state dict); convert a .pt with ` +
        `safetensors.torch.save_file(torch.load(path, map_location="cpu"), "model.safetensors")`,
    );
  }
}

/**
 * Rebuilds the architecture a best checkpoint names and loads its weights.
 *
 * @throws {InputError} when the checkpoint is missing, incomplete or does not fit.
 *
 * @example
 * ```ts ignore
 * const { model, meta } = await loadCheckpointModel("outputs/checkpoints/ecgnet_best");
 * ```
 */
export async function loadCheckpointModel(
  dir: string,
  build: ModelBuilder = REGISTRY_BUILDER,
): Promise<{ model: tf.LayersModel; meta: CheckpointMeta }> {
  const meta = await readCheckpointMeta(dir);
  const model = build(meta.model, { numClasses: meta.classes.length, imgSizePx: meta.imgSizePx });
  try {
    await loadWeightsInto(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta };
}

/**
 * Checks that exactly one of the flags `a` and `b` was given.
 *
 * @throws {InputError} naming the stage and both flags.
 *
 * @example
 * ```ts
 * import { requireOneOf } from "./model_source.ts";
 * requireOneOf("predict", { weights: "w.safetensors" }, "weights", "checkpoint");
 * ```
 */
export function requireOneOf(
  stage: string,
  flags: Record<string, unknown>,
  a: string,
  b: string,
): void {
  if ((flags[a] === undefined) === (flags[b] === undefined)) {
    throw new InputError(`deno task ${stage}: pass exactly one of --${a} and --${b}; see --help`);
  }
}

/**
 * The model a stage's `--checkpoint DIR` or `--model NAME --weights FILE` names. A checkpoint
 * brings its own classes and input size; weights take `classes` and `imgSizePx`.
 *
 * @throws {InputError} when neither or both are given, or the files do not fit.
 *
 * @example
 * ```ts ignore
 * const { model } = await modelFromFlags("predict", { checkpoint: "outputs/checkpoints/ecgnet_best" }, ["A", "B"], 224);
 * ```
 */
export async function modelFromFlags(
  stage: string,
  flags: Record<string, unknown>,
  classes: string[],
  imgSizePx: number,
  build: ModelBuilder = REGISTRY_BUILDER,
): Promise<{ model: tf.LayersModel; classes: string[]; imgSizePx: number }> {
  requireOneOf(stage, flags, "weights", "checkpoint");
  if (typeof flags.checkpoint === "string") {
    const { model, meta } = await loadCheckpointModel(flags.checkpoint, build);
    return { model, classes: meta.classes, imgSizePx: meta.imgSizePx };
  }
  if (typeof flags.model !== "string") {
    throw new InputError(`deno task ${stage}: --weights needs --model NAME (the architecture)`);
  }
  const model = build(flags.model, { numClasses: classes.length, imgSizePx });
  try {
    await loadSafetensorsWeights(model, flags.model, flags.weights as string, false);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, classes, imgSizePx };
}

/**
 * The best-checkpoint folders of `models` under the outputs folder `out`, each checked to exist
 * before a stage starts on the first.
 *
 * @throws {InputError} naming the first model without a checkpoint and the train command.
 *
 * @example
 * ```ts ignore
 * const [{ name, paths }] = await requireBestCheckpoints("outputs", ["ecgnet"]);
 * ```
 */
export async function requireBestCheckpoints(
  out: string,
  models: readonly string[],
): Promise<{ name: string; paths: ModelPaths }[]> {
  const checkpoints = models.map((name) => ({ name, paths: modelPaths(out, name) }));
  const missing = [];
  for (const checkpoint of checkpoints) {
    if (!(await statOrUndefined(join(checkpoint.paths.best, "meta.json")))) {
      missing.push(checkpoint);
    }
  }
  // A misspelt name first: "train it first" would send the user the wrong way.
  const unknown = unknownModelsError(missing.map((m) => m.name));
  if (unknown) throw new InputError(`${unknown.message} (nor a checkpoint in ${out})`);
  if (missing.length > 0) {
    const { name, paths } = missing[0];
    throw new InputError(
      `no checkpoint for model ${name} in ${paths.best}; run deno task train --models ${name} first`,
    );
  }
  return checkpoints;
}
