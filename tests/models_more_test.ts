/**
 * DenseNet, VGG-16-BN and EfficientNet: torchvision's `state_dict()` keys in order, torch
 * shapes, weight round trips, outputs at 224 and 128 px, and the layers they added
 * (adaptive average pooling, SiLU, stochastic depth, channel-major flattening).
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import {
  ROLE_SEPARATOR,
  StochasticDepth,
  TorchLayers,
  torchModuleOutputLayer,
} from "../models/layers.ts";
import { buildModel } from "../models/registry.ts";
import {
  exportTorchStateDict,
  loadTorchStateDict,
  type TorchStateDict,
  torchStateDictKeys,
} from "../models/torch_weights.ts";
import { layersOfClass } from "../training/layers_of_class.ts";
import { assert, assertEquals } from "./assert.ts";

await startBackend("wasm");

const bn = (path: string) =>
  ["weight", "bias", "running_mean", "running_var"].map((s) => `${path}.${s}`);

/** torchvision's DenseNet `state_dict()` keys, written out from its module tree. */
function denseNetKeys(blockConfig: number[]): string[] {
  const keys = ["features.conv0.weight", ...bn("features.norm0")];
  blockConfig.forEach((layers, i) => {
    for (let k = 1; k <= layers; k++) {
      const p = `features.denseblock${i + 1}.denselayer${k}`;
      keys.push(...bn(`${p}.norm1`), `${p}.conv1.weight`, ...bn(`${p}.norm2`), `${p}.conv2.weight`);
    }
    const t = `features.transition${i + 1}`;
    if (i < 3) keys.push(...bn(`${t}.norm`), `${t}.conv.weight`);
  });
  return [...keys, ...bn("features.norm5"), "classifier.weight", "classifier.bias"];
}

/** torchvision's vgg16_bn keys: its Sequential puts the 13 convolutions at these indices. */
function vgg16BnKeys(): string[] {
  const convIndices = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40];
  return [
    ...convIndices.flatMap((
      i,
    ) => [`features.${i}.weight`, `features.${i}.bias`, ...bn(`features.${i + 1}`)]),
    ...[0, 3, 6].flatMap((i) => [`classifier.${i}.weight`, `classifier.${i}.bias`]),
  ];
}

/** torchvision's EfficientNet v1 keys for the given blocks per stage. */
function efficientNetKeys(depths: number[]): string[] {
  const convBn = (p: string) => [`${p}.0.weight`, ...bn(`${p}.1`)];
  const keys = convBn("features.0");
  depths.forEach((blocks, s) => {
    for (let j = 0; j < blocks; j++) {
      const p = `features.${s + 1}.${j}.block`;
      // Stage 1 has expand ratio 1: no expansion conv, so the depthwise conv is block.0.
      const i = s === 0 ? 0 : 1;
      if (i === 1) keys.push(...convBn(`${p}.0`));
      keys.push(...convBn(`${p}.${i}`));
      keys.push(
        ...["fc1", "fc2"].flatMap((
          fc,
        ) => [`${p}.${i + 1}.${fc}.weight`, `${p}.${i + 1}.${fc}.bias`]),
      );
      keys.push(...convBn(`${p}.${i + 2}`));
    }
  });
  return [...keys, ...convBn("features.8"), "classifier.1.weight", "classifier.1.bias"];
}

interface Case {
  arch: string;
  keys: string[];
  /** torch key → torch shape, spot checks of widths. */
  shapes: Record<string, number[]>;
  /** torch module path → the layer its output comes from. */
  outputs: Record<string, string>;
}

