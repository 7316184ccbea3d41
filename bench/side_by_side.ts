/**
 * Our side of the side-by-side benchmark; `bench/pytorch_reference.py` is PyTorch's, with the
 * same case names and protocol: batch 8 at 224 px, random weights and inputs, one warm-up, the
 * median of `--repeats` runs, ms per image. Run both on the same machine, one after the other:
 *
 * ```sh
 * deno run --allow-read=. --allow-ffi bench/side_by_side.ts --openblas on [--only REGEX]
 * deno run --allow-read=. bench/side_by_side.ts --openblas off   # XNNPACK convolutions
 * /usr/bin/python3 bench/pytorch_reference.py --threads 1
 * ```
 *
 * Differences in what is timed, all in PyTorch's favour or neutral: our forward runs the
 * BatchNorm-folded model (`predictLogits` does); our training step is the forward and all weight
 * gradients without the optimizer update (PyTorch's includes AdamW's), and mobilenet_v2 trains at
 * batch 4 (wasm's 4 GB heap).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { foldBatchNorm } from "../graph/fold_batchnorm.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { buildModel } from "../models/registry.ts";
import { crossEntropyFromLogits } from "../training/cross_entropy.ts";
import { getExplainer } from "../xai/registry.ts";

const BATCH = 8;
const SIZE_PX = 224;
const CLASSES = 4;

const { values: flags } = parseArgs({
  options: {
    openblas: { type: "string", default: "on" },
    repeats: { type: "string", default: "3" },
    only: { type: "string" },
  },
});
if (flags.openblas !== "on" && flags.openblas !== "off") {
  throw new Error(`--openblas ${flags.openblas}: expected on or off`);
}
const repeats = Number(flags.repeats);
const choice = await startBackend("wasm", { openBlas: flags.openblas === "on" });
console.log(`ecg-xai, ${describeBackend(choice)}, batch ${BATCH}`);

const only = flags.only === undefined ? undefined : new RegExp(flags.only);

/**
 * Prints case `name`'s ms per image: the median of `repeats` runs of `fn` after one warm-up
 * (`once`: a single run, for cases of minutes). Cases `--only` does not match are skipped.
 */
async function measure(
  name: string,
  images: number,
  fn: () => Promise<unknown>,
  { once = false } = {},
): Promise<void> {
  if (only && !only.test(name)) return;
  if (!once) await fn();
  const seconds: number[] = [];
  for (let i = 0; i < (once ? 1 : repeats); i++) {
    const start = performance.now();
    await fn();
    seconds.push((performance.now() - start) / 1000);
  }
  const median = seconds.sort((a, b) => a - b)[Math.floor(seconds.length / 2)];
  console.log(`${name}\t${(median * 1000 / images).toFixed(1)} ms/image`);
}

const x = tf.randomUniform([BATCH, SIZE_PX, SIZE_PX, 3], -1, 1, "float32", 1) as tf.Tensor4D;
const targets = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
const labels = tf.tensor1d(targets, "int32");

for (const arch of ["resnet18", "mobilenet_v2"] as const) {
  const model = buildModel(arch, { numClasses: CLASSES, imgSizePx: SIZE_PX, seed: 1 });
  const folded = foldBatchNorm(model);
  await measure(`${arch} forward`, BATCH, async () => {
    const logits = folded.predict(x) as tf.Tensor;
    await logits.data();
    logits.dispose();
  });
  await measure(`${arch} forward + input gradient`, BATCH, async () => {
    const { logits, gradient } = inputGradients(model, x, targets);
    await gradient.data();
    tf.dispose([logits, gradient]);
  });
  const trainBatch = arch === "mobilenet_v2" ? BATCH / 2 : BATCH;
  const trainX = x.slice(0, trainBatch);
  const trainLabels = labels.slice(0, trainBatch);
  await measure(`${arch} training step`, trainBatch, async () => {
    const { value, grads } = tf.variableGrads(() =>
      crossEntropyFromLogits(model.apply(trainX, { training: true }) as tf.Tensor2D, trainLabels)
    );
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([trainX, trainLabels]);
  folded.dispose();
  if (arch !== "resnet18") {
    model.dispose();
    continue;
  }
  for (const method of ["gradcam", "gradcam_plus_plus"]) {
    const explainer = getExplainer(method);
    await measure(`resnet18 ${method}`, BATCH, () => explainer.explain(model, x, targets));
  }
  const one = x.slice(0, 1);
  const ig = getExplainer("integrated_gradients");
  await measure(
    "resnet18 integrated_gradients (50 steps)",
    1,
    () => ig.explain(model, one, targets.subarray(0, 1), { nSteps: 50 }),
  );
  // LIME's defaults: 800 samples, quickshift. Minutes per image: one run.
  const lime = getExplainer("lime");
  await measure(
    "resnet18 lime (800 samples)",
    1,
    () => lime.explain(model, one, targets.subarray(0, 1)),
    {
      once: true,
    },
  );
  one.dispose();
  model.dispose();
}
