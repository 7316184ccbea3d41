/**
 * Building blocks for torchvision-exact networks in tfjs layers (functional API, NHWC).
 *
 * **Layer names.** A layer that is a torch module carries the module's path as its name
 * (`layer1.0.conv1`, `features.3.conv.1.0`, `fc`), so the weight mapping in
 * `torch_weights.ts` is mechanical and explainers can ask for `layer4` or `features.18.0`.
 * tfjs accepts only `[A-Za-z0-9][-A-Za-z0-9._/]*` and reserves `/` for weight scopes, so a
 * helper layer that torch does not have as a module (the explicit padding, a residual
 * addition) or a second application of one torch module (resnet blocks reuse one `relu`) is
 * named `<torch path>-<role>`: `conv1-pad`, `layer1.0-add`, `layer1.0.relu-2`. Python
 * attribute names never contain `-`, so {@link torchModuleName} recovers the module.
 *
 * **Numerics that differ from Keras defaults.** BatchNorm eps is torch's 1e-5 (tfjs: 1e-3);
 * stride-2 convolutions pad symmetrically with an explicit ZeroPadding2D (tfjs `same` pads only
 * bottom/right for even inputs, shifting every downsampling layer by half a pixel); ReLU6
 * takes torch's derivative (1 only on 0 < x < 6; tfjs' own is 1 on 0 < x <= 6); adaptive
 * average pooling uses torch's overlapping windows (Keras has no adaptive pooling).
 *
 * **Initialisation** follows the loop at the end of each torchvision `__init__`, chosen per
 * family with {@link TorchInit}.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { TORCH_RELU6_GRAD } from "../backends/wasm/wasm_relu6_grad.ts";
import { foldedBatchNormTarget } from "../graph/fold_batchnorm.ts";

/** Separates a torch module path from the role of a helper layer in a tfjs layer name. */
export const ROLE_SEPARATOR = "-";

/** torch's `nn.BatchNorm2d` default eps, used by every family built here. */
export const TORCH_BN_EPS = 1e-5;

/**
 * Keras' momentum is the weight of the old running statistic, torch's (0.1) that of the new
 * batch, so 1 − 0.1 makes training update the running statistics as the reference does.
 */
const KERAS_BN_MOMENTUM = 1 - 0.1;

/**
 * The torch module a tfjs layer stands for: its name up to the role separator.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { torchModuleName } from "./layers.ts";
 * assert(torchModuleName("layer1.0.relu-2") === "layer1.0.relu");
 * assert(torchModuleName("layer1.0.conv1") === "layer1.0.conv1");
 * ```
 */
export function torchModuleName(layerName: string): string {
  const cut = layerName.indexOf(ROLE_SEPARATOR);
  return cut < 0 ? layerName : layerName.slice(0, cut);
}

/**
 * The layer whose output is the output of torch module `torchPath`: the layer of that exact
 * name, or else, among the layers inside the module (`torchPath.…` or `torchPath-…`), the one
 * whose output no other of them consumes (`layer4` → `layer4.1.relu-2`, `features` →
 * `features.18.2`, `layer1.0` → `layer1.0.relu-2`). In a model from `foldBatchNorm`, a folded
 * BatchNorm's path names the convolution it was folded into.
 *
 * @throws {Error} when no layer or more than one final layer belongs to `torchPath`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { torchModuleOutputLayer } from "./layers.ts";
 * await startBackend("cpu");
 * const x = tf.input({ shape: [4] });
 * const a = tf.layers.dense({ units: 2, name: "head.0" }).apply(x) as tf.SymbolicTensor;
 * const b = tf.layers.dense({ units: 2, name: "head.1" }).apply(a) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: b });
 * assert(torchModuleOutputLayer(model, "head").name === "head.1");
 * ```
 */
export function torchModuleOutputLayer(model: tf.LayersModel, torchPath: string): tf.layers.Layer {
  const exact = model.layers.find((layer) => layer.name === torchPath);
  if (exact) return exact;
  const foldedInto = foldedBatchNormTarget(model, torchPath);
  if (foldedInto !== undefined) return model.getLayer(foldedInto);
  const inside = new Set(
    model.layers.filter((layer) =>
      layer.name.startsWith(`${torchPath}.`) ||
      layer.name.startsWith(`${torchPath}${ROLE_SEPARATOR}`)
    ),
  );
  const finals = [...inside].filter((layer) =>
    !layer.outboundNodes.some((node) => inside.has(node.outboundLayer))
  );
  if (finals.length !== 1) {
    throw new Error(
      `${model.name}: torch module "${torchPath}" maps to ${finals.length} final layers` +
        (finals.length ? ` (${finals.map((l) => l.name).join(", ")})` : ""),
    );
  }
  return finals[0];
}