const CASES: Case[] = [
  {
    arch: "densenet121",
    keys: denseNetKeys([6, 12, 24, 16]),
    shapes: {
      "features.conv0.weight": [64, 3, 7, 7],
      "features.denseblock4.denselayer16.norm1.weight": [992],
      "features.denseblock4.denselayer16.conv2.weight": [32, 128, 3, 3],
      "features.transition3.conv.weight": [512, 1024, 1, 1],
      "classifier.weight": [4, 1024],
    },
    outputs: {
      features: `features${ROLE_SEPARATOR}relu`,
      "features.denseblock1": `features.denseblock1${ROLE_SEPARATOR}cat`,
      "features.denseblock2.denselayer3": "features.denseblock2.denselayer3.conv2",
      "features.transition1": "features.transition1.pool",
    },
  },
  {
    arch: "densenet169",
    keys: denseNetKeys([6, 12, 32, 32]),
    shapes: {
      "features.transition3.conv.weight": [640, 1280, 1, 1],
      "classifier.weight": [4, 1664],
    },
    outputs: { features: `features${ROLE_SEPARATOR}relu` },
  },
  {
    arch: "efficientnet_b0",
    keys: efficientNetKeys([1, 2, 2, 3, 3, 4, 1]),
    shapes: {
      "features.1.0.block.0.0.weight": [32, 1, 3, 3],
      "features.1.0.block.1.fc1.weight": [8, 32, 1, 1],
      "features.2.0.block.1.0.weight": [96, 1, 3, 3],
      "features.2.0.block.2.fc1.weight": [4, 96, 1, 1],
      "features.6.0.block.2.fc2.bias": [672],
      "features.6.0.block.2.fc1.weight": [28, 672, 1, 1],
      "features.8.0.weight": [1280, 320, 1, 1],
      "classifier.1.weight": [4, 1280],
    },
    outputs: {
      features: "features.8.2",
      "features.2.0": "features.2.0.block.3.1",
      "features.2.1": `features.2.1${ROLE_SEPARATOR}add`,
      "features.2.1.block.2": `features.2.1.block.2${ROLE_SEPARATOR}mul`,
    },
  },
  {
    arch: "efficientnet_b1",
    keys: efficientNetKeys([2, 3, 3, 4, 4, 5, 2]),
    shapes: {
      "features.1.1.block.0.0.weight": [16, 1, 3, 3],
      "features.1.1.block.1.fc1.weight": [4, 16, 1, 1],
      "features.7.1.block.0.0.weight": [1920, 320, 1, 1],
    },
    outputs: { "features.7.1": `features.7.1${ROLE_SEPARATOR}add` },
  },
];

function assertSameState(actual: TorchStateDict, expected: TorchStateDict): void {
  assertEquals([...actual.keys()], [...expected.keys()]);
  for (const [key, { shape, data }] of expected) {
    const got = actual.get(key)!;
    assertEquals(got.shape, shape, key);
    assert(got.data.every((v, i) => v === data[i]), `${key} differs`);
  }
}

async function logitsShape(model: tf.LayersModel, sizePx: number): Promise<number[]> {
  const y = tf.tidy(() =>
    model.predict(tf.randomNormal([2, sizePx, sizePx, 3], 0, 1, "float32", 5)) as tf.Tensor
  );
  const values = await y.data();
  y.dispose();
  assert(values.every(Number.isFinite), `${model.name}: non-finite logits`);
  return y.shape;
}

for (const { arch, keys, shapes, outputs } of CASES) {
  Deno.test(`${arch}: torchvision's keys in order, torch shapes, round trip 224 → 128 px`, async () => {
    const at224 = buildModel(arch, { numClasses: 4, imgSizePx: 224, seed: 1 });
    const at128 = buildModel(arch, { numClasses: 4, imgSizePx: 128, seed: 2 });
    try {
      assertEquals(torchStateDictKeys(at224), keys);
      const state = await exportTorchStateDict(at224);
      for (const [key, shape] of Object.entries(shapes)) {
        assertEquals(state.get(key)!.shape, shape, key);
      }
      for (const [path, layer] of Object.entries(outputs)) {
        assertEquals(torchModuleOutputLayer(at224, path).name, layer, path);
      }
      // Weights do not depend on the input size: a 224 px state dict loads at 128 px.
      loadTorchStateDict(at128, state);
      assertSameState(await exportTorchStateDict(at128), state);
      assertEquals(await logitsShape(at224, 224), [2, 4]);
      assertEquals(await logitsShape(at128, 128), [2, 4]);
    } finally {
      at224.dispose();
      at128.dispose();
    }
  });
}

