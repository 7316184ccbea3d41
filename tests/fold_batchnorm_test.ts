/**
 * BatchNorm folding: the folded model computes the unfolded one's inference logits (random
 * BatchNorm statistics, and the torchvision weights of the torch-parity fixtures when present),
 * has no BatchNorm left, keeps names resolvable, and leaves the original untouched and trainable.
 */
import { tf } from "../deps.ts";
import { readNpyFile, requireDtype } from "../data/npy.ts";
import { startBackend } from "../backends/backend.ts";
import { foldBatchNorm, foldedBatchNormTarget } from "../graph/fold_batchnorm.ts";
import { torchModuleOutputLayer } from "../models/layers.ts";
import { buildModel } from "../models/registry.ts";
import { readSafetensorsFile } from "../models/safetensors.ts";
import { loadTorchStateDict } from "../models/torch_weights.ts";
import { assert, assertEquals } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";

const PARITY_DIR = Deno.env.get("TORCH_PARITY_DIR") ?? "../shared/torch-parity";
/** Folded vs unfolded logits: max abs difference / largest logit magnitude. */
const RELATIVE_TOLERANCE = 1e-5;
/**
 * Folded vs unfolded with the fixtures' weights. Their logits (|max| ≈ 0.1, a fresh 4-class
 * head) are a tenth of the scale of the features, so fp32 rounding shows ~2e-5 relative to them:
 * the unfolded model is itself 1.1e-5 relative from PyTorch there.
 */
const FIXTURE_RELATIVE_TOLERANCE = 5e-5;
/** Folded logits vs PyTorch's, as `torch_parity_test.ts` requires of the unfolded model. */
const TORCH_MAX_ABS_DIFF = 1e-4;

await startBackend("wasm");

/** Gives every BatchNorm γ, β, running mean and variance away from the 1, 0, 0, 1 defaults. */
function randomizeBatchNorms(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const channels = layer.getWeights()[0].shape;
    const draw = (lo: number, hi: number) => tf.randomUniform(channels, lo, hi, "float32", seed++);
    const values = [draw(0.5, 1.5), draw(-0.3, 0.3), draw(-0.3, 0.3), draw(0.5, 2)];
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  const logits = model.predict(x) as tf.Tensor;
  try {
    return logits.dataSync() as Float32Array;
  } finally {
    logits.dispose();
  }
}

function relativeDiff(ours: Float32Array, reference: ArrayLike<number>): number {
  let [diff, scale] = [0, 0];
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / scale;
}

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

for (const [arch, imgSizePx] of [["ecgnet", 64], ["resnet18", 64], ["mobilenet_v2", 64]] as const) {
  Deno.test(`foldBatchNorm: ${arch} logits match the unfolded model, no BatchNorm left`, () => {
    const model = buildModel(arch, { numClasses: 4, imgSizePx, seed: 3 });
    randomizeBatchNorms(model, 11);
    const x = tf.randomNormal([2, imgSizePx, imgSizePx, 3], 0, 1, "float32", 5);
    try {
      const weightsBefore = weightValues(model);
      const tensorsBefore = tf.memory().numTensors;
      const buffersBefore = tf.memory().numDataBuffers;
      const folded = foldBatchNorm(model);
      const bnCount = model.layers.filter((l) => l.getClassName() === "BatchNormalization").length;
      assertEquals(
        tf.memory().numDataBuffers - buffersBefore,
        2 * bnCount,
        "the copy holds new memory only for the folded kernels and biases",
      );
      const diff = relativeDiff(predict(folded, x), predict(model, x));
      console.log(`${arch}: folded vs unfolded logits, relative max diff ${diff.toExponential(2)}`);
      assert(diff <= RELATIVE_TOLERANCE, `${arch}: relative difference ${diff}`);

      assertEquals(folded.layers.filter((l) => l.getClassName() === "BatchNormalization"), []);
      const bns = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
      for (const bn of bns) {
        const conv = bn.inboundNodes[0].inboundLayers[0];
        assertEquals(foldedBatchNormTarget(folded, bn.name), conv.name, bn.name);
        assertEquals(torchModuleOutputLayer(folded, bn.name).name, conv.name, bn.name);
      }
      const foldedNames = new Set(folded.layers.map((l) => l.name));
      assertEquals(
        model.layers.map((l) => l.name).filter((name) => !foldedNames.has(name)),
        bns.map((l) => l.name),
        "only the BatchNorms are gone",
      );
      assertEquals(folded.trainableWeights.length, 0, "the folded copy is inference-only");

      folded.dispose();
      assertEquals(tf.memory().numTensors, tensorsBefore, "folding leaks no tensor");
      assertEquals(weightValues(model), weightsBefore, "the original's weights are unchanged");
    } finally {
      x.dispose();
      model.dispose();
    }
  });
}