/** A torch `nn.Conv2d` (square kernel, symmetric padding). */
export interface Conv2dSpec {
  outChannels: number;
  kernelPx: number;
  /** Default 1. */
  stride?: number;
  /** Pixels added on every side; default 0. */
  paddingPx?: number;
  /** `groups = channels` in torch; default false (groups = 1). */
  depthwise?: boolean;
  /** Default false: every convolution here is followed by a BatchNorm. */
  bias?: boolean;
}

/** An activation module: `nn.ReLU`, `nn.ReLU6`, `nn.SiLU` or `nn.Sigmoid`. */
export type Activation = "relu" | "relu6" | "silu" | "sigmoid";

/**
 * A family's weight initialisation, as the loop over `self.modules()` at the end of its
 * torchvision `__init__` sets it. Convolution biases always start at 0 and BatchNorm at
 * γ = 1, β = 0, as in every torchvision family.
 */
export interface TorchInit {
  /** `kaiming_normal_` mode of every convolution; default `fan_out`. */
  convFan?: "fan_in" | "fan_out";
  /**
   * Linear weights: torch's own U(±1/√fan_in) (`default`, the default), N(0, std²), or
   * U(±bound).
   */
  linearWeight?: "default" | { normalStd: number } | { uniformBound: number };
  /** Linear biases start at 0 instead of torch's U(±1/√fan_in); default false. */
  linearZeroBias?: boolean;
}

/**
 * ReLU6 with torch's derivative: 1 only where 0 < x < 6 (tfjs' `relu6` gradient also passes
 * x = 6, which would move saliency and IG maps wherever an activation sits exactly at 6). On
 * a backend with the one-pass {@link TORCH_RELU6_GRAD} kernel (wasm) the mask costs one op
 * instead of five.
 */
const relu6TorchGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return {
    value: tf.relu6(x),
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) =>
      tf.getKernel(TORCH_RELU6_GRAD, tf.getBackend())
        ? tf.engine().runKernel(TORCH_RELU6_GRAD, { dy, x: saved }) as tf.Tensor
        : tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(saved, 0), tf.less(saved, 6)), "float32")),
  };
});

/** `nn.ReLU6` as a layer; registered so saved models load again. */
class TorchReLU6 extends tf.layers.Layer {
  static className = "TorchReLU6";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return relu6TorchGrad(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}
tf.serialization.registerClass(TorchReLU6);

/** `nn.SiLU` as a layer: x·σ(x) (tfjs' `swish` multiplies x by its alpha 1 first). */
class TorchSiLU extends tf.layers.Layer {
  static className = "TorchSiLU";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
  }
}
tf.serialization.registerClass(TorchSiLU);

/**
 * torch's `adaptive_avg_pool2d` weights along one axis: output `i` averages inputs
 * floor(i·in/out) .. ceil((i+1)·in/out) − 1, so windows overlap where `out` does not divide `in`.
 */
function adaptivePoolMatrix(inSize: number, outSize: number): number[][] {
  return Array.from({ length: outSize }, (_, i) => {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    return Array.from(
      { length: inSize },
      (_, j) => (j >= start && j < end ? 1 / (end - start) : 0),
    );
  });
}

/** Applies `matrix` [out, in] along `axis` of a rank-4 tensor. */
function poolAlongAxis(x: tf.Tensor, axis: number, matrix: number[][]): tf.Tensor {
  const perm = [axis, ...[0, 1, 2, 3].filter((a) => a !== axis)];
  const moved = tf.transpose(x, perm);
  const [inSize, ...rest] = moved.shape;
  const pooled = tf.matMul(tf.tensor2d(matrix), tf.reshape(moved, [inSize, -1]));
  const inverse: number[] = [];
  perm.forEach((a, i) => (inverse[a] = i));
  return tf.transpose(tf.reshape(pooled, [matrix.length, ...rest]), inverse);
}

/** `nn.AdaptiveAvgPool2d(outputSize)` on NHWC input, exact for every input size. */
class TorchAdaptiveAvgPool2d extends tf.layers.Layer {
  static className = "TorchAdaptiveAvgPool2d";
  readonly outputSize: number;

