/**
 * Stage glue for models: which builder makes an architecture (the registry, or a test's own),
 * loading PyTorch `.safetensors` weights into a built model, and reopening a checkpoint.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { BuildOptions } from "../models/architecture.ts";
import { buildModel, getArchitecture } from "../models/registry.ts";
import { readSafetensorsFile } from "../models/safetensors.ts";
import { loadTorchStateDict } from "../models/torch_weights.ts";
import {
  type CheckpointMeta,
  loadWeightsInto,
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
