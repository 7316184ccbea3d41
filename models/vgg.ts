/**
 * torchvision's VGG-16 with BatchNorm (`torchvision.models.vgg16_bn`), NHWC, with
 * `classifier.6` replaced by `nn.Linear(4096, numClasses)` as the reference does.
 *
 * `features` is torchvision's `nn.Sequential` for configuration "D" with batch norm, numbered
 * as torch numbers it: each 3x3 pad 1 convolution (with bias) is followed by its BatchNorm
 * (eps 1e-5) and ReLU at the next two indices, each "M" is a 2x2/2 max pool at one index
 * (`features.0` conv, `features.1` BN, `features.2` ReLU, ..., `features.6` the first pool,
 * ..., `features.43` the last pool). `avgpool` is `nn.AdaptiveAvgPool2d((7, 7))`: the
 * identity at 224 px, where the map already is 7x7; at any other size it averages torch's
 * (possibly overlapping) windows, so every size from 32 px up runs as in PyTorch.
 *
 * `torch.flatten(x, 1)` reads NCHW, channel-major: helper `avgpool-nchw` transposes the
 * NHWC map before helper `avgpool-flatten`, so `classifier.0`'s weight keeps torch's
 * [4096, 25088] layout and column order. The classifier is `classifier.0` Linear, `.1` ReLU,
 * `.2` Dropout(0.5), `.3` Linear, `.4` ReLU, `.5` Dropout(0.5), `.6` the head.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { ROLE_SEPARATOR, type TorchInit, TorchLayers } from "./layers.ts";

/** torchvision's `cfgs["D"]`: output channels of each convolution, "M" for a max pool. */
const CONFIG_D = [
  64,
  64,
  "M",
  128,
  128,
  "M",
  256,
  256,
  256,
  "M",
  512,
  512,
  512,
  "M",
  512,
  512,
  512,
  "M",
] as const;
const POOLED_SIZE = 7;
const HIDDEN_FEATURES = 4096;
const DROPOUT_RATE = 0.5;

/** VGG's init loop: Kaiming fan-out convolutions, Linear weights N(0, 0.01²), biases 0. */
const VGG_INIT: TorchInit = {
  convFan: "fan_out",
  linearWeight: { normalStd: 0.01 },
  linearZeroBias: true,
};

function buildVgg16Bn(options: BuildOptions): tf.LayersModel {
  const nn = new TorchLayers(options.seed, VGG_INIT);
  const input = modelInputNHWC(options.imgSizePx);
  let x = input;
  let index = 0;
  for (const entry of CONFIG_D) {
    if (entry === "M") {
      x = nn.maxPool2dAfterRelu(x, `features.${index++}`, 2, 2, 0);
      continue;
    }
    x = nn.conv2d(x, `features.${index++}`, {
      outChannels: entry,
      kernelPx: 3,
      paddingPx: 1,
      bias: true,
    });
    x = nn.batchNorm2d(x, `features.${index++}`);
    x = nn.activation(x, `features.${index++}`, "relu");
  }
  x = nn.adaptiveAvgPool2d(x, "avgpool", POOLED_SIZE);
  x = tf.layers.permute({ name: `avgpool${ROLE_SEPARATOR}nchw`, dims: [3, 1, 2] })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: `avgpool${ROLE_SEPARATOR}flatten` }).apply(x) as tf.SymbolicTensor;
  for (const first of [0, 3]) {
    x = nn.linear(x, `classifier.${first}`, HIDDEN_FEATURES);
    x = nn.activation(x, `classifier.${first + 1}`, "relu");
    x = nn.dropout(x, `classifier.${first + 2}`, DROPOUT_RATE);
  }
  const logits = nn.linear(x, "classifier.6", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: "vgg16_bn" });
}

/**
 * VGG-16 with BatchNorm, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { VGG16_BN } from "./vgg.ts";
 * assert(VGG16_BN.headModule === "classifier.6");
 * ```
 */
export const VGG16_BN: ArchitectureSpec = {
  name: "vgg16_bn",
  description: "torchvision vgg16_bn (13 conv-BN-ReLU, 3 linear), classifier.6 head replaced",
  headModule: "classifier.6",
  defaultImgSizePx: 224,
  minImgSizePx: 32,
  build: buildVgg16Bn,
};
