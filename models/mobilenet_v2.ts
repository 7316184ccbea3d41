/**
 * torchvision's MobileNetV2 (`torchvision.models.mobilenet_v2`, width 1.0), NHWC, with
 * `classifier.1` replaced by `nn.Linear(1280, numClasses)` as the reference does.
 *
 * `features.0` is a 3x3/2 conv-BN-ReLU6 to 32 channels; `features.1`..`features.17` are
 * inverted residuals (`conv.0` 1x1 expansion conv-BN-ReLU6 unless the ratio is 1, then a 3x3
 * depthwise conv-BN-ReLU6, a 1x1 projection conv and its BN with **no** activation; the input
 * is added, again with no activation, when stride is 1 and the width is unchanged);
 * `features.18` is a 1x1 conv-BN-ReLU6 to 1280. Then global average pooling (a function call
 * in torch; the layer is named `avgpool` as in the resnets), `classifier.0` Dropout(0.2)
 * (identity in evaluation) and `classifier.1`.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { TorchLayers } from "./layers.ts";

/** torchvision's table: expansion t, output channels c, repeats n, first stride s. */
const INVERTED_RESIDUAL_SETTING = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;
const STEM_CHANNELS = 32;
const LAST_CHANNELS = 1280;
const DROPOUT_RATE = 0.2;

function invertedResidual(
  nn: TorchLayers,
  x: tf.SymbolicTensor,
  name: string,
  outChannels: number,
  stride: number,
  expandRatio: number,
): tf.SymbolicTensor {
  const inChannels = x.shape[3] as number;
  const hidden = Math.round(inChannels * expandRatio);
  let i = 0;
  let h = x;
  if (expandRatio !== 1) {
    h = nn.convBnAct(h, `${name}.conv.${i++}`, { outChannels: hidden, kernelPx: 1 }, "relu6");
  }
  h = nn.convBnAct(
    h,
    `${name}.conv.${i++}`,
    { outChannels: hidden, kernelPx: 3, stride, depthwise: true },
    "relu6",
  );
  h = nn.conv2d(h, `${name}.conv.${i++}`, { outChannels, kernelPx: 1 });
  h = nn.batchNorm2d(h, `${name}.conv.${i++}`);
  return stride === 1 && inChannels === outChannels ? nn.add(x, h, name) : h;
}

function buildMobileNetV2(options: BuildOptions): tf.LayersModel {
  const nn = new TorchLayers(options.seed);
  const input = modelInputNHWC(options.imgSizePx);
  let x = nn.convBnAct(
    input,
    "features.0",
    { outChannels: STEM_CHANNELS, kernelPx: 3, stride: 2 },
    "relu6",
  );
  let index = 1;
  for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTING) {
    for (let k = 0; k < n; k++) {
      x = invertedResidual(nn, x, `features.${index++}`, c, k === 0 ? s : 1, t);
    }
  }
  x = nn.convBnAct(x, `features.${index}`, { outChannels: LAST_CHANNELS, kernelPx: 1 }, "relu6");
  x = nn.dropout(nn.globalAvgPool(x, "avgpool"), "classifier.0", DROPOUT_RATE);
  const logits = nn.linear(x, "classifier.1", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: "mobilenet_v2" });
}

/**
 * MobileNetV2, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MOBILENET_V2 } from "./mobilenet_v2.ts";
 * assert(MOBILENET_V2.headModule === "classifier.1");
 * ```
 */
export const MOBILENET_V2: ArchitectureSpec = {
  name: "mobilenet_v2",
  description: "torchvision mobilenet_v2 (width 1.0), classifier.1 head replaced",
  headModule: "classifier.1",
  defaultImgSizePx: 224,
  minImgSizePx: 32,
  build: buildMobileNetV2,
};
