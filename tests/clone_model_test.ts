/**
 * Model copies (`cloneModel`, on `graph/rebuild_model.ts`): the same layers in the same order
 * with the same outputs, no new weight memory until a side's weights are replaced, and the two
 * sides independent from then on.
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { type EmscriptenHeap, heapAllocationCounter } from "../backends/heap.ts";
import type { WasmBackend } from "../backends/wasm/wasm_kernel_utils.ts";
import { cloneModel } from "../models/clone_model.ts";
import { buildModel } from "../models/registry.ts";
import {
  parameterisedLayers,
  torchLikeReset,
} from "../metrics/randomisation/layer_randomisation.ts";
import { assert, assertEquals } from "./assert.ts";

await startBackend("wasm");

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

for (const arch of ["resnet18", "densenet121", "efficientnet_b0", "vgg16_bn"]) {
  Deno.test(`cloneModel: ${arch} copies share weight memory until one side changes`, () => {
    const model = buildModel(arch, { numClasses: 4, imgSizePx: 32, seed: 3 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 5);
    try {
      const buffersBefore = tf.memory().numDataBuffers;
      const module = (tf.backend() as WasmBackend).wasm as unknown as EmscriptenHeap;
      const counter = heapAllocationCounter(module);
      let copy: tf.LayersModel;
      try {
        copy = cloneModel(model);
      } finally {
        counter.stop();
      }
      // Building the layers from their initializers first would allocate every weight's bytes.
      assertEquals(counter.highBytes, 0, "the copy allocated weights");
      assertEquals(tf.memory().numDataBuffers, buffersBefore, "the copy holds new buffers");
      assertEquals(copy.layers.map((l) => l.name), model.layers.map((l) => l.name));
      assertEquals(
        copy.layers.map((l) => l.getClassName()),
        model.layers.map((l) => l.getClassName()),
      );
      assertEquals(copy.weights.map((w) => w.shape), model.weights.map((w) => w.shape));
      const before = predict(model, x);
      assertEquals(predict(copy, x), before);

      // Randomise the copy's last parameterised layer: the original keeps its outputs.
      const last = parameterisedLayers(copy).at(-1)!;
      torchLikeReset(last, 1);
      assertEquals(predict(model, x), before, "randomising the copy changed the original");
      assert(predict(copy, x).some((v, i) => v !== before[i]), "the copy did not change");

      copy.dispose();
      assertEquals(predict(model, x), before, "disposing the copy changed the original");
    } finally {
      x.dispose();
      model.dispose();
    }
  });
}
