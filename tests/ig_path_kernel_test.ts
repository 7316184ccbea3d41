/**
 * The WGSL Integrated Gradients path kernels against their TypeScript reference on random
 * inputs (whole batch and all steps at once, and chunk by chunk as the explainer calls them),
 * and Integrated Gradients end to end on the webgpu backend (which uses the kernels) against
 * wasm (which uses tfjs ops). Skipped only where there is no WebGPU adapter at all.
 */
import { tf } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import type { ShapeNHWC } from "../core/shapes.ts";
import { igAccumulateWebGpu, igScaledInputsWebGpu } from "../xai/kernels/ig_path.ts";
import {
  igAccumulateReference,
  igScaledInputsReference,
} from "../xai/kernels/ig_path_reference.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";
import { pathQuadrature } from "../xai/gradient/quadrature.ts";
import { assertClose } from "./assert.ts";
import { needsWebGpu } from "./webgpu_gate.ts";

const onWebGpu = await needsWebGpu("IG WGSL kernels");

/** Batch shapes (non-square, C of 1 and 3, N > 1), step counts and model chunk sizes. */
const CASES: { shapeNHWC: ShapeNHWC; steps: number; chunk: number }[] = [
  { shapeNHWC: [1, 4, 4, 3], steps: 5, chunk: 2 },
  { shapeNHWC: [3, 5, 7, 3], steps: 7, chunk: 4 },
  { shapeNHWC: [2, 6, 3, 1], steps: 50, chunk: 16 },
];

Deno.test({
  name: "IG WGSL kernels equal the TypeScript reference within 1e-5, at once and by chunks",
  ...onWebGpu,
  async fn() {
    await startBackend("webgpu");
    const random = new SeededRandom(11);
    const normals = (length: number) => Float32Array.from({ length }, () => random.normal());
    for (const { shapeNHWC, steps, chunk } of CASES) {
      const label = `[${shapeNHWC}] x ${steps} steps`;
      const size = shapeNHWC.reduce((a, b) => a * b, 1);
      const [xValues, baselineValues, gradientValues] = [
        normals(size),
        normals(size),
        normals(steps * size),
      ];
      const { alphas, stepSizes } = pathQuadrature("gausslegendre", steps);
      const [batch, heightPx, widthPx, channels] = shapeNHWC;
      const rowCount = steps * batch;
      // Inputs still queued as tfjs programs: the kernels must flush tfjs's queue first.
      const [x, baseline, gradients] = tf.tidy(() => [
        tf.neg(tf.neg(tf.tensor4d(xValues, [...shapeNHWC]))) as tf.Tensor4D,
        tf.abs(tf.neg(tf.tensor4d(baselineValues, [...shapeNHWC]))) as tf.Tensor4D,
        tf.neg(
          tf.neg(tf.tensor4d(gradientValues, [rowCount, heightPx, widthPx, channels])),
        ) as tf.Tensor4D,
      ]);
      const baselineAbs = baselineValues.map(Math.abs);

      const expectedRows = igScaledInputsReference(xValues, baselineAbs, shapeNHWC, alphas);
      const allRows = igScaledInputsWebGpu(x, baseline, alphas, 0, rowCount);
      assertClose(await allRows.data(), expectedRows, 1e-5, `${label}: all scaled inputs`);
      const expected = igAccumulateReference(
        gradientValues,
        xValues,
        baselineAbs,
        shapeNHWC,
        stepSizes,
      );
      const zeros = tf.zerosLike(x);
      const atOnce = igAccumulateWebGpu(zeros, gradients, x, baseline, stepSizes, 0);
      assertClose(await atOnce.data(), expected, 1e-5, `${label}: attributions at once`);

      let byChunks = tf.zerosLike(x) as tf.Tensor4D;
      for (let start = 0; start < rowCount; start += chunk) {
        const end = Math.min(rowCount, start + chunk);
        const rows = igScaledInputsWebGpu(x, baseline, alphas, start, end);
        assertClose(
          await rows.data(),
          expectedRows.subarray(start * (size / batch), end * (size / batch)),
          1e-5,
          `${label}: scaled inputs of rows ${start}..${end}`,
        );
        const chunkGradients = tf.slice(gradients, [start], [end - start]) as tf.Tensor4D;
        const next = igAccumulateWebGpu(byChunks, chunkGradients, x, baseline, stepSizes, start);
        tf.dispose([rows, chunkGradients, byChunks]);
        byChunks = next;
      }
      assertClose(await byChunks.data(), expected, 1e-5, `${label}: attributions by chunks`);
      tf.dispose([x, baseline, gradients, allRows, zeros, atOnce, byChunks]);
    }
  },
});

Deno.test({
  name: "Integrated Gradients on webgpu (WGSL kernels) equals wasm (tfjs ops) within 1e-4",
  ...onWebGpu,
  async fn() {
    const sizePx = 32;
    const random = new SeededRandom(5);
    const xValues = Float32Array.from({ length: 2 * sizePx * sizePx * 3 }, () => random.normal());
    const targets = Int32Array.from([1, 2]);
    // 2 model calls of 4 rows over 2 images x 4 steps (uneven chunks: the kernel test above).
    const options = { nSteps: 4, internalBatchSize: 4, keepChannels: true, seed: 9 };
    const run = async (backend: "webgpu" | "wasm", weights?: Float32Array[]) => {
      await startBackend(backend);
      const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: sizePx, seed: 1 });
      if (weights) {
        const tensors = weights.map((w, i) => tf.tensor(w, model.getWeights()[i].shape));
        model.setWeights(tensors);
        tf.dispose(tensors);
      }
      const x = tf.tensor4d(xValues, [2, sizePx, sizePx, 3]);
      const attribution = await INTEGRATED_GRADIENTS.explain(model, x, targets, {
        ...options,
        baseline: "uniform",
      });
      const modelWeights = await Promise.all(
        model.getWeights().map(async (w) => await w.data() as Float32Array),
      );
      tf.dispose(x);
      model.dispose();
      return { attribution, modelWeights };
    };
    const onGpu = await run("webgpu");
    const onWasm = await run("wasm", onGpu.modelWeights);
    assertClose(
      onGpu.attribution.attributionsNHWC!,
      onWasm.attribution.attributionsNHWC!,
      1e-4,
      "attributions",
    );
  },
});
