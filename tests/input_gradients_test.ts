import { assert, assertEquals, assertThrows } from "./assert.ts";
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { layerActivation } from "../graph/layer_activation.ts";
import { TorchLayers } from "../models/layers.ts";
import { buildModel } from "../models/registry.ts";

await startBackend("wasm");

const TARGETS = Int32Array.from([2, 0]);

/** Residual add, concatenate, BN, max and average pooling, depthwise, ReLU6 and a dense head. */
function graphModel(): tf.LayersModel {
  const nn = new TorchLayers(3);
  const input = tf.input({ shape: [20, 20, 3] });
  const stem = nn.convBnAct(
    input,
    "stem",
    { outChannels: 8, kernelPx: 3, stride: 2 },
    "relu",
  );
  const pooled = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: "same" }).apply(stem);
  const depth = nn.convBnAct(
    pooled as tf.SymbolicTensor,
    "block.dw",
    { outChannels: 8, kernelPx: 3, depthwise: true },
    "relu6",
  );
  const sum = nn.add(stem, depth, "block");
  const wide = tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: true, name: "block.side" })
    .apply(sum) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate({ name: "block-cat" }).apply([sum, wide]);
  const avg = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: "pool" }).apply(joined);
  const flat = tf.layers.flatten().apply(avg) as tf.SymbolicTensor;
  const hidden = tf.layers.dense({ units: 6, activation: "relu", name: "fc1" }).apply(flat);
  const logits = tf.layers.dense({ units: 3, name: "fc2" }).apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

function batch(size: number): tf.Tensor4D {
  return tf.randomUniform([2, size, size, 3], -1, 1, "float32", 5) as tf.Tensor4D;
}

function oneHot(classes: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(TARGETS, "int32"), classes).toFloat() as tf.Tensor2D;
}

/** The stock path: tf.grad through the model as training runs it (fused ops, filter gradients). */
function stockGradient(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const mask = oneHot(model.outputs[0].shape[1] as number);
    return tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(model.apply(input, { training: false }) as tf.Tensor, mask))
    )(x);
  });
}

async function assertClose(actual: tf.Tensor, expected: tf.Tensor, label: string) {
  assertEquals(actual.shape, expected.shape, `${label}: shape`);
  const [a, e] = [await actual.data(), await expected.data()];
  let diff = 0, scale = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  assert(scale > 0, `${label}: all-zero reference`);
  assert(diff <= 1e-5 * scale, `${label}: off by ${diff / scale} relative`);
}

async function kernelsRun(f: () => tf.TensorContainer): Promise<Set<string>> {
  const profile = await tf.profile(() => tf.dispose(f()));
  return new Set(profile.kernelNames);
}

const FILTER_GRADIENTS = ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter"];

for (const name of ["graph", "resnet18", "mobilenet_v2"]) {
  Deno.test(`${name}: the input gradient equals tf.grad's, without filter gradients`, async () => {
    const model = name === "graph"
      ? graphModel()
      : buildModel(name, { numClasses: 3, imgSizePx: 40, seed: 2 });
    const x = batch(name === "graph" ? 20 : 40);
    const ours = inputGradients(model, x, TARGETS);
    const stock = stockGradient(model, x);
    await assertClose(ours.gradient, stock, name);
    await assertClose(ours.logits, model.predict(x) as tf.Tensor, `${name} logits`);
    const used = await kernelsRun(() => Object.values(inputGradients(model, x, TARGETS)));
    for (const kernel of FILTER_GRADIENTS) assert(!used.has(kernel), `${name}: ${kernel} ran`);
    assert(used.has("Conv2DBackpropInput"), `${name}: no input gradient ran`);
    const stockUsed = await kernelsRun(() => stockGradient(model, x));
    assert(stockUsed.has("Conv2DBackpropFilter"), "the stock path should compute filter gradients");
    tf.dispose([ours.logits, ours.gradient, stock, x]);
    model.dispose();
  });
}

