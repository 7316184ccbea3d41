/**
 * MPRT's reuse of the unchanged activations below the randomised layer: the same bits as
 * recomputing everything, and the cache is really read.
 */
import { tf } from "../deps.ts";
import type { ForwardCache } from "../graph/input_gradients.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import type { ExplainFunction } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { MPRT } from "../metrics/randomisation/mprt.ts";
import { SeededRandom } from "../core/random.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { GRADCAM_PLUS_PLUS } from "../xai/cam/gradcam_plus_plus.ts";
import { INTEGRATED_GRADIENTS, keptPathRowsPlan } from "../xai/gradient/integrated_gradients.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

/** A small residual network: stem, one basic block with a skip connection, a last conv. */
function tinyResNet(sizePx: number): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const conv = (name: string, seed: number) =>
    tf.layers.conv2d({
      name,
      filters: 4,
      kernelSize: 3,
      padding: "same",
      kernelInitializer: init(seed),
    });
  const bn = (name: string) => tf.layers.batchNormalization({ name, epsilon: 1e-5 });
  const x = tf.input({ shape: [sizePx, sizePx, 3] });
  const stem = tf.layers.reLU().apply(
    bn("bn1").apply(conv("conv1", 1).apply(x)),
  ) as tf.SymbolicTensor;
  const branch = bn("bn2").apply(conv("conv2", 2).apply(stem)) as tf.SymbolicTensor;
  const block = tf.layers.reLU().apply(tf.layers.add().apply([stem, branch])) as tf.SymbolicTensor;
  const last = tf.layers.reLU().apply(conv("conv3", 3).apply(block)) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(last) as tf.SymbolicTensor;
  const fc = tf.layers.dense({ name: "fc", units: 4, kernelInitializer: init(4) });
  return tf.model({ inputs: x, outputs: fc.apply(pooled) as tf.SymbolicTensor });
}

for (const name of ["ecgnet", "tiny residual net"]) {
  Deno.test(`MPRT on ${name}: reused activations give the same bits as recomputing`, async () => {
    await startBackend("cpu");
    // At 64 px ecgnet's Grad-CAM layer is 2x2, so its maps are not constant.
    const sizePx = name === "ecgnet" ? 64 : 16;
    const layers = name === "ecgnet"
      ? buildModel(name, { numClasses: 4, imgSizePx: sizePx, seed: 2 })
      : tinyResNet(sizePx);
    const model = new MetricModel(layers);
    try {
      const random = new SeededRandom(9);
      const n = 2;
      const xNHWC = Float32Array.from({ length: n * sizePx * sizePx * 3 }, () => random.uniform());
      const shape = [n, sizePx, sizePx, 3] as const;
      for (const explainer of [GRADCAM, GRADCAM_PLUS_PLUS]) {
        const explain = explainerFunction(explainer, { layer: "last-conv" });
        const batch = {
          xNHWC,
          shapeNHWC: shape,
          targets: Int32Array.of(1, 3),
          attributionsNHW: await explain(layers, xNHWC, shape, Int32Array.of(1, 3)),
        };
        let reads = 0;
        const counting: ExplainFunction = async (m, x, s, t, reuse?: ForwardCache) => {
          const maps = await explain(m, x, s, t, reuse);
          reads = reuse?.reads ?? reads;
          return maps;
        };
        const recomputing: ExplainFunction = (m, x, s, t) => explain(m, x, s, t);
        const params = { ...MPRT.defaults, normalise: false };
        const [reused, recomputed] = await Promise.all(
          [counting, recomputing].map((fn) =>
            MPRT.evaluate({ model, explain: fn, draws: new SeededDraws(1) }, batch, params)
          ),
        );
        assert(reads > 0, `${explainer.name}: the cache was never read`);
        assertEquals(Object.keys(reused.series!), Object.keys(recomputed.series!));
        for (const key of Object.keys(reused.series!)) {
          assertEquals([...reused.series![key]], [...recomputed.series![key]], key);
        }
        assertEquals([...reused.scores], [...recomputed.scores]);
        assert(reused.scores.some((v) => Number.isFinite(v)), explainer.name);
      }
    } finally {
      model.dispose();
      layers.dispose();
    }
  });
}