  constructor(args: tf.serialization.ConfigDict & { name?: string; outputSize: number }) {
    super(args);
    this.outputSize = args.outputSize;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, , , channels] =
      (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [batch, this.outputSize, this.outputSize, channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [, heightPx, widthPx] = x.shape;
    const out = this.outputSize;
    return tf.tidy(() => {
      // The global case (squeeze-excitation) is a plain mean; a matrix product would first
      // transpose the whole activation.
      if (out === 1) return tf.mean(x, [1, 2], true);
      const rows = poolAlongAxis(x, 1, adaptivePoolMatrix(heightPx!, out));
      return poolAlongAxis(rows, 2, adaptivePoolMatrix(widthPx!, out));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outputSize: this.outputSize };
  }
}
tf.serialization.registerClass(TorchAdaptiveAvgPool2d);

/**
 * torchvision's `StochasticDepth(p, "row")`: the identity outside training; in training each
 * sample's residual branch is zeroed with probability `p` and the survivors scaled by 1/(1−p).
 * Like Dropout, the trainer gives {@link StochasticDepth.seed} a fresh value every step (a
 * fixed tfjs seed would draw the same per-sample mask at every step).
 */
export class StochasticDepth extends tf.layers.Layer {
  /** The class name the trainer looks for to reseed these layers. */
  static className = "StochasticDepth";
  /** Probability of dropping a sample's branch. */
  readonly p: number;
  /** Seed (≥ 1) of the next training draw; unseeded when undefined. */
  seed?: number;

  /**
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { tf } from "../deps.ts";
   * import { startBackend } from "../backends/backend.ts";
   * import { StochasticDepth } from "./layers.ts";
   * await startBackend("cpu");
   * const layer = new StochasticDepth({ p: 0.5, name: "sd" });
   * const x = tf.ones([8, 1, 1, 1]);
   * const y = layer.apply(x, { training: true }) as tf.Tensor;
   * assert((y.dataSync() as Float32Array).every((v) => v === 0 || v === 2));
   * ```
   */
  constructor(args: { p: number; name?: string; seed?: number }) {
    super({ name: args.name });
    if (!(args.p >= 0 && args.p <= 1)) throw new Error(`drop probability ${args.p} not in [0, 1]`);
    this.p = args.p;
    this.seed = args.seed;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.p === 0) return x;
    const survival = 1 - this.p;
    return tf.tidy(() => {
      const noise = tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, "float32", this.seed);
      const keep = tf.cast(tf.less(noise, survival), "float32");
      // torchvision divides only when something survives (p = 1 zeroes every branch).
      return tf.mul(x, survival > 0 ? tf.div(keep, survival) : keep);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), p: this.p };
  }
}
tf.serialization.registerClass(StochasticDepth);

/**
 * Applies torch-style layers to symbolic NHWC tensors, naming each layer with its torch module
 * path and initialising weights as the family's torchvision `__init__` does ({@link TorchInit};
 * by default convolutions Kaiming-normal with fan-out, linear layers U(±1/√fan_in), BatchNorm
 * γ = 1, β = 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { TorchLayers } from "./layers.ts";
 * await startBackend("cpu");
 * const nn = new TorchLayers(1);
 * const x = tf.input({ shape: [32, 32, 3] });
 * const y = nn.convBnAct(x, "features.0", { outChannels: 8, kernelPx: 3, stride: 2 }, "relu");
 * assert(y.shape.join() === ",16,16,8");
 * ```
 */
export class TorchLayers {
  #nextSeed: number | undefined;
  readonly #init: TorchInit;

  /**
   * @param seed makes the initial weights reproducible; unseeded when undefined.
   * @param init the family's initialisation; the default is resnet's (Kaiming fan-out
   * convolutions, torch's default Linear).
   */
  constructor(seed?: number, init: TorchInit = {}) {
    // tfjs treats seed 0 as "no seed", so seeds start at 1.
    this.#nextSeed = seed === undefined ? undefined : Math.abs(Math.trunc(seed)) + 1;
    this.#init = init;
  }

