import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { tf } from "../deps.ts";
import { DEFAULT_CONFIG } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { loadStageData } from "../data/load_data.ts";
import { AdamW } from "../training/adamw.ts";
import { TorchBatchNormStats } from "../training/batch_norm.ts";
import { crossEntropyFromLogits } from "../training/cross_entropy.ts";
import { INITIAL_EARLY_STOPPING, updateEarlyStopping } from "../training/early_stopping.ts";
import { cosineAnnealingLr } from "../training/lr_schedule.ts";
import { modelPaths } from "../training/checkpoint_io.ts";
import { trainModel } from "../training/train_loop.ts";
import { withSeededMathRandom } from "../training/seeded_math_random.ts";
import { testDir } from "./test_dirs.ts";
import { tinyCnn, writeTinySyntheticSet } from "./training_fixtures.ts";

await tf.setBackend("cpu");
tf.enableProdMode();

Deno.test("AdamW matches torch.optim.AdamW step by step", () => {
  // torch.optim.AdamW([p], lr=0.1, weight_decay=0.01) with p = [1, -2] and gradients
  // [0.5, -0.25] then [-1, 2]. Step 1: p·(1 − 0.001) − 0.1·sign(g) = [0.899, −1.898].
  const p = tf.variable(tf.tensor1d([1, -2]));
  const optimizer = new AdamW([p], { learningRate: 0.1, weightDecay: 0.01 });
  optimizer.applyGradients([tf.tensor1d([0.5, -0.25])]);
  const [a1, b1] = p.dataSync();
  assertAlmostEquals(a1, 0.899, 1e-6);
  assertAlmostEquals(b1, -1.898, 1e-6);
  optimizer.applyGradients([tf.tensor1d([-1, 2])]);
  const [a2, b2] = p.dataSync();
  // PyTorch's update rule (torch/optim/adamw.py, single-tensor path) in float64:
  const lr = 0.1, wd = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const expected = (p0: number, g1: number, g2: number) => {
    let x = p0 * (1 - lr * wd);
    let m = (1 - beta1) * g1, v = (1 - beta2) * g1 * g1;
    x -= (lr / (1 - beta1)) * m / (Math.sqrt(v) / Math.sqrt(1 - beta2) + eps);
    x *= 1 - lr * wd;
    m = beta1 * m + (1 - beta1) * g2;
    v = beta2 * v + (1 - beta2) * g2 * g2;
    return x - (lr / (1 - beta1 ** 2)) * m / (Math.sqrt(v) / Math.sqrt(1 - beta2 ** 2) + eps);
  };
  assertAlmostEquals(a2, expected(1, 0.5, -1), 1e-6);
  assertAlmostEquals(b2, expected(-2, -0.25, 2), 1e-6);
  assertEquals(optimizer.step, 2);
  optimizer.dispose();
  p.dispose();
});

Deno.test("cross-entropy, cosine schedule and early stopping follow PyTorch", () => {
  const loss = crossEntropyFromLogits(
    tf.tensor2d([[2, 0, -1], [0.5, 0.5, 3]]),
    tf.tensor1d([0, 1], "int32"),
  );
  const row = (z: number[], y: number) => Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[y];
  assertAlmostEquals(loss.dataSync()[0], (row([2, 0, -1], 0) + row([0.5, 0.5, 3], 1)) / 2, 1e-6);
  assertAlmostEquals(cosineAnnealingLr(3e-4, 3, 3), 0, 1e-18);
  assertAlmostEquals(cosineAnnealingLr(3e-4, 1, 3), 3e-4 * 0.75, 1e-15);
  let state = INITIAL_EARLY_STOPPING;
  const stops = [0.5, 0.6, 0.6, 0.55].map((acc, i) => {
    const u = updateEarlyStopping(state, i + 1, acc, 2);
    state = u.state;
    return u.stop;
  });
  assertEquals(stops, [false, false, false, true]);
  assertEquals(state.bestEpoch, 2);
});

