/**
 * `deno task export`: write a checkpoint's weights back to PyTorch, as a `.safetensors` state
 * dict with torchvision's key names, layouts and order (float32), which
 * `model.load_state_dict(safetensors.torch.load_file(path))` loads into the torchvision model.
 *
 * @module
 */
import { join } from "node:path";
import { startBackend } from "../backends/backend.ts";
import { getArchitecture } from "../models/registry.ts";
import { writeSafetensorsFile } from "../models/safetensors.ts";
import { exportTorchStateDict } from "../models/torch_weights.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import {
  loadCheckpointModel,
  type ModelBuilder,
  requireOneOf,
  requireSafetensorsName,
} from "../runs/model_source.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `export`. */
export const exportSpec: StageSpec = {
  name: "export",
  summary: "Write a checkpoint's weights as a torchvision-named .safetensors state dict.",
  shared: ["config"],
  flags: {
    model: {
      type: "string",
      valueName: "ARCH",
      help: "the model whose best checkpoint (outputs/checkpoints/<ARCH>_best) to export",
    },
    checkpoint: {
      type: "string",
      valueName: "DIR",
      help: "a checkpoint folder instead of --model's",
    },
    out: {
      type: "string",
      valueName: "FILE",
      help: "the .safetensors file to write (default outputs/exports/<ARCH>.safetensors)",
    },
  },
  details: "The file holds every weight and BatchNorm running statistic in torch layouts " +
    "(float32, state_dict() order, no num_batches_tracked counters); its metadata names the " +
    "architecture (arch), the class names (classes, JSON) and the input size (img_size_px). In " +
    "PyTorch:\n" +
    "  model = torchvision.models.resnet18(num_classes=4)\n" +
    '  model.load_state_dict(safetensors.torch.load_file("outputs/exports/resnet18.safetensors"))\n' +
    "Importing the file again (deno task import) gives the same weights bit for bit.\n" +
    "Example: deno task export --model resnet18 --out outputs/resnet18_ecg.safetensors",
};

/**
 * Runs `export` with parsed arguments; returns the file written and its tensor count.
 *
 * @throws {InputError} when neither or both of `--model` and `--checkpoint` are given, the
 * checkpoint is missing or damaged, or `--out` does not end in `.safetensors`.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { exportSpec, exportWeights } from "./export.ts";
 * const { file } = await exportWeights((await parseStageArgs(exportSpec, ["--model", "ecgnet"]))!);
 * ```
 */
export async function exportWeights(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<{ file: string; tensorCount: number }> {
  requireOneOf("export", flags, "model", "checkpoint");
  const dir = typeof flags.checkpoint === "string"
    ? flags.checkpoint
    : modelPaths(config.out, getArchitecture(String(flags.model)).name).best;
  if (typeof flags.out === "string") requireSafetensorsName(flags.out, "--out");
  await startBackend("cpu"); // Only weights are read back: no backend computes anything here.
  const { model, meta } = await loadCheckpointModel(dir, hooks.buildModel);
  let state;
  try {
    state = await exportTorchStateDict(model);
  } finally {
    model.dispose();
  }
  const file = typeof flags.out === "string"
    ? flags.out
    : join(config.out, "exports", `${meta.model}.safetensors`);
  await writeSafetensorsFile(file, state, {
    format: "pt",
    arch: meta.model,
    classes: JSON.stringify(meta.classes),
    img_size_px: String(meta.imgSizePx),
  });
  console.log(`${meta.model}: ${state.size} tensors with torchvision names -> ${file}`);
  return { file, tensorCount: state.size };
}

if (import.meta.main) {
  Deno.exit(
    await runStage(exportSpec, Deno.args, async (args) => void (await exportWeights(args))),
  );
}