Deno.test("vgg16_bn at 224 px: keys, flattening in NCHW order, load changes the logits", async () => {
  const model = buildModel("vgg16_bn", { numClasses: 4, imgSizePx: 224, seed: 1 });
  try {
    assertEquals(torchStateDictKeys(model), vgg16BnKeys());
    assertEquals(torchModuleOutputLayer(model, "features").name, "features.43");
    // torch.flatten of [N, 512, 7, 7]: element (c, h, w) lands at c·49 + h·7 + w.
    const flat = tf.tidy(() => {
      const map = tf.range(0, 7 * 7 * 512).reshape([1, 7, 7, 512]);
      const nchw = model.getLayer(`avgpool${ROLE_SEPARATOR}nchw`).apply(map) as tf.Tensor;
      return model.getLayer(`avgpool${ROLE_SEPARATOR}flatten`).apply(nchw) as tf.Tensor;
    });
    const values = await flat.data();
    flat.dispose();
    const [c, h, w] = [300, 2, 5];
    assertEquals(values[c * 49 + h * 7 + w], (h * 7 + w) * 512 + c);

    const x = tf.randomNormal([1, 224, 224, 3], 0, 1, "float32", 3);
    const before = await (model.predict(x) as tf.Tensor).data();
    const state = await exportTorchStateDict(model);
    assertEquals(state.get("classifier.0.weight")!.shape, [4096, 25088]);
    assertEquals(state.get("features.40.weight")!.shape, [512, 512, 3, 3]);
    state.get("classifier.6.bias")!.data.set([1, 2, 3, 4]);
    const oldBias = await model.getLayer("classifier.6").getWeights()[1].data();
    loadTorchStateDict(model, state);
    const after = await (model.predict(x) as tf.Tensor).data();
    x.dispose();
    after.forEach((v, i) => {
      const expected = before[i] - oldBias[i] + i + 1;
      assert(Math.abs(v - expected) < 1e-4, `logit ${i}: ${v} vs ${expected}`);
    });
  } finally {
    model.dispose();
  }
});

/** torch's `adaptive_avg_pool2d`, one output at a time, for a [H, W] map. */
function bruteForceAdaptivePool(map: number[][], out: number): number[][] {
  const window = (i: number, size: number) =>
    [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)] as const;
  return Array.from({ length: out }, (_, i) =>
    Array.from({ length: out }, (_, j) => {
      const [h0, h1] = window(i, map.length);
      const [w0, w1] = window(j, map[0].length);
      let sum = 0;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += map[h][w];
      return sum / ((h1 - h0) * (w1 - w0));
    }));
}

Deno.test("adaptive average pooling uses torch's windows: identity, overlap, exact division", async () => {
  for (const [inSize, out] of [[7, 7], [4, 7], [10, 7], [6, 3], [5, 1], [1, 7]]) {
    const nn = new TorchLayers();
    const input = tf.input({ shape: [inSize, inSize, 2] });
    const model = tf.model({ inputs: input, outputs: nn.adaptiveAvgPool2d(input, "avgpool", out) });
    assertEquals(model.outputs[0].shape, [null, out, out, 2]);
    const x = tf.randomNormal([1, inSize, inSize, 2], 0, 1, "float32", inSize);
    const [y, grad] = tf.tidy(() => [
      model.predict(x) as tf.Tensor,
      tf.grad((v: tf.Tensor) => tf.sum(model.apply(v) as tf.Tensor))(x),
    ]);
    const xs = (await x.array() as number[][][][])[0];
    const ys = (await y.array() as number[][][][])[0];
    for (const channel of [0, 1]) {
      const expected = bruteForceAdaptivePool(xs.map((row) => row.map((px) => px[channel])), out);
      expected.forEach((row, i) =>
        row.forEach((v, j) => {
          const got = ys[i][j][channel];
          assert(Math.abs(got - v) <= 1e-6 * (1 + Math.abs(v)), `${inSize}→${out} [${i},${j}]`);
          if (inSize === out) assertEquals(got, v, "the identity must be exact");
        })
      );
    }
    // Every output's window weights sum to 1, so d sum(y) / dx sums to out² per channel.
    const gradSum = (await tf.sum(grad).data())[0];
    assert(Math.abs(gradSum - 2 * out * out) < 1e-4, `${inSize}→${out} gradient sum ${gradSum}`);
    tf.dispose([x, y, grad]);
    model.dispose();
  }
});

