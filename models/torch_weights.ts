/**
 * PyTorch `state_dict` interop for models built with `TorchLayers`: load torchvision-named
 * tensors into a tfjs model and export them back, in `state_dict()` order.
 *
 * The mapping is mechanical because each weighted layer is named with its torch module path:
 *
 * | tfjs layer | tfjs weights (order) | torch keys | layout change |
 * |---|---|---|---|
 * | Conv2D | kernel HWIO, bias | `weight` OIHW, `bias` | axes (2,3,1,0) to tfjs |
 * | DepthwiseConv2D | depthwise_kernel [kh,kw,C,1], bias | `weight` [C,1,kh,kw], `bias` | axes (2,3,0,1) both ways |
 * | BatchNormalization | gamma, beta, moving_mean, moving_variance | `weight`, `bias`, `running_mean`, `running_var` | none |
 * | Dense | kernel [in,out], bias | `weight` [out,in], `bias` | transpose |
 *
 * `running_mean` / `running_var` are buffers, not parameters, in torch; `num_batches_tracked`
 * counters are ignored when present.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import type { HostTensor } from "./safetensors.ts";

/** torch key → tensor, in `state_dict()` order. */
export type TorchStateDict = Map<string, HostTensor>;

interface TensorRule {
  /** The torch key's last part (`weight`, `running_var`). */
  suffix: string;
  /** Axes permutation from the torch layout to the tfjs one, when they differ. */
  torchToTf?: readonly number[];
  /** A torch parameter (counted by `model.parameters()`) rather than a buffer. */
  parameter: boolean;
}

const OIHW_TO_HWIO = [2, 3, 1, 0];

/** Per tfjs layer class, a rule for each of its weights in `layer.weights` order. */
const RULES: Record<string, readonly TensorRule[]> = {
  Conv2D: [
    { suffix: "weight", torchToTf: OIHW_TO_HWIO, parameter: true },
    { suffix: "bias", parameter: true },
  ],
  DepthwiseConv2D: [
    // [C,1,kh,kw] ↔ [kh,kw,C,1]: this permutation is its own inverse.
    { suffix: "weight", torchToTf: [2, 3, 0, 1], parameter: true },
    { suffix: "bias", parameter: true },
  ],
  BatchNormalization: [
    { suffix: "weight", parameter: true },
    { suffix: "bias", parameter: true },
    { suffix: "running_mean", parameter: false },
    { suffix: "running_var", parameter: false },
  ],
  Dense: [
    { suffix: "weight", torchToTf: [1, 0], parameter: true },
    { suffix: "bias", parameter: true },
  ],
};

/** One tfjs weight and the torch tensor it stands for. */
interface Slot {
  key: string;
  layer: tf.layers.Layer;
  /** Index into `layer.weights`. */
  index: number;
  torchShape: number[];
  rule: TensorRule;
}

function inversePermutation(perm: readonly number[]): number[] {
  const inverse: number[] = [];
  perm.forEach((axis, i) => (inverse[axis] = i));
  return inverse;
}

/** Every torch tensor of `model`, in torch registration (= layer creation) order. */
function slotsOf(model: tf.LayersModel): Slot[] {
  const layers = [...model.layers].sort((a, b) => a.id - b.id);
  return layers.flatMap((layer) => {
    if (layer.weights.length === 0) return [];
    const className = layer.getClassName();
    const rules = RULES[className];
    if (!rules || layer.weights.length > rules.length) {
      throw new Error(
        `${model.name}: layer "${layer.name}" (${className}) has no torch weight mapping; ` +
          `add one to RULES in torch_weights.ts`,
      );
    }
    return layer.weights.map((weight, index) => {
      const rule = rules[index];
      const tfToTorch = rule.torchToTf && inversePermutation(rule.torchToTf);
      const tfShape = weight.shape as number[]; // variables always have a full shape
      const torchShape = tfToTorch ? tfToTorch.map((axis) => tfShape[axis]) : tfShape;
      return { key: `${layer.name}.${rule.suffix}`, layer, index, torchShape, rule };
    });
  });
}

/**
 * The torch `state_dict()` keys of `model` (without `num_batches_tracked`), in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "./registry.ts";
 * import { torchStateDictKeys } from "./torch_weights.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32 });
 * assert(torchStateDictKeys(model)[0] === "features.0.0.weight");
 * model.dispose();
 * ```
 */
export function torchStateDictKeys(model: tf.LayersModel): string[] {
  return slotsOf(model).map((slot) => slot.key);
}

/**
 * `sum(p.numel() for p in model.parameters())` of the torch twin: weights and biases,
 * not BatchNorm running statistics, whether or not a layer is frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "./registry.ts";
 * import { countTorchParameters } from "./torch_weights.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32 });
 * assert(countTorchParameters(model) === 394_132);
 * model.dispose();
 * ```
 */
export function countTorchParameters(model: tf.LayersModel): number {
  return slotsOf(model)
    .filter((slot) => slot.rule.parameter)
    .reduce((sum, slot) => sum + slot.torchShape.reduce((a, b) => a * b, 1), 0);
}

/** The key prefix `nn.DataParallel` and `DistributedDataParallel` put before every module path. */
export const DATA_PARALLEL_PREFIX = "module.";