// resnet18 on wasm: the max-pool after the stem (its convolutions on the stock kernels), the
// downsampling branches, and the OpenBLAS kernels the benchmarks run on.
for (
  const [name, backend, sizePx] of [
    ["ecgnet", "cpu", 32],
    ["tiny residual net", "cpu", 8],
    ["resnet18", "wasm", 32],
  ] as const
) {
  Deno.test(`MPRT with Integrated Gradients on ${name} (${backend}): kept path rows give the same maps`, async () => {
    await startBackend(backend);
    const layers = name === "tiny residual net"
      ? tinyResNet(sizePx)
      : buildModel(name, { numClasses: 4, imgSizePx: sizePx, seed: 2 });
    const model = new MetricModel(layers);
    try {
      const random = new SeededRandom(5);
      const n = 2;
      const xNHWC = Float32Array.from({ length: n * sizePx * sizePx * 3 }, () => random.uniform());
      const shape = [n, sizePx, sizePx, 3] as const;
      const targets = Int32Array.of(2, 0);
      // 3 chunks of rows (4 steps x 2 images in chunks of 3): a chunk may mix images and steps.
      const explain = explainerFunction(INTEGRATED_GRADIENTS, { nSteps: 4, internalBatchSize: 3 });
      const batch = {
        xNHWC,
        shapeNHWC: shape,
        targets,
        attributionsNHW: await explain(layers, xNHWC, shape, targets),
      };
      const maps = { kept: [] as Float32Array[], recomputed: [] as Float32Array[] };
      let reads = 0;
      const keeping: ExplainFunction = async (m, x, s, t, reuse?: ForwardCache) => {
        const map = await explain(m, x, s, t, reuse);
        if (reuse) maps.kept.push(map);
        reads = reuse?.reads ?? reads;
        return map;
      };
      const recomputing: ExplainFunction = async (m, x, s, t, reuse?: ForwardCache) => {
        const map = await explain(m, x, s, t);
        if (reuse) maps.recomputed.push(map);
        return map;
      };
      for (const fn of [keeping, recomputing]) {
        await MPRT.evaluate(
          { model, explain: fn, draws: new SeededDraws(1) },
          batch,
          MPRT.defaults,
        );
      }
      assert(reads > 0, "the kept path rows were never read");
      assertEquals(maps.kept.length, maps.recomputed.length);
      maps.kept.forEach((map, k) => {
        // Bit for bit: each node's gradient is taken with the taped pass's ops, in its order.
        assertEquals([...map], [...maps.recomputed[k]], `state ${k}`);
      });
    } finally {
      model.dispose();
      layers.dispose();
    }
  });
}

Deno.test("MPRT cascades image groups where the explainer asks: each call one group, the same scores", async () => {
  await startBackend("cpu");
  const sizePx = 8;
  const layers = tinyResNet(sizePx);
  const model = new MetricModel(layers);
  try {
    const random = new SeededRandom(3);
    const n = 3;
    const shape = [n, sizePx, sizePx, 3] as const;
    const xNHWC = Float32Array.from({ length: n * sizePx * sizePx * 3 }, () => random.uniform());
    const targets = Int32Array.of(0, 1, 2);
    const explain = explainerFunction(INTEGRATED_GRADIENTS, { nSteps: 4 });
    assert(explain.imagesPerCascade !== undefined, "IG's image groups are not passed on");
    const batch = {
      xNHWC,
      shapeNHWC: shape,
      targets,
      attributionsNHW: await explain(layers, xNHWC, shape, targets),
    };
    const imagesPerCall: number[] = [];
    const grouped: ExplainFunction = (m, x, s, t, reuse?: ForwardCache) => {
      imagesPerCall.push(s[0]);
      if (reuse) assertEquals(reuse.xNHWC.shape[0], s[0], "the cache holds the group's images");
      return explain(m, x, s, t, reuse);
    };
    grouped.imagesPerCascade = () => 1;
    const whole: ExplainFunction = (m, x, s, t, reuse?: ForwardCache) => explain(m, x, s, t, reuse);
    const context = (fn: ExplainFunction) => ({ model, explain: fn, draws: new SeededDraws(1) });
    const byGroup = await MPRT.evaluate(context(grouped), batch, MPRT.defaults);
    const together = await MPRT.evaluate(context(whole), batch, MPRT.defaults);
    const keys = Object.keys(together.series!);
    assertEquals(Object.keys(byGroup.series!), keys);
    assertEquals(imagesPerCall, new Array(n * keys.length).fill(1));
    // Per image the same maps up to the order IG sums its path rows in (chunks differ).
    for (const key of keys) {
      assertClose([...byGroup.series![key]], [...together.series![key]], 1e-5, key);
    }
    // Quantus's normalisation spans the batch: quantusCompat keeps one cascade.
    imagesPerCall.length = 0;
    await MPRT.evaluate(context(grouped), batch, { ...MPRT.defaults, quantusCompat: true });
    assert(imagesPerCall.every((count) => count === n), `calls of ${imagesPerCall} images`);
  } finally {
    model.dispose();
    layers.dispose();
  }
});

Deno.test("IG under MPRT on resnet18 at 224 px keeps all 50 path rows within the default budget", async () => {
  await startBackend("cpu");
  const layers = buildModel("resnet18", { numClasses: 4, imgSizePx: 224, seed: 1 });
  try {
    // The usual chunk of 16 leaves room for 32 of the 50 rows; chunks of 13 for all of them.
    assertEquals(keptPathRowsPlan(layers, 50), { internalBatchSize: 13, images: 1 });
    assertEquals(INTEGRATED_GRADIENTS.imagesPerCascade!(layers), 1);
  } finally {
    layers.dispose();
  }
});
