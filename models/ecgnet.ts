/**
 * ecgnet: our own small CNN for the CPU demo (394,132 parameters for 4 classes; ~21 M
 * multiply-adds per 128 px image, about 1/90 of resnet18 at 224 px).
 *
 * Design: five conv 3x3 / stride 2 / pad 1 → BatchNorm → ReLU blocks with 16, 32, 64, 128,
 * 256 channels (each halves the resolution and doubles the width, so every block costs about
 * the same; 128 px → 4 px, receptive field 63 px, enough to span a lead's beat on a 128 px
 * report), global average pooling, Dropout(0.2), a linear head. No residuals: at this depth
 * plain conv-BN trains well and stays cheap for input-gradient explainers. It is written in
 * torchvision's vocabulary so that the same weight interop and Grad-CAM layer naming apply:
 *
 * ```python
 * def ecgnet(num_classes=4):
 *     widths, layers, c_in = [16, 32, 64, 128, 256], [], 3
 *     for c in widths:
 *         layers.append(Conv2dNormActivation(c_in, c, kernel_size=3, stride=2))  # ReLU
 *         c_in = c
 *     return nn.Sequential(OrderedDict(
 *         features=nn.Sequential(*layers),  # features.i.{0 conv, 1 bn, 2 relu}
 *         avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1),
 *         classifier=nn.Sequential(nn.Dropout(0.2), nn.Linear(c_in, num_classes))))
 * ```
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { TorchLayers } from "./layers.ts";

const WIDTHS = [16, 32, 64, 128, 256] as const;
const DROPOUT_RATE = 0.2;

function buildEcgNet(options: BuildOptions): tf.LayersModel {
  const nn = new TorchLayers(options.seed);
  const input = modelInputNHWC(options.imgSizePx);
  let x = input;
  WIDTHS.forEach((outChannels, i) => {
    x = nn.convBnAct(x, `features.${i}`, { outChannels, kernelPx: 3, stride: 2 }, "relu");
  });
  x = nn.dropout(nn.globalAvgPool(x, "avgpool"), "classifier.0", DROPOUT_RATE);
  const logits = nn.linear(x, "classifier.1", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: "ecgnet" });
}

/**
 * ecgnet, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ECGNET } from "./ecgnet.ts";
 * assert(ECGNET.defaultImgSizePx === 128);
 * ```
 */
export const ECGNET: ArchitectureSpec = {
  name: "ecgnet",
  description: "our small CNN for the CPU demo: 5 x (conv 3x3/2, BN, ReLU), GAP, linear; ~0.4 M",
  headModule: "classifier.1",
  defaultImgSizePx: 128,
  minImgSizePx: 32,
  build: buildEcgNet,
};
