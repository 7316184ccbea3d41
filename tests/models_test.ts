import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import {
  ROLE_SEPARATOR,
  TORCH_BN_EPS,
  TorchLayers,
  torchModuleName,
  torchModuleOutputLayer,
} from "../models/layers.ts";
import { ARCHITECTURES, buildModel, getArchitecture } from "../models/registry.ts";
import { countTorchParameters, torchStateDictKeys } from "../models/torch_weights.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

await startBackend("wasm");

/**
 * `sum(p.numel() for p in model.parameters())` of torchvision's builders with a 4-class head:
 * the 1000-class `num_params` of torchvision's weight docs, minus the old head
 * (in x 1000 + 1000), plus the new one (in x 4 + 4).
 */
const TORCH_PARAMETERS_4_CLASSES: Record<string, number> = {
  resnet18: 11_689_512 - (512 * 1000 + 1000) + (512 * 4 + 4), // 11,178,564
  resnet34: 21_797_672 - (512 * 1000 + 1000) + (512 * 4 + 4), // 21,286,724
  resnet50: 25_557_032 - (2048 * 1000 + 1000) + (2048 * 4 + 4), // 23,516,228
  resnet101: 44_549_160 - (2048 * 1000 + 1000) + (2048 * 4 + 4), // 42,508,356
  mobilenet_v2: 3_504_872 - (1280 * 1000 + 1000) + (1280 * 4 + 4), // 2,228,996
  densenet121: 7_978_856 - (1024 * 1000 + 1000) + (1024 * 4 + 4), // 6,957,956
  densenet169: 14_149_480 - (1664 * 1000 + 1000) + (1664 * 4 + 4), // 12,491,140
  vgg16_bn: 138_365_992 - (4096 * 1000 + 1000) + (4096 * 4 + 4), // 134,285,380
  efficientnet_b0: 5_288_548 - (1280 * 1000 + 1000) + (1280 * 4 + 4), // 4,012,672
  efficientnet_b1: 7_794_184 - (1280 * 1000 + 1000) + (1280 * 4 + 4), // 6,518,308
  // Ours: convs 9 x (3·16 + 16·32 + 32·64 + 64·128 + 128·256), BN 2 x 496, head 256 x 4 + 4.
  ecgnet: 9 * (3 * 16 + 16 * 32 + 32 * 64 + 64 * 128 + 128 * 256) + 2 * 496 + 256 * 4 + 4,
};

/**
 * torchvision `state_dict()` sizes without `num_batches_tracked`: the fixtures' counts, and for
 * the others 4 per BatchNorm plus 1 per convolution (2 with bias) and 2 per Linear.
 */
const STATE_DICT_TENSORS: Record<string, number> = {
  resnet18: 102,
  mobilenet_v2: 262,
  // conv0 + norm0, 58 or 82 dense layers of 2 BN + 2 convs, 3 transitions, norm5, classifier.
  densenet121: 5 + 58 * 10 + 3 * 5 + 4 + 2,
  densenet169: 5 + 82 * 10 + 3 * 5 + 4 + 2,
  vgg16_bn: 13 * (2 + 4) + 3 * 2,
  // Stem and head 5 each; MBConv 14 (dw conv-BN, SE 4, projection conv-BN) + 5 when expanding.
  efficientnet_b0: 5 + 14 + 15 * 19 + 5 + 2,
  efficientnet_b1: 5 + 2 * 14 + 21 * 19 + 5 + 2,
};

const BUILD_LIMIT_MS = 20_000;

// One build per architecture (vgg16_bn allocates 134 M parameters) serves every check.
for (const { name, minImgSizePx } of ARCHITECTURES) {
  Deno.test(`${name}: torchvision's parameter count, torch eps and names, [N, 4] logits`, () => {
    const started = performance.now();
    // The smallest size: it must build and run, and builds fastest.
    const model = buildModel(name, { numClasses: 4, imgSizePx: minImgSizePx, seed: 1 });
    const buildMs = performance.now() - started;
    try {
      assert(buildMs < BUILD_LIMIT_MS, `${name} took ${buildMs.toFixed(0)} ms to build`);
      for (const layer of model.layers) {
        if (layer.getClassName() === "BatchNormalization") {
          assertEquals(layer.getConfig().epsilon, TORCH_BN_EPS, `${name} ${layer.name}`);
        }
        if (layer.weights.length > 0) {
          assert(!layer.name.includes(ROLE_SEPARATOR), `${name}: weighted helper ${layer.name}`);
        }
      }
      assertEquals(countTorchParameters(model), TORCH_PARAMETERS_4_CLASSES[name]);
      const trainable = model.trainableWeights.reduce(
        (sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]),
        0,
      );
      assertEquals(trainable, TORCH_PARAMETERS_4_CLASSES[name], "trainable weights");
      if (name in STATE_DICT_TENSORS) {
        assertEquals(torchStateDictKeys(model).length, STATE_DICT_TENSORS[name]);
      }
      const shape = tf.tidy(() =>
        (model.predict(tf.zeros([3, minImgSizePx, minImgSizePx, 3])) as tf.Tensor).shape
      );
      assertEquals(shape, [3, 4]);
    } finally {
      model.dispose();
    }
  });
}

