/**
 * Which layer a Grad-CAM-style explainer reads: by default the output of the network's last
 * feature block, which is what the CAM papers mean; `last-conv`, the reference pipeline's
 * choice (the last `nn.Conv2d` module, before its BatchNorm), for comparison; or any torch
 * module path.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { torchModuleName, torchModuleOutputLayer } from "../models/layers.ts";

/** `--layer` value for the architecture's default: its last feature block. */
export const DEFAULT_LAYER = "default";
/** `--layer` value for the last convolution in the model's layer order. */
export const LAST_CONV_LAYER = "last-conv";

/**
 * The torch module whose output is each architecture's last feature block: resnet's `layer4`;
 * densenet's `features` (after its final norm + ReLU, layer `features-relu`); vgg16_bn's
 * `features` (the last conv block, ending in its max-pool, as pytorch-grad-cam's
 * `model.features[-1]`); the last feature stage of mobilenet_v2, efficientnet and ecgnet.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CAM_MODULES } from "./target_layers.ts";
 * assert(DEFAULT_CAM_MODULES.resnet50 === "layer4");
 * ```
 */
export const DEFAULT_CAM_MODULES: Readonly<Record<string, string>> = {
  resnet18: "layer4",
  resnet34: "layer4",
  resnet50: "layer4",
  resnet101: "layer4",
  densenet121: "features",
  densenet169: "features",
  vgg16_bn: "features",
  mobilenet_v2: "features",
  efficientnet_b0: "features",
  efficientnet_b1: "features",
  ecgnet: "features",
};

/** Layer classes that are torch `nn.Conv2d` modules (a depthwise one is a Conv2d with groups). */
const CONV_CLASSES = new Set(["Conv2D", "DepthwiseConv2D"]);

/** Torch module paths of at most two levels (`layer4`, `layer4.1`), for error messages. */
function shallowModulePaths(model: tf.LayersModel): string[] {
  const paths = new Set<string>();
  for (const layer of model.layers) {
    if (layer.getClassName() === "InputLayer") continue;
    const parts = torchModuleName(layer.name).split(".");
    paths.add(parts[0]);
    if (parts.length > 1) paths.add(parts.slice(0, 2).join("."));
  }
  return [...paths];
}

function validLayers(model: tf.LayersModel): string {
  const fallback = DEFAULT_CAM_MODULES[model.name];
  const lastConv = model.layers.findLast((l) => CONV_CLASSES.has(l.getClassName()));
  return `${DEFAULT_LAYER}${fallback ? ` (${fallback})` : ""}, ${LAST_CONV_LAYER}` +
    `${lastConv ? ` (${lastConv.name})` : ""}, or a torch module path of ${model.name}: ` +
    `${shallowModulePaths(model).join(", ")}, or a module inside them (e.g. ${
      lastConv?.name ?? "features.0"
    })`;
}

/**
 * The layer whose output `layer` names: {@link DEFAULT_LAYER}, {@link LAST_CONV_LAYER} or a
 * torch module path (`layer4`, `layer4.1.conv2`, `features.18.0`) resolved by
 * `torchModuleOutputLayer`. The output must be a spatial NHWC map.
 *
 * @throws {InputError} for an unknown layer, a model without a default or a convolution, or
 * a layer whose output is not [N, h, w, C]; the message lists the valid choices.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { buildModel } from "../models/registry.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { resolveCamLayer } from "./target_layers.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64 });
 * assert(resolveCamLayer(model, "default").name === "features.4.2");
 * assert(resolveCamLayer(model, "last-conv").name === "features.4.0");
 * model.dispose();
 * ```
 */
export function resolveCamLayer(model: tf.LayersModel, layer: string): tf.layers.Layer {
  let resolved: tf.layers.Layer | undefined;
  if (layer === LAST_CONV_LAYER) {
    resolved = model.layers.findLast((l) => CONV_CLASSES.has(l.getClassName()));
  } else {
    const path = layer === DEFAULT_LAYER ? DEFAULT_CAM_MODULES[model.name] : layer;
    try {
      resolved = path === undefined ? undefined : torchModuleOutputLayer(model, path);
    } catch {
      // No layer or several final layers: not a module of this model; reported below.
    }
  }
  if (!resolved) {
    throw new InputError(
      `${model.name} has no layer "${layer}" for Grad-CAM; choose ${validLayers(model)}`,
    );
  }
  const shape = (resolved.output as tf.SymbolicTensor).shape;
  if (shape.length !== 4) {
    throw new InputError(
      `layer "${layer}" of ${model.name} (${resolved.name}) outputs [${shape.join(", ")}], not ` +
        `a spatial map [N, h, w, C]; choose ${validLayers(model)}`,
    );
  }
  return resolved;
}