Deno.test("foldBatchNorm: training the original afterwards leaves the folded copy as it was", () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64, seed: 3 });
  randomizeBatchNorms(model, 11);
  const x = tf.randomNormal([4, 64, 64, 3], 0, 1, "float32", 5);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), 4);
  const optimizer = tf.train.sgd(0.5);
  const folded = foldBatchNorm(model);
  try {
    const trainableBefore = model.trainableWeights.length;
    const [foldedBefore, modelBefore] = [predict(folded, x), predict(model, x)];
    // A training-mode step: moves the weights and the BatchNorms' running statistics.
    optimizer.minimize(() =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor)
    );
    assertEquals(model.trainableWeights.length, trainableBefore);
    assert(relativeDiff(predict(model, x), modelBefore) > 1e-3, "the original did not train");
    assertEquals(predict(folded, x), foldedBefore, "the folded copy changed with the original");
  } finally {
    folded.dispose();
    optimizer.dispose();
    tf.dispose([x, labels]);
    model.dispose();
  }
});

Deno.test("foldBatchNorm: a BatchNorm after an activation or a shared output stays", () => {
  const input = tf.input({ shape: [6, 6, 2] });
  const relu = tf.layers.conv2d({ name: "c1", filters: 3, kernelSize: 3, activation: "relu" });
  const a = relu.apply(input) as tf.SymbolicTensor;
  const b = tf.layers.batchNormalization({ name: "bn1" }).apply(a) as tf.SymbolicTensor;
  const conv = tf.layers.conv2d({ name: "c2", filters: 3, kernelSize: 1, useBias: false });
  const c = conv.apply(b) as tf.SymbolicTensor;
  const d = tf.layers.batchNormalization({ name: "bn2" }).apply(c) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: "skip" }).apply([c, d]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: sum });
  randomizeBatchNorms(model, 1);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, "float32", 2);
  const folded = foldBatchNorm(model);
  try {
    assertEquals(folded.layers.map((l) => l.name), model.layers.map((l) => l.name));
    assert(relativeDiff(predict(folded, x), predict(model, x)) <= RELATIVE_TOLERANCE);
  } finally {
    folded.dispose();
    x.dispose();
    model.dispose();
  }
});

interface Expected {
  size: number;
  num_classes: number;
  logits: number[][];
}

for (const arch of ["resnet18", "mobilenet_v2"]) {
  const weightsPath = `${PARITY_DIR}/${arch}.safetensors`;
  const present = await pathExists(weightsPath);
  Deno.test({
    name: `foldBatchNorm: ${arch} with torchvision weights matches PyTorch's logits` +
      (present ? "" : ` (skipped: no ${weightsPath})`),
    ignore: !present,
    async fn() {
      const expected: Expected = JSON.parse(
        await Deno.readTextFile(`${PARITY_DIR}/${arch}_expected.json`),
      );
      const inputsPath = `${PARITY_DIR}/${arch}_inputs.npy`;
      const inputs = requireDtype(await readNpyFile(inputsPath), "float32", inputsPath);
      const model = buildModel(arch, {
        numClasses: expected.num_classes,
        imgSizePx: expected.size,
      });
      const x = tf.tidy(() => tf.transpose(tf.tensor(inputs.data, inputs.shape), [0, 2, 3, 1]));
      try {
        loadTorchStateDict(model, (await readSafetensorsFile(weightsPath)).tensors, {
          source: weightsPath,
        });
        const folded = foldBatchNorm(model);
        try {
          const [ours, unfolded] = [predict(folded, x), predict(model, x)];
          const torchLogits = expected.logits.flat();
          const torchDiff = Math.max(...torchLogits.map((v, i) => Math.abs(v - ours[i])));
          const diff = relativeDiff(ours, unfolded);
          console.log(
            `${arch}: folded vs PyTorch max abs diff ${torchDiff.toExponential(2)}, vs unfolded ` +
              `relative ${diff.toExponential(2)}`,
          );
          assert(torchDiff <= TORCH_MAX_ABS_DIFF, `${arch}: ${torchDiff} from PyTorch's logits`);
          assert(diff <= FIXTURE_RELATIVE_TOLERANCE, `${arch}: relative difference ${diff}`);
        } finally {
          folded.dispose();
        }
      } finally {
        x.dispose();
        model.dispose();
      }
    },
  });
}