Deno.test("torch module outputs are found by name, containers by their last layer", () => {
  const resnet = buildModel("resnet18", { numClasses: 4, imgSizePx: 64 });
  const mobilenet = buildModel("mobilenet_v2", { numClasses: 4, imgSizePx: 64 });
  try {
    const outputOf = (model: tf.LayersModel, path: string) =>
      torchModuleOutputLayer(model, path).name;
    assertEquals(outputOf(resnet, "layer4.1.conv2"), "layer4.1.conv2");
    assertEquals(outputOf(resnet, "layer4"), `layer4.1.relu${ROLE_SEPARATOR}2`);
    assertEquals(outputOf(resnet, "layer2.0"), `layer2.0.relu${ROLE_SEPARATOR}2`);
    assertEquals(outputOf(mobilenet, "features"), "features.18.2");
    assertEquals(outputOf(mobilenet, "features.2"), "features.2.conv.3");
    assertEquals(outputOf(mobilenet, "features.3"), `features.3${ROLE_SEPARATOR}add`);
    assertThrows(() => outputOf(resnet, "layer9"), Error, "0 final layers");
    assertEquals(torchModuleName(`layer1.0.relu${ROLE_SEPARATOR}2`), "layer1.0.relu");
  } finally {
    resnet.dispose();
    mobilenet.dispose();
  }
});

Deno.test("stride-2 convolutions pad symmetrically, as torch does (not TF 'same')", async () => {
  const nn = new TorchLayers(1);
  const input = tf.input({ shape: [4, 4, 1] });
  const output = nn.conv2d(input, "conv", { outChannels: 1, kernelPx: 3, stride: 2, paddingPx: 1 });
  const model = tf.model({ inputs: input, outputs: output });
  const kernel = tf.ones([3, 3, 1, 1]);
  model.getLayer("conv").setWeights([kernel]);
  const y = tf.tidy(() => model.predict(tf.ones([1, 4, 4, 1])) as tf.Tensor);
  // Window sums over a 4x4 of ones, padded one pixel on every side: corners see 2x2, edges 2x3.
  assertEquals(Array.from(await y.data()), [4, 6, 6, 9]);
  tf.dispose([kernel, y]);
  model.dispose();
});

Deno.test("ReLU6 passes the gradient only where 0 < x < 6, as torch's hardtanh", async () => {
  const nn = new TorchLayers();
  const input = tf.input({ shape: [5] });
  const model = tf.model({ inputs: input, outputs: nn.activation(input, "relu6", "relu6") });
  const x = tf.tensor2d([[-1, 0, 3, 6, 7]]);
  const [y, dx] = tf.tidy(() => [
    model.predict(x) as tf.Tensor,
    tf.grad((v: tf.Tensor) => tf.sum(model.apply(v) as tf.Tensor))(x),
  ]);
  assertEquals(Array.from(await y.data()), [0, 0, 3, 6, 6]);
  assertEquals(Array.from(await dx.data()), [0, 0, 1, 0, 0]);
  tf.dispose([x, y, dx]);
  model.dispose();
});

Deno.test("the same seed builds the same weights", async () => {
  const firstKernel = async (seed: number) => {
    const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed });
    const values = await model.getLayer("features.0.0").getWeights()[0].data();
    model.dispose();
    return Array.from(values);
  };
  assertEquals(await firstKernel(7), await firstKernel(7));
  assert((await firstKernel(7)).join() !== (await firstKernel(8)).join(), "seeds 7 and 8 agree");
});

Deno.test("unknown names and bad sizes are InputErrors that say what is valid", () => {
  const error = assertThrows(
    () => buildModel("resnet19", { numClasses: 4, imgSizePx: 224 }),
    InputError,
    "resnet19",
  );
  for (const { name } of ARCHITECTURES) assert(error.message.includes(name), error.message);
  assertThrows(() => buildModel("resnet18", { numClasses: 4, imgSizePx: 16 }), InputError, ">= 32");
  assertThrows(() => buildModel("ecgnet", { numClasses: 4, imgSizePx: 64.5 }), InputError, "64.5");
  assertThrows(() => buildModel("ecgnet", { numClasses: 1, imgSizePx: 64 }), InputError, ">= 2");
  assertEquals(getArchitecture("resnet50").headModule, "fc");
});