Deno.test("SiLU is x·σ(x) with derivative σ(x)(1 + x(1 − σ(x)))", async () => {
  const nn = new TorchLayers();
  const input = tf.input({ shape: [4] });
  const model = tf.model({ inputs: input, outputs: nn.activation(input, "silu", "silu") });
  const xs = [-3, -0.5, 0, 2];
  const x = tf.tensor2d([xs]);
  const [y, dx] = tf.tidy(() => [
    model.predict(x) as tf.Tensor,
    tf.grad((v: tf.Tensor) => tf.sum(model.apply(v) as tf.Tensor))(x),
  ]);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const [ys, dxs] = [await y.data(), await dx.data()];
  xs.forEach((v, i) => {
    assert(Math.abs(ys[i] - v * sigmoid(v)) < 1e-6, `silu(${v})`);
    const slope = sigmoid(v) * (1 + v * (1 - sigmoid(v)));
    assert(Math.abs(dxs[i] - slope) < 1e-6, `silu'(${v})`);
  });
  tf.dispose([x, y, dx]);
  model.dispose();
});

Deno.test("stochastic depth: identity outside training, seeded per-sample drops in training", async () => {
  const x = tf.ones([64, 2, 2, 3]);
  const layer = new StochasticDepth({ p: 0.25, name: "sd" });
  const draw = async (seed: number) => {
    layer.seed = seed;
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const values = Array.from(await y.data());
    y.dispose();
    return values;
  };
  const inference = layer.apply(x) as tf.Tensor;
  assertEquals(Array.from(await inference.data()), Array.from(await x.data()));
  const a = await draw(7);
  assertEquals(await draw(7), a);
  assert((await draw(8)).join() !== a.join(), "seeds 7 and 8 draw the same mask");
  // A sample keeps or drops its whole branch; survivors are scaled by 1 / (1 − p).
  const perSample = Array.from({ length: 64 }, (_, n) => new Set(a.slice(n * 12, (n + 1) * 12)));
  assert(perSample.every((values) => values.size === 1), "a sample was partly dropped");
  const kept = perSample.filter((values) => values.has(Math.fround(1 / 0.75))).length;
  const dropped = perSample.filter((values) => values.has(0)).length;
  assertEquals(kept + dropped, 64);
  assert(dropped > 4 && dropped < 32, `${dropped} of 64 dropped at p = 0.25`);
  tf.dispose([x, inference]);
});

Deno.test("efficientnet_b0: stochastic depth only on residual blocks, p = 0.2 · index / 16", () => {
  const model = buildModel("efficientnet_b0", { numClasses: 4, imgSizePx: 32 });
  try {
    const layers = layersOfClass(model, StochasticDepth.className) as StochasticDepth[];
    // Blocks 1..16 are numbered from 0; the first block of every stage changes width.
    const residual = {
      "2.1": 2,
      "3.1": 4,
      "4.1": 6,
      "4.2": 7,
      "5.1": 9,
      "5.2": 10,
      "6.1": 12,
      "6.2": 13,
      "6.3": 14,
    };
    assertEquals(
      layers.map((l) => [l.name, l.p]),
      Object.entries(residual).map((
        [block, index],
      ) => [`features.${block}.stochastic_depth`, (0.2 * index) / 16]),
    );
  } finally {
    model.dispose();
  }
});
