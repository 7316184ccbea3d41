/**
 * torchvision's DenseNet-121 and -169 (`torchvision.models.densenet`, DenseNet-BC: growth 32,
 * bottleneck width 4 x growth, 64 initial features, no dropout), NHWC, with `classifier`
 * replaced by `nn.Linear(features, numClasses)` as the reference does.
 *
 * `features` is `conv0` 7x7/2 pad 3, `norm0`, `relu0`, `pool0` 3x3/2 pad 1 max, then
 * `denseblock1`..`denseblock4` of `denselayer<k>` (`norm1`, `relu1`, `conv1` 1x1 to 128,
 * `norm2`, `relu2`, `conv2` 3x3 pad 1 to 32), with `transition1`..`transition3` (`norm`,
 * `relu`, `conv` 1x1 halving the width, `pool` 2x2/2 average) between blocks, and `norm5`.
 * Every BatchNorm has torch's default eps 1e-5.
 *
 * A dense layer reads the concatenation of its block's input and every earlier layer's new
 * features: helper `denselayer<k>-cat` builds it by appending layer k−1's output to layer
 * k−1's input (the same values as torch's one `cat` over the list), and `denseblock<n>-cat`
 * appends the last layer's output to form the block's output.
 *
 * After `features`, torchvision's `forward` applies `F.relu` (a function, not a module),
 * then adaptive average pooling and `classifier`. That ReLU is the helper layer
 * `features-relu`, so `torchModuleOutputLayer(model, "features")` answers the output of
 * `features` after its final norm + ReLU: what torch's in-place `F.relu` leaves in the
 * `features` output tensor, and what Grad-CAM-style explainers want. `features.norm5` is the
 * BatchNorm output before the ReLU. The pooling is named `avgpool` as in the other families.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { ROLE_SEPARATOR, type TorchInit, TorchLayers } from "./layers.ts";

interface DenseNetConfig {
  name: string;
  /** Dense layers in denseblock1..denseblock4. */
  blockConfig: readonly [number, number, number, number];
}

const GROWTH_RATE = 32;
const BN_SIZE = 4;
const INIT_FEATURES = 64;

const CONFIGS: readonly DenseNetConfig[] = [
  { name: "densenet121", blockConfig: [6, 12, 24, 16] },
  { name: "densenet169", blockConfig: [6, 12, 32, 32] },
];

/** DenseNet's init loop: `kaiming_normal_` with its default fan-in, Linear biases 0. */
const DENSENET_INIT: TorchInit = { convFan: "fan_in", linearZeroBias: true };

/** norm → ReLU → conv, the unit every dense layer and transition is made of. */
function normReluConv(
  nn: TorchLayers,
  x: tf.SymbolicTensor,
  prefix: string,
  suffix: string,
  outChannels: number,
  kernelPx: number,
): tf.SymbolicTensor {
  const h = nn.activation(
    nn.batchNorm2d(x, `${prefix}.norm${suffix}`),
    `${prefix}.relu${suffix}`,
    "relu",
  );
  return nn.conv2d(h, `${prefix}.conv${suffix}`, {
    outChannels,
    kernelPx,
    paddingPx: (kernelPx - 1) / 2,
  });
}

/** `denseblock<n>` of `numLayers` dense layers; returns the concatenated block output. */
function denseBlock(
  nn: TorchLayers,
  x: tf.SymbolicTensor,
  name: string,
  numLayers: number,
): tf.SymbolicTensor {
  let input = x;
  let newFeatures: tf.SymbolicTensor | undefined;
  for (let k = 1; k <= numLayers; k++) {
    const layerName = `${name}.denselayer${k}`;
    if (newFeatures) input = nn.concat([input, newFeatures], layerName);
    const bottleneck = normReluConv(nn, input, layerName, "1", BN_SIZE * GROWTH_RATE, 1);
    newFeatures = normReluConv(nn, bottleneck, layerName, "2", GROWTH_RATE, 3);
  }
  return nn.concat([input, newFeatures!], name);
}

function buildDenseNet(config: DenseNetConfig, options: BuildOptions): tf.LayersModel {
  const nn = new TorchLayers(options.seed, DENSENET_INIT);
  const input = modelInputNHWC(options.imgSizePx);
  let x = nn.conv2d(input, "features.conv0", {
    outChannels: INIT_FEATURES,
    kernelPx: 7,
    stride: 2,
    paddingPx: 3,
  });
  x = nn.activation(nn.batchNorm2d(x, "features.norm0"), "features.relu0", "relu");
  x = nn.maxPool2dAfterRelu(x, "features.pool0", 3, 2, 1);
  config.blockConfig.forEach((numLayers, i) => {
    x = denseBlock(nn, x, `features.denseblock${i + 1}`, numLayers);
    if (i < config.blockConfig.length - 1) {
      const name = `features.transition${i + 1}`;
      x = normReluConv(nn, x, name, "", Math.floor((x.shape[3] as number) / 2), 1);
      x = nn.avgPool2d(x, `${name}.pool`, 2, 2);
    }
  });
  x = nn.batchNorm2d(x, "features.norm5");
  x = nn.activation(x, `features${ROLE_SEPARATOR}relu`, "relu");
  const logits = nn.linear(nn.globalAvgPool(x, "avgpool"), "classifier", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: config.name });
}

/**
 * DenseNet-121 and -169, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DENSENETS } from "./densenet.ts";
 * assert(DENSENETS.map((a) => a.name).join() === "densenet121,densenet169");
 * ```
 */
export const DENSENETS: readonly ArchitectureSpec[] = CONFIGS.map((config) => ({
  name: config.name,
  description:
    `torchvision ${config.name} (dense layers x [${config.blockConfig.join(", ")}], growth ` +
    `${GROWTH_RATE}), classifier head replaced`,
  headModule: "classifier",
  defaultImgSizePx: 224,
  minImgSizePx: 32,
  build: (options: BuildOptions) => buildDenseNet(config, options),
}));
