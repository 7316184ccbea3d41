/**
 * Every architecture the project can build, by name.
 *
 * Adding a family: write `models/<family>.ts` exporting its {@link ArchitectureSpec}(s), built
 * with `TorchLayers` from `layers.ts` (torch module paths as layer names, so weights load with
 * no per-family code), and append them to {@link ARCHITECTURES} below.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { ArchitectureSpec, BuildOptions } from "./architecture.ts";
import { DENSENETS } from "./densenet.ts";
import { ECGNET } from "./ecgnet.ts";
import { EFFICIENTNETS } from "./efficientnet.ts";
import { MOBILENET_V2 } from "./mobilenet_v2.ts";
import { RESNETS } from "./resnet.ts";
import { VGG16_BN } from "./vgg.ts";

/**
 * The buildable architectures, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ARCHITECTURES } from "./registry.ts";
 * assert(ARCHITECTURES.some((a) => a.name === "resnet18"));
 * ```
 */
export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  ...RESNETS,
  MOBILENET_V2,
  ...DENSENETS,
  VGG16_BN,
  ...EFFICIENTNETS,
  ECGNET,
];

/**
 * The error for `--models` names that are not architectures of the registry, listing the valid
 * ones; `undefined` when every name is known. Stages call it before loading any data.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { unknownModelsError } from "./registry.ts";
 * assert(unknownModelsError(["ecgnet", "resnet18"]) === undefined);
 * assert(unknownModelsError(["ecgnet", "nosuch"])!.message.startsWith("--models nosuch: no such model"));
 * ```
 */
export function unknownModelsError(names: readonly string[]): InputError | undefined {
  const unknown = names.filter((name) => !ARCHITECTURES.some((a) => a.name === name));
  if (unknown.length === 0) return undefined;
  return new InputError(
    `--models ${unknown.join(",")}: no such model; choose from ${
      ARCHITECTURES.map((a) => a.name).join(", ")
    }`,
  );
}

/**
 * The spec registered as `name`.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { getArchitecture } from "./registry.ts";
 * assert(getArchitecture("mobilenet_v2").defaultImgSizePx === 224);
 * ```
 */
export function getArchitecture(name: string): ArchitectureSpec {
  const spec = ARCHITECTURES.find((a) => a.name === name);
  if (!spec) {
    throw new InputError(
      `unknown architecture "${name}"; choose one of: ${
        ARCHITECTURES.map((a) => a.name).join(", ")
      }`,
    );
  }
  return spec;
}

/**
 * Builds architecture `name` with a `numClasses` head for `imgSizePx` x `imgSizePx` NHWC input.
 * Start the tfjs backend first (`startBackend`).
 *
 * @throws {InputError} for an unknown name, a class count below 2, or an input size that is
 * not an integer or too small for the network's downsampling.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { buildModel } from "./registry.ts";
 * import { startBackend } from "../backends/backend.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64 });
 * assert(model.outputs[0].shape.join() === ",4");
 * model.dispose();
 * ```
 */
export function buildModel(name: string, options: BuildOptions): tf.LayersModel {
  const spec = getArchitecture(name);
  const { numClasses, imgSizePx } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new InputError(`${name}: numClasses must be an integer >= 2, got ${numClasses}`);
  }
  if (!Number.isInteger(imgSizePx) || imgSizePx < spec.minImgSizePx) {
    throw new InputError(
      `${name}: image size ${imgSizePx} px is not an integer >= ${spec.minImgSizePx} px, the ` +
        `smallest this network's downsampling allows; use e.g. ${spec.defaultImgSizePx}`,
    );
  }
  return spec.build(options);
}
