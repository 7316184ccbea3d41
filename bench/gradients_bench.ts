/**
 * Forward, forward + input gradient (ours vs stock `tf.grad`) and a full training step on the
 * wasm backend, batch 8: ecgnet at 128 px, resnet18 and mobilenet_v2 at 224 px.
 *
 * Run: `deno bench --allow-read=. bench/gradients_bench.ts`. ms per image = the reported mean
 * / the batch (8, or 4 where the name says so). PyTorch 1.13, one thread, ms per image: resnet18 forward 42, forward + input gradient
 * 87, training step ~133; mobilenet_v2 14 / 51.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { buildModel } from "../models/registry.ts";
import { crossEntropyFromLogits } from "../training/cross_entropy.ts";

const BATCH = 8;
const CLASSES = 4;

await startBackend("wasm");

const targets = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);

for (const [name, sizePx] of [["ecgnet", 128], ["resnet18", 224], ["mobilenet_v2", 224]] as const) {
  const model = buildModel(name, { numClasses: CLASSES, imgSizePx: sizePx, seed: 1 });
  const x = tf.randomUniform([BATCH, sizePx, sizePx, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const labels = tf.tensor1d(targets, "int32");
  const mask = tf.oneHot(labels, CLASSES).toFloat();
  const group = `${name} ${sizePx} px, batch ${BATCH}`;
  const options = { group, n: 3, warmup: 1 };
  Deno.bench({ ...options, name: `${name} forward`, baseline: true }, async () => {
    const logits = model.predict(x) as tf.Tensor;
    await logits.data();
    logits.dispose();
  });
  Deno.bench(
    { ...options, name: `${name} forward + input gradient (inputGradients)` },
    async () => {
      const { logits, gradient } = inputGradients(model, x, targets);
      await gradient.data();
      tf.dispose([logits, gradient]);
    },
  );
  Deno.bench({ ...options, name: `${name} forward + input gradient (stock tf.grad)` }, async () => {
    const gradient = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(model.apply(input, { training: false }) as tf.Tensor, mask))
    )(x);
    await gradient.data();
    gradient.dispose();
  });
  // MobileNet-V2's training step at batch 8 and 224 px needs ~4.7 GB of tfjs tensors (2.4 GB at
  // batch 4), past wasm32's 4 GB heap: it is measured at batch 4.
  const trainBatch = name === "mobilenet_v2" ? BATCH / 2 : BATCH;
  const trainX = x.slice(0, trainBatch);
  const trainLabels = labels.slice(0, trainBatch);
  Deno.bench({
    ...options,
    name: `${name} training step (all weight gradients), batch ${trainBatch}`,
  }, async () => {
    const { value, grads } = tf.variableGrads(() =>
      crossEntropyFromLogits(model.apply(trainX, { training: true }) as tf.Tensor2D, trainLabels)
    );
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  });
}