/**
 * The state dict without the `module.` prefix that a model wrapped in `nn.DataParallel` (or
 * `DistributedDataParallel`) saves before every key; `stripped` says whether it was there. Only a
 * prefix on every key is removed: a dict where some keys lack it was not saved from a wrapper, and
 * loading it reports the keys as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stripDataParallelPrefix } from "./torch_weights.ts";
 * const bias = { shape: [1], data: new Float32Array([0.5]) };
 * const { stateDict, stripped } = stripDataParallelPrefix(new Map([["module.fc.bias", bias]]));
 * assert(stripped && [...stateDict.keys()].join() === "fc.bias");
 * ```
 */
export function stripDataParallelPrefix(
  stateDict: ReadonlyMap<string, HostTensor>,
): { stateDict: ReadonlyMap<string, HostTensor>; stripped: boolean } {
  const keys = [...stateDict.keys()];
  if (keys.length === 0 || !keys.every((key) => key.startsWith(DATA_PARALLEL_PREFIX))) {
    return { stateDict, stripped: false };
  }
  const unwrapped = new Map(
    [...stateDict].map(([key, tensor]) => [key.slice(DATA_PARALLEL_PREFIX.length), tensor]),
  );
  return { stateDict: unwrapped, stripped: true };
}

/** What {@link loadTorchStateDict} may leave alone. */
export interface LoadTorchOptions {
  /** A file name for error messages. */
  source?: string;
  /**
   * torch module paths (`fc`, `classifier.1`) whose tensors are neither loaded nor required:
   * e.g. keep a fresh 4-class head while loading an ImageNet checkpoint's backbone.
   */
  skipModules?: readonly string[];
}

function listSome(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).join(", ");
  return `${keys.length} (${shown}${keys.length > 5 ? ", ..." : ""})`;
}

/**
 * Copies a torchvision-named state dict into `model` (all weights, BatchNorm running
 * statistics included), converting OIHW / depthwise / linear layouts to tfjs'. Everything is
 * checked before anything is written, so a failed load leaves the model unchanged.
 *
 * @throws {InputError} naming `source`: missing and unexpected keys (first few and counts),
 * or a tensor whose shape differs from the model's (both shapes, torch layout).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "./registry.ts";
 * import { exportTorchStateDict, loadTorchStateDict } from "./torch_weights.ts";
 * await startBackend("cpu");
 * const a = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const b = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 2 });
 * loadTorchStateDict(b, await exportTorchStateDict(a));
 * const [wa, wb] = [a, b].map((m) => m.getLayer("classifier.1").getWeights()[0].dataSync()[0]);
 * assert(wa === wb);
 * a.dispose();
 * b.dispose();
 * ```
 */
export function loadTorchStateDict(
  model: tf.LayersModel,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: LoadTorchOptions = {},
): void {
  const source = options.source ?? "state dict";
  const skipped = (key: string) =>
    (options.skipModules ?? []).some((module) => key.startsWith(`${module}.`));
  const slots = slotsOf(model).filter((slot) => !skipped(slot.key));
  const expected = new Set(slots.map((slot) => slot.key));
  const missing = slots.map((slot) => slot.key).filter((key) => !stateDict.has(key));
  const unexpected = [...stateDict.keys()].filter((key) =>
    !expected.has(key) && !key.endsWith("num_batches_tracked") && !skipped(key)
  );
  if (missing.length || unexpected.length) {
    throw new InputError(
      `${source}: keys do not match ${model.name}: ${listSome(missing)} missing, ` +
        `${listSome(unexpected)} unexpected; was it saved from another architecture?`,
    );
  }
  for (const { key, torchShape } of slots) {
    const { shape, data } = stateDict.get(key)!;
    if (shape.join() !== torchShape.join()) {
      throw new InputError(
        `${source}: tensor "${key}" has shape [${shape.join(", ")}], ${model.name} expects ` +
          `[${torchShape.join(", ")}]; check the architecture and numClasses it was saved with ` +
          `(or skip the head with skipModules)`,
      );
    }
    if (data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new InputError(
        `${source}: tensor "${key}" holds ${data.length} values, shape [${shape.join(", ")}]`,
      );
    }
  }
  const byLayer = Map.groupBy(slots, (slot) => slot.layer);
  for (const [layer, layerSlots] of byLayer) {
    // Slots come in `layer.weights` order, and a skipped module skips whole layers.
    const values = tf.tidy(() =>
      layerSlots.map(({ key, torchShape, rule }) => {
        const torchTensor = tf.tensor(stateDict.get(key)!.data, torchShape);
        return rule.torchToTf ? tf.transpose(torchTensor, [...rule.torchToTf]) : torchTensor;
      })
    );
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * The model's weights as a torchvision-named state dict (torch layouts, `state_dict()` order,
 * no `num_batches_tracked`), ready for `writeSafetensorsFile`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "./registry.ts";
 * import { exportTorchStateDict } from "./torch_weights.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32 });
 * const state = await exportTorchStateDict(model);
 * assert(state.get("features.0.0.weight")!.shape.join() === "16,3,3,3");
 * model.dispose();
 * ```
 */
export async function exportTorchStateDict(model: tf.LayersModel): Promise<TorchStateDict> {
  const state: TorchStateDict = new Map();
  for (const slot of slotsOf(model)) {
    const torchTensor = tf.tidy(() => {
      const value = slot.layer.weights[slot.index].read();
      const { torchToTf } = slot.rule;
      return torchToTf ? tf.transpose(value, inversePermutation(torchToTf)) : value.clone();
    });
    // `data()`, not `dataSync()`: on webgpu a synchronous read of GPU data throws.
    const data = (await torchTensor.data()) as Float32Array;
    torchTensor.dispose();
    state.set(slot.key, { shape: slot.torchShape, data });
  }
  return state;
}
