/**
 * torchvision's ResNet-18/34/50/101 (`torchvision.models.resnet`), NHWC, with the `fc` head
 * replaced by `nn.Linear(features, numClasses)` as the reference does.
 *
 * Layout as torchvision: `conv1` 7x7/2 pad 3, `bn1`, `relu`, `maxpool` 3x3/2 pad 1, four
 * stages `layer1`..`layer4` of BasicBlocks (18, 34) or Bottlenecks (50, 101; stride on the 3x3
 * conv, "ResNet v1.5"), `avgpool`, `fc`. A block adds its shortcut before its last ReLU; the
 * shortcut is `downsample.0` (1x1 conv) + `downsample.1` (BN) when stride or width changes.
 * Layers are created in torch registration order so that exported state dicts list keys in
 * `state_dict()` order.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { type Conv2dSpec, ROLE_SEPARATOR, TorchLayers } from "./layers.ts";

type BlockKind = "basic" | "bottleneck";

interface ResNetConfig {
  name: string;
  block: BlockKind;
  /** Blocks in layer1..layer4. */
  blocksPerStage: readonly [number, number, number, number];
}

/** Output channels of a block = planes × expansion. */
const EXPANSION: Record<BlockKind, number> = { basic: 1, bottleneck: 4 };
const STAGE_PLANES = [64, 128, 256, 512] as const;

const CONFIGS: readonly ResNetConfig[] = [
  { name: "resnet18", block: "basic", blocksPerStage: [2, 2, 2, 2] },
  { name: "resnet34", block: "basic", blocksPerStage: [3, 4, 6, 3] },
  { name: "resnet50", block: "bottleneck", blocksPerStage: [3, 4, 6, 3] },
  { name: "resnet101", block: "bottleneck", blocksPerStage: [3, 4, 23, 3] },
];

/** One residual block `name` (e.g. `layer2.0`); returns its output after the final ReLU. */
function residualBlock(
  nn: TorchLayers,
  x: tf.SymbolicTensor,
  name: string,
  kind: BlockKind,
  planes: number,
  stride: number,
): tf.SymbolicTensor {
  const outChannels = planes * EXPANSION[kind];
  // The 3x3 convolutions carry the stride (v1.5); a Bottleneck wraps its 3x3 in two 1x1s.
  const convs: Conv2dSpec[] = kind === "basic"
    ? [
      { outChannels: planes, kernelPx: 3, stride, paddingPx: 1 },
      { outChannels, kernelPx: 3, paddingPx: 1 },
    ]
    : [
      { outChannels: planes, kernelPx: 1 },
      { outChannels: planes, kernelPx: 3, stride, paddingPx: 1 },
      { outChannels, kernelPx: 1 },
    ];
  let out = x;
  convs.forEach((spec, i) => {
    out = nn.conv2d(out, `${name}.conv${i + 1}`, spec);
    out = nn.batchNorm2d(out, `${name}.bn${i + 1}`);
    // One `relu` module is applied after every BN but the last, and again after the addition.
    if (i < convs.length - 1) out = nn.activation(out, reluName(name, i + 1), "relu");
  });
  let shortcut = x;
  if (stride !== 1 || x.shape[3] !== outChannels) {
    shortcut = nn.conv2d(x, `${name}.downsample.0`, { outChannels, kernelPx: 1, stride });
    shortcut = nn.batchNorm2d(shortcut, `${name}.downsample.1`);
  }
  return nn.activation(nn.add(out, shortcut, name), reluName(name, convs.length), "relu");
}

/** The k-th application (from 1) of block `name`'s shared `relu` module. */
function reluName(blockName: string, k: number): string {
  return k === 1 ? `${blockName}.relu` : `${blockName}.relu${ROLE_SEPARATOR}${k}`;
}

function buildResNet(config: ResNetConfig, options: BuildOptions): tf.LayersModel {
  const nn = new TorchLayers(options.seed);
  const input = modelInputNHWC(options.imgSizePx);
  let x = nn.conv2d(input, "conv1", { outChannels: 64, kernelPx: 7, stride: 2, paddingPx: 3 });
  x = nn.activation(nn.batchNorm2d(x, "bn1"), "relu", "relu");
  x = nn.maxPool2dAfterRelu(x, "maxpool", 3, 2, 1);
  config.blocksPerStage.forEach((blocks, stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      x = residualBlock(nn, x, `layer${stage + 1}.${b}`, config.block, STAGE_PLANES[stage], stride);
    }
  });
  const logits = nn.linear(nn.globalAvgPool(x, "avgpool"), "fc", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: config.name });
}

/**
 * ResNet-18, -34, -50 and -101, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { RESNETS } from "./resnet.ts";
 * assert(RESNETS.map((a) => a.name).join() === "resnet18,resnet34,resnet50,resnet101");
 * ```
 */
export const RESNETS: readonly ArchitectureSpec[] = CONFIGS.map((config) => ({
  name: config.name,
  description:
    `torchvision ${config.name} (${config.block === "basic" ? "BasicBlock" : "Bottleneck"}` +
    ` x [${config.blocksPerStage.join(", ")}]), fc head replaced`,
  headModule: "fc",
  defaultImgSizePx: 224,
  minImgSizePx: 32,
  build: (options: BuildOptions) => buildResNet(config, options),
}));