Deno.test("a layer's activation and its gradient equal tf.grad through the model's tail", async () => {
  const model = graphModel();
  const x = batch(20);
  const ours = inputGradients(model, x, TARGETS, { layer: "block-cat" });
  // The tail as its own model, sharing the layer objects (which adds foreign graph nodes to them).
  const catOut = model.getLayer("block-cat").output as tf.SymbolicTensor;
  const tailInput = tf.input({ shape: catOut.shape.slice(1) as number[] });
  let h: tf.SymbolicTensor = tailInput;
  for (const layerName of ["pool", model.layers.at(-3)!.name, "fc1", "fc2"]) {
    h = model.getLayer(layerName).apply(h) as tf.SymbolicTensor;
  }
  const tail = tf.model({ inputs: tailInput, outputs: h });
  const head = tf.model({ inputs: model.inputs, outputs: catOut });
  const activation = head.predict(x) as tf.Tensor;
  await assertClose(ours.activation!, activation, "activation");
  await assertClose(ours.gradient, stockGradient(tail, activation), "activation gradient");
  // Running again after the tail model attached nodes to the shared layers gives the same.
  const again = inputGradients(model, x, TARGETS);
  await assertClose(again.gradient, stockGradient(model, x), "input gradient with shared layers");
  tf.dispose([ours.logits, ours.gradient, ours.activation!, again.logits, again.gradient, x]);
  model.dispose();
});

Deno.test("Grad-CAM's forward pass folds BatchNorms into convolutions, and its activations stay the layer's", async () => {
  const model = buildModel("resnet18", { numClasses: 3, imgSizePx: 40, seed: 3 });
  const x = batch(40);
  // layer4.1.relu-2 (layer4's output): a block output; layer4.1.conv2 (`last-conv`): a convolution's output before its
  // BatchNorm, which must not fold into it.
  for (const layer of ["layer4.1.relu-2", "layer4.1.conv2"]) {
    const ours = inputGradients(model, x, TARGETS, { layer });
    const expected = layerActivation(model, x, layer);
    await assertClose(ours.activation!, expected, `${layer} activation`);
    tf.dispose([ours.logits, ours.gradient, ours.activation!, expected]);
  }
  const used = await kernelsRun(() =>
    Object.values(inputGradients(model, x, TARGETS, { layer: "layer4.1.relu-2" }))
  );
  assert(used.has("FusedConv2D"), "no convolution ran with its BatchNorm folded in");
  x.dispose();
  model.dispose();
});

Deno.test("input gradients never create, change or leak tensors and variables", async () => {
  const model = graphModel();
  const x = batch(20);
  const weightsBefore = await Promise.all(model.getWeights().map((w) => w.data()));
  const variables = () => Object.keys(tf.engine().state.registeredVariables).length;
  const [variablesBefore, tensorsBefore] = [variables(), tf.memory().numTensors];
  for (const options of [{}, { layer: "block.dw.0" }]) {
    const result = inputGradients(model, x, TARGETS, options);
    tf.dispose(Object.values(result));
  }
  assertEquals(variables(), variablesBefore);
  assertEquals(tf.memory().numTensors, tensorsBefore);
  const weightsAfter = await Promise.all(model.getWeights().map((w) => w.data()));
  weightsBefore.forEach((w, i) => assertEquals(weightsAfter[i], w, `weight ${i} changed`));
  x.dispose();
  model.dispose();
});

Deno.test("bad targets and unknown layers are input errors", () => {
  const model = graphModel();
  const x = batch(20);
  assertThrows(() => inputGradients(model, x, Int32Array.from([0])), InputError, "2 images");
  assertThrows(() => inputGradients(model, x, Int32Array.from([0, 3])), InputError, "0..2");
  assertThrows(() => inputGradients(model, x, TARGETS, { layer: "nope" }), InputError, "nope");
  x.dispose();
  model.dispose();
});