  #seed(): number | undefined {
    return this.#nextSeed === undefined ? undefined : this.#nextSeed++;
  }

  /** `nn.Conv2d(in, spec.outChannels, kernelPx, stride, paddingPx, groups, bias)`. */
  conv2d(x: tf.SymbolicTensor, name: string, spec: Conv2dSpec): tf.SymbolicTensor {
    const { outChannels, kernelPx, stride = 1, paddingPx = 0, depthwise = false } = spec;
    const useBias = spec.bias ?? false;
    if (depthwise && x.shape[3] !== outChannels) {
      throw new Error(`${name}: a depthwise convolution keeps its ${x.shape[3]} channels`);
    }
    // At stride 1 with an odd kernel, tfjs' 'same' is exactly torch's symmetric (k−1)/2 padding
    // and saves a padded copy; anywhere else 'same' is asymmetric, so pad explicitly.
    const useSame = paddingPx > 0 && stride === 1 && 2 * paddingPx === kernelPx - 1;
    const input = paddingPx > 0 && !useSame ? this.#pad(x, name, paddingPx) : x;
    const padding = useSame ? "same" : "valid";
    const inPerGroup = depthwise ? 1 : x.shape[3] as number;
    const fan = (this.#init.convFan === "fan_in" ? inPerGroup : outChannels) * kernelPx * kernelPx;
    const kernelInit = tf.initializers.randomNormal({
      mean: 0,
      stddev: Math.sqrt(2 / fan),
      seed: this.#seed(),
    });
    const common = { name, kernelSize: kernelPx, strides: stride, padding, useBias } as const;
    const layer = depthwise
      ? tf.layers.depthwiseConv2d({
        ...common,
        depthMultiplier: 1,
        depthwiseInitializer: kernelInit,
      })
      : tf.layers.conv2d({ ...common, filters: outChannels, kernelInitializer: kernelInit });
    return layer.apply(input) as tf.SymbolicTensor;
  }

  /** `nn.BatchNorm2d(C, eps)` over the channel (last) axis. */
  batchNorm2d(x: tf.SymbolicTensor, name: string, eps = TORCH_BN_EPS): tf.SymbolicTensor {
    return tf.layers.batchNormalization({
      name,
      axis: -1,
      epsilon: eps,
      momentum: KERAS_BN_MOMENTUM,
    }).apply(x) as tf.SymbolicTensor;
  }

  /** `nn.ReLU()`, `nn.ReLU6()`, `nn.SiLU()` or `nn.Sigmoid()`. */
  activation(x: tf.SymbolicTensor, name: string, kind: Activation): tf.SymbolicTensor {
    const layer = {
      relu: () => tf.layers.activation({ name, activation: "relu" }),
      relu6: () => new TorchReLU6({ name }),
      silu: () => new TorchSiLU({ name }),
      sigmoid: () => tf.layers.activation({ name, activation: "sigmoid" }),
    }[kind]();
    return layer.apply(x) as tf.SymbolicTensor;
  }

  /**
   * torchvision's `Conv2dNormActivation`: `name.0` conv with (k−1)/2 padding, `name.1`
   * BatchNorm, `name.2` activation (none when `kind` is null, as for a projection).
   */
  convBnAct(
    x: tf.SymbolicTensor,
    name: string,
    spec: Omit<Conv2dSpec, "paddingPx">,
    kind: Activation | null,
  ): tf.SymbolicTensor {
    const conv = this.conv2d(x, `${name}.0`, { ...spec, paddingPx: (spec.kernelPx - 1) / 2 });
    const normed = this.batchNorm2d(conv, `${name}.1`);
    return kind === null ? normed : this.activation(normed, `${name}.2`, kind);
  }

  /**
   * torchvision's `SqueezeExcitation(C, squeezeChannels, activation)`: `name.avgpool` (global),
   * `name.fc1` and `name.fc2` (1x1 convolutions with bias), `name.activation` between them,
   * `name.scale_activation` (sigmoid); helper `name-mul` scales the input per channel.
   */
  squeezeExcitation(
    x: tf.SymbolicTensor,
    name: string,
    squeezeChannels: number,
    kind: Activation,
  ): tf.SymbolicTensor {
    const channels = x.shape[3] as number;
    let scale = this.adaptiveAvgPool2d(x, `${name}.avgpool`, 1);
    scale = this.conv2d(scale, `${name}.fc1`, {
      outChannels: squeezeChannels,
      kernelPx: 1,
      bias: true,
    });
    scale = this.activation(scale, `${name}.activation`, kind);
    scale = this.conv2d(scale, `${name}.fc2`, { outChannels: channels, kernelPx: 1, bias: true });
    scale = this.activation(scale, `${name}.scale_activation`, "sigmoid");
    return tf.layers.multiply({ name: `${name}${ROLE_SEPARATOR}mul` }).apply([
      scale,
      x,
    ]) as tf.SymbolicTensor;
  }

  /**
   * `nn.MaxPool2d(kernelPx, stride, paddingPx)` for non-negative input only: torch pads with
   * −inf, this pads with 0. After a ReLU every window holds a real value ≥ 0, so the maximum is
   * the same; where a window's real values are all 0 and a padded 0 wins the tie, the gradient
   * is lost to the padding, but the ReLU below would have zeroed it anyway (its input was ≤ 0).
   */
  maxPool2dAfterRelu(
    x: tf.SymbolicTensor,
    name: string,
    kernelPx: number,
    stride: number,
    paddingPx: number,
  ): tf.SymbolicTensor {
    const input = paddingPx > 0 ? this.#pad(x, name, paddingPx) : x;
    return tf.layers.maxPooling2d({ name, poolSize: kernelPx, strides: stride, padding: "valid" })
      .apply(input) as tf.SymbolicTensor;
  }

  /** `nn.AvgPool2d(kernelPx, stride)` (no padding, floor mode). */
  avgPool2d(
    x: tf.SymbolicTensor,
    name: string,
    kernelPx: number,
    stride: number,
  ): tf.SymbolicTensor {
    return tf.layers.averagePooling2d({
      name,
      poolSize: kernelPx,
      strides: stride,
      padding: "valid",
    })
      .apply(x) as tf.SymbolicTensor;
  }

  /**
   * `nn.AdaptiveAvgPool2d(outputSize)`: NHWC → [N, outputSize, outputSize, C] with torch's
   * windows for any input size (the identity when the map already has that size).
   */
  adaptiveAvgPool2d(x: tf.SymbolicTensor, name: string, outputSize: number): tf.SymbolicTensor {
    return new TorchAdaptiveAvgPool2d({ name, outputSize }).apply(x) as tf.SymbolicTensor;
  }

  /** `torch.cat(xs, 1)`: concatenation along channels, as helper layer `<owner>-cat`. */
  concat(xs: tf.SymbolicTensor[], ownerName: string): tf.SymbolicTensor {
    return tf.layers.concatenate({ name: `${ownerName}${ROLE_SEPARATOR}cat`, axis: -1 })
      .apply(xs) as tf.SymbolicTensor;
  }

  /**
   * `StochasticDepth(p, "row")` of residual block `blockName`, as `<block>.stochastic_depth`:
   * the identity outside training.
   */
  stochasticDepth(x: tf.SymbolicTensor, blockName: string, p: number): tf.SymbolicTensor {
    return new StochasticDepth({ name: `${blockName}.stochastic_depth`, p }).apply(
      x,
    ) as tf.SymbolicTensor;
  }

  /** `x + y` (a residual connection), as helper layer `<block>-add`. */
  add(x: tf.SymbolicTensor, y: tf.SymbolicTensor, blockName: string): tf.SymbolicTensor {
    const layer = tf.layers.add({ name: `${blockName}${ROLE_SEPARATOR}add` });
    return layer.apply([x, y]) as tf.SymbolicTensor;
  }

  /** `adaptive_avg_pool2d(x, 1)` then `flatten(x, 1)`: NHWC → [N, C]. */
  globalAvgPool(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.globalAveragePooling2d({ name }).apply(x) as tf.SymbolicTensor;
  }

  /** `nn.Dropout(rate)`: the identity outside training. */
  dropout(x: tf.SymbolicTensor, name: string, rate: number): tf.SymbolicTensor {
    // Unseeded on purpose: a seeded tfjs dropout draws the same mask at every training step.
    return tf.layers.dropout({ name, rate }).apply(x) as tf.SymbolicTensor;
  }

  /** `nn.Linear(in, outFeatures)`, initialised as the family's {@link TorchInit} says. */
  linear(x: tf.SymbolicTensor, name: string, outFeatures: number): tf.SymbolicTensor {
    const { linearWeight = "default", linearZeroBias = false } = this.#init;
    const torchBound = 1 / Math.sqrt(x.shape[x.shape.length - 1] ?? 1);
    const uniform = (bound: number) =>
      tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: this.#seed() });
    const kernelInitializer = linearWeight === "default"
      ? uniform(torchBound)
      : "normalStd" in linearWeight
      ? tf.initializers.randomNormal({
        mean: 0,
        stddev: linearWeight.normalStd,
        seed: this.#seed(),
      })
      : uniform(linearWeight.uniformBound);
    return tf.layers.dense({
      name,
      units: outFeatures,
      kernelInitializer,
      biasInitializer: linearZeroBias ? tf.initializers.zeros() : uniform(torchBound),
    }).apply(x) as tf.SymbolicTensor;
  }

  #pad(x: tf.SymbolicTensor, name: string, paddingPx: number): tf.SymbolicTensor {
    const sides: [number, number] = [paddingPx, paddingPx];
    return tf.layers.zeroPadding2d({ name: `${name}${ROLE_SEPARATOR}pad`, padding: [sides, sides] })
      .apply(x) as tf.SymbolicTensor;
  }
}
