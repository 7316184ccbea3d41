/**
 * torchvision's EfficientNet-B0 and -B1 (`torchvision.models.efficientnet`, v1), NHWC, with
 * `classifier.1` replaced by `nn.Linear(1280, numClasses)` as the reference does.
 *
 * `features.0` is a 3x3/2 conv-BN-SiLU to 32 channels; `features.1`..`features.7` are the
 * seven stages of `_efficientnet_conf` (B1 deepens each by ceil(layers x 1.1)), each block
 * `features.<stage>.<j>` an MBConv: `block.0` 1x1 expansion conv-BN-SiLU (absent at expand
 * ratio 1), then the depthwise k x k conv-BN-SiLU (stride on the first block of a stage),
 * then `SqueezeExcitation` (`avgpool`, `fc1` to max(1, block input / 4) channels, SiLU, `fc2`,
 * sigmoid, multiply), then the 1x1 projection conv-BN without activation. When stride is 1 and
 * the width is unchanged, `stochastic_depth` (drop probability 0.2 x block index / number of
 * blocks, the identity outside training) precedes the residual addition. `features.8` is a
 * 1x1 conv-BN-SiLU to 1280, then `avgpool`, `classifier.0` Dropout(0.2) and `classifier.1`.
 * Every padding is the symmetric (k−1)/2.
 *
 * BatchNorm: B0 and B1 use plain `nn.BatchNorm2d` (eps 1e-5, momentum 0.1); only B5..B7 and
 * the V2 models pass eps 1e-3 to torchvision's `EfficientNet`.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type ArchitectureSpec, type BuildOptions, modelInputNHWC } from "./architecture.ts";
import { TorchLayers } from "./layers.ts";

interface EfficientNetConfig {
  name: string;
  /** Stage depths are ceil(layers x depthMult); the width multiplier of B0 and B1 is 1. */
  depthMult: number;
  dropout: number;
}

/** torchvision's `bneck_conf` rows: expand ratio, kernel, stride, in, out, layers. */
const STAGES = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
] as const;
const STEM_CHANNELS = STAGES[0][3];
/** `lastconv_output_channels` = 4 x the last stage's width. */
const LAST_CHANNELS = 4 * STAGES[STAGES.length - 1][4];
const STOCHASTIC_DEPTH_PROB = 0.2;

const CONFIGS: readonly EfficientNetConfig[] = [
  { name: "efficientnet_b0", depthMult: 1.0, dropout: 0.2 },
  { name: "efficientnet_b1", depthMult: 1.1, dropout: 0.2 },
];

interface MBConvSpec {
  expandRatio: number;
  kernelPx: number;
  stride: number;
  outChannels: number;
  stochasticDepthProb: number;
}

function mbConv(
  nn: TorchLayers,
  x: tf.SymbolicTensor,
  name: string,
  spec: MBConvSpec,
): tf.SymbolicTensor {
  const inChannels = x.shape[3] as number;
  // torchvision rounds to a multiple of 8, which every B0/B1 width times 6 already is.
  const expanded = inChannels * spec.expandRatio;
  let i = 0;
  let h = x;
  if (expanded !== inChannels) {
    h = nn.convBnAct(h, `${name}.block.${i++}`, { outChannels: expanded, kernelPx: 1 }, "silu");
  }
  h = nn.convBnAct(
    h,
    `${name}.block.${i++}`,
    { outChannels: expanded, kernelPx: spec.kernelPx, stride: spec.stride, depthwise: true },
    "silu",
  );
  h = nn.squeezeExcitation(
    h,
    `${name}.block.${i++}`,
    Math.max(1, Math.floor(inChannels / 4)),
    "silu",
  );
  h = nn.convBnAct(h, `${name}.block.${i++}`, { outChannels: spec.outChannels, kernelPx: 1 }, null);
  if (spec.stride !== 1 || inChannels !== spec.outChannels) return h;
  return nn.add(nn.stochasticDepth(h, name, spec.stochasticDepthProb), x, name);
}

function buildEfficientNet(config: EfficientNetConfig, options: BuildOptions): tf.LayersModel {
  // Linear weights U(±1/√out_features), biases 0; convolutions Kaiming fan-out.
  const nn = new TorchLayers(options.seed, {
    linearWeight: { uniformBound: 1 / Math.sqrt(options.numClasses) },
    linearZeroBias: true,
  });
  const input = modelInputNHWC(options.imgSizePx);
  let x = nn.convBnAct(
    input,
    "features.0",
    { outChannels: STEM_CHANNELS, kernelPx: 3, stride: 2 },
    "silu",
  );
  const depths = STAGES.map(([, , , , , layers]) => Math.ceil(layers * config.depthMult));
  const totalBlocks = depths.reduce((a, b) => a + b, 0);
  let blockIndex = 0;
  STAGES.forEach(([expandRatio, kernelPx, stride, , outChannels], stage) => {
    for (let j = 0; j < depths[stage]; j++) {
      x = mbConv(nn, x, `features.${stage + 1}.${j}`, {
        expandRatio,
        kernelPx,
        stride: j === 0 ? stride : 1,
        outChannels,
        stochasticDepthProb: (STOCHASTIC_DEPTH_PROB * blockIndex++) / totalBlocks,
      });
    }
  });
  x = nn.convBnAct(
    x,
    `features.${STAGES.length + 1}`,
    { outChannels: LAST_CHANNELS, kernelPx: 1 },
    "silu",
  );
  x = nn.dropout(nn.globalAvgPool(x, "avgpool"), "classifier.0", config.dropout);
  const logits = nn.linear(x, "classifier.1", options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: config.name });
}

/**
 * EfficientNet-B0 and -B1, for the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EFFICIENTNETS } from "./efficientnet.ts";
 * assert(EFFICIENTNETS.map((a) => a.name).join() === "efficientnet_b0,efficientnet_b1");
 * ```
 */
export const EFFICIENTNETS: readonly ArchitectureSpec[] = CONFIGS.map((config) => ({
  name: config.name,
  description: `torchvision ${config.name} (depth x ${config.depthMult.toFixed(1)}), ` +
    "classifier.1 head replaced",
  headModule: "classifier.1",
  defaultImgSizePx: 224,
  minImgSizePx: 32,
  build: (options: BuildOptions) => buildEfficientNet(config, options),
}));
