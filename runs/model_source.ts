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
import { buildModel, getArchitecture } from "../models/registry.ts";
import { readSafetensorsFile } from "../models/safetensors.ts";
import { loadTorchStateDict } from "../models/torch_weights.ts";
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

/**
 * Loads torchvision-named weights from `file` into `model` (architecture `name`). With
 * `keepHeadWhenShapesDiffer`, a file whose classifier has another class count (an ImageNet
 * checkpoint) loads everything but the head, which keeps its fresh initialisation.
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
  if (!file.endsWith(".safetensors")) {
    throw new InputError(`${file}: expected a .safetensors file (torch state dict)`);
  }
  const { tensors } = await readSafetensorsFile(file);
  const numClasses = model.outputs[0].shape.at(-1);
  const head = getArchitecture(name).headModule;
  const headWeight = tensors.get(`${head}.weight`);
  const skipHead = keepHeadWhenShapesDiffer && headWeight !== undefined &&
    headWeight.shape[0] !== numClasses;
  loadTorchStateDict(model, tensors, { source: file, skipModules: skipHead ? [head] : [] });
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
  for (const { name, paths } of checkpoints) {
    if (!(await statOrUndefined(join(paths.best, "meta.json")))) {
      throw new InputError(
        `no checkpoint for model ${name} in ${paths.best}; run deno task train --models ${name} first`,
      );
    }
  }
  return checkpoints;
}