Deno.test("BatchNorm running statistics follow PyTorch (momentum 0.1, unbiased variance)", () => {
  const input = tf.input({ shape: [2, 1, 2] });
  const bn = tf.layers.batchNormalization({ epsilon: 1e-5 });
  const model = tf.model({ inputs: input, outputs: bn.apply(input) as tf.SymbolicTensor });
  const stats = new TorchBatchNormStats(model);
  assertEquals(stats.layerCount, 1);
  // Channel 0 sees 1, 3, 5, 9 over batch 2 x 2 positions; channel 1 sees 0, 0, 2, 2.
  const x = tf.tensor4d([1, 0, 3, 0, 5, 2, 9, 2], [2, 2, 1, 2]);
  for (let step = 0; step < 2; step++) {
    stats.beforeStep();
    model.apply(x, { training: true });
    stats.afterStep(2);
  }
  const [mean, variance] = [2, 3].map((i) => Array.from(model.weights[i].read().dataSync()));
  // torch.nn.BatchNorm2d(2) after two identical train-mode batches:
  // running_mean = 0.19 * batch mean, running_var = 0.81 + 0.19 * unbiased variance.
  assertAlmostEquals(mean[0], 0.19 * 4.5, 1e-6);
  assertAlmostEquals(variance[0], 0.81 + 0.19 * (35 / 3), 1e-5);
  assertAlmostEquals(variance[1], 0.81 + 0.19 * (4 / 3), 1e-6);
});

Deno.test("model initialisation is reproducible from the seed", async () => {
  const build = () => tinyCnn("tiny", { numClasses: 3, imgSizePx: 16 });
  const a = await withSeededMathRandom(new SeededRandom(9), build);
  const b = await withSeededMathRandom(new SeededRandom(9), build);
  assertEquals(a.getWeights()[0].dataSync(), b.getWeights()[0].dataSync());
});

async function readWeights(dir: string): Promise<Uint8Array> {
  return await Deno.readFile(`${dir}/weights.bin`);
}

Deno.test({
  name: "training: a run stopped after epoch 1 and resumed equals an uninterrupted run",
  // The tiny set keeps this to a few seconds on the cpu backend.
  async fn() {
    await using dir = await testDir();
    const data = `${dir.path}/ds`;
    await writeTinySyntheticSet(data);
    const base = {
      ...DEFAULT_CONFIG,
      data,
      imgSizePx: 48,
      batchSize: 8,
      epochs: 3,
      learningRate: 3e-3,
      classes: ["Abnormal", "HistoryMI", "MI", "Normal"],
    };
    const run = async (out: string, onEpochEnd?: (epoch: number) => void, fresh = false) => {
      const config = { ...base, out };
      const { loaded } = await loadStageData(config, ["train", "val"], "train");
      return await trainModel({
        modelName: "tiny",
        build: (seed) => tinyCnn(`tiny-${seed}`, { numClasses: 4, imgSizePx: 48 }),
        loaded,
        config,
        cosine: true,
        fresh,
        onEpochEnd: (row) => onEpochEnd?.(row.epoch),
        log: () => {},
        progressSink: { isTerminal: () => false, write: () => {} },
      });
    };
    const whole = await run(`${dir.path}/a`);
    assertEquals(whole.history.length, 3);
    await assertRejects(
      () =>
        run(`${dir.path}/b`, (epoch) => {
          if (epoch === 1) throw new Error("simulated kill");
        }),
      Error,
      "simulated kill",
    );
    const resumed = await run(`${dir.path}/b`);
    assertEquals(resumed.resumedAfterEpoch, 1);
    const strip = (rows: typeof whole.history) => rows.map(({ seconds: _, ...rest }) => rest);
    assertEquals(strip(resumed.history), strip(whole.history));
    const a = modelPaths(`${dir.path}/a`, "tiny"), b = modelPaths(`${dir.path}/b`, "tiny");
    assertEquals(await readWeights(b.best), await readWeights(a.best));
    const lastA = JSON.parse(await Deno.readTextFile(`${a.last}/state.json`));
    assertEquals(
      await readWeights(`${b.last}/epoch-0003`),
      await readWeights(`${a.last}/${lastA.folder}`),
    );
    const csv = await Deno.readTextFile(`${b.metrics}/history.csv`);
    assert(csv.startsWith("epoch,train_loss,val_loss,train_acc,val_acc,seconds\n"), csv);
    assertEquals(csv.trim().split("\n").length, 4);
    // Losses must move: the model learns something in 3 epochs.
    assert(whole.history[2].trainLoss < whole.history[0].trainLoss, JSON.stringify(whole.history));
    // Resuming with other settings is refused with the fix.
    await assertRejects(
      async () => {
        const config = { ...base, out: `${dir.path}/b`, learningRate: 1e-3 };
        const { loaded } = await loadStageData(config, ["train", "val"], "train");
        await trainModel({
          modelName: "tiny",
          build: () => tinyCnn("tiny", { numClasses: 4, imgSizePx: 48 }),
          loaded,
          config,
          cosine: true,
          log: () => {},
          progressSink: { isTerminal: () => false, write: () => {} },
        });
      },
      InputError,
      "--fresh",
    );
  },
});
