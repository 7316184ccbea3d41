import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../models/safetensors.ts";
import {
  countTorchParameters,
  exportTorchStateDict,
  loadTorchStateDict,
  type TorchStateDict,
} from "../models/torch_weights.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { testDir } from "./test_dirs.ts";

await startBackend("wasm");

const SIZE_PX = 64;

function sameTensors(a: TorchStateDict, b: TorchStateDict): boolean {
  return [...a.keys()].join() === [...b.keys()].join() &&
    [...a].every(([key, { shape, data }]) =>
      b.get(key)!.shape.join() === shape.join() && b.get(key)!.data.every((v, i) => v === data[i])
    );
}

for (const arch of ["resnet18", "mobilenet_v2", "densenet121", "efficientnet_b0", "ecgnet"]) {
  Deno.test(`${arch}: export → safetensors → load into a fresh model gives identical weights`, async () => {
    await using dir = await testDir();
    const source = buildModel(arch, { numClasses: 4, imgSizePx: SIZE_PX, seed: 1 });
    const target = buildModel(arch, { numClasses: 4, imgSizePx: SIZE_PX, seed: 2 });
    try {
      const exported = await exportTorchStateDict(source);
      assert(!sameTensors(exported, await exportTorchStateDict(target)), "seeds 1 and 2 agree");
      const path = `${dir.path}/${arch}.safetensors`;
      await writeSafetensorsFile(path, exported, { format: "pt", arch });
      const { tensors, metadata } = await readSafetensorsFile(path);
      assertEquals(metadata.arch, arch);
      loadTorchStateDict(target, tensors, { source: path });
      assert(
        sameTensors(exported, await exportTorchStateDict(target)),
        "weights differ after load",
      );
      const [a, b] = tf.tidy(() => {
        const x = tf.randomNormal([2, SIZE_PX, SIZE_PX, 3], 0, 1, "float32", 3);
        return [source.predict(x) as tf.Tensor, target.predict(x) as tf.Tensor];
      });
      assertEquals(Array.from(await a.data()), Array.from(await b.data()));
      tf.dispose([a, b]);
    } finally {
      source.dispose();
      target.dispose();
    }
  });
}

Deno.test("layouts: OIHW → HWIO, [C,1,kh,kw] → [kh,kw,C,1], [out,in] → [in,out]", async () => {
  const model = buildModel("mobilenet_v2", { numClasses: 4, imgSizePx: 32 });
  try {
    const state = await exportTorchStateDict(model);
    // Every torch tensor holds its own flat C-order indices.
    for (const { data } of state.values()) data.forEach((_, i) => (data[i] = i));
    loadTorchStateDict(model, state);
    // features.0.0: conv [O=32, I=3, 3, 3]; element (o=5, i=2, y=1, x=0) → kernel [1, 0, 2, 5].
    const conv = await model.getLayer("features.0.0").getWeights()[0].array() as number[][][][];
    assertEquals(conv[1][0][2][5], ((5 * 3 + 2) * 3 + 1) * 3 + 0);
    // features.1.conv.0.0: depthwise [C=32, 1, 3, 3]; (c=7, y=2, x=1) → kernel [2, 1, 7, 0].
    const dw = await model.getLayer("features.1.conv.0.0").getWeights()[0]
      .array() as number[][][][];
    assertEquals(dw[2][1][7][0], (7 * 3 + 2) * 3 + 1);
    // classifier.1: linear [out=4, in=1280]; (o=3, i=10) → kernel [10, 3].
    const dense = await model.getLayer("classifier.1").getWeights()[0].array() as number[][];
    assertEquals(dense[10][3], 3 * 1280 + 10);
  } finally {
    model.dispose();
  }
});

Deno.test("mismatched state dicts: missing, unexpected, wrong shape; model left unchanged", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const other = buildModel("ecgnet", { numClasses: 3, imgSizePx: 32, seed: 2 });
  try {
    const before = await exportTorchStateDict(model);
    const good = await exportTorchStateDict(other);

    const missing = new Map(good);
    missing.delete("features.1.1.running_var");
    missing.set("features.9.0.weight", { shape: [1], data: new Float32Array(1) });
    const error = assertThrows(
      () => loadTorchStateDict(model, missing, { source: "w.safetensors" }),
      InputError,
      "w.safetensors: keys do not match ecgnet: 1 (features.1.1.running_var) missing, " +
        "1 (features.9.0.weight) unexpected",
    );
    assert(error.message.includes("another architecture"), error.message);

    assertThrows(
      () => loadTorchStateDict(model, good, { source: "w.safetensors" }),
      InputError,
      'tensor "classifier.1.weight" has shape [3, 256], ecgnet expects [4, 256]',
    );
    assert(sameTensors(before, await exportTorchStateDict(model)), "a failed load wrote weights");

    // A 3-class checkpoint's backbone loads when the head is skipped; counters are ignored.
    const withCounters = new Map(good).set("features.0.1.num_batches_tracked", {
      shape: [],
      data: new Float32Array([100]),
    });
    loadTorchStateDict(model, withCounters, { skipModules: ["classifier.1"] });
    const after = await exportTorchStateDict(model);
    assertEquals(
      Array.from(after.get("features.4.1.running_var")!.data),
      Array.from(good.get("features.4.1.running_var")!.data),
    );
    assertEquals(
      Array.from(after.get("classifier.1.bias")!.data),
      Array.from(before.get("classifier.1.bias")!.data),
    );
  } finally {
    model.dispose();
    other.dispose();
  }
});

Deno.test("parameter count ignores freezing and running statistics", () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32 });
  const count = countTorchParameters(model);
  model.layers.forEach((layer) => (layer.trainable = false));
  assertEquals(countTorchParameters(model), count);
  assertEquals(model.trainableWeights.length, 0);
  model.dispose();
});
