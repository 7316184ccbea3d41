/**
 * The WGSL explainer kernels against their plain-TypeScript references and the tfjs-ops path the
 * explainers take on other backends, at resnet18-like sizes: Grad-CAM pooling of 8 images of
 * 7 x 7 x 512 to 224 x 224, and the IG path of 8 images x 50 steps at 64 px. On a CPU-only
 * machine WebGPU is the software adapter (llvmpipe); the figures say nothing about a real GPU.
 *
 * Run: `deno bench --allow-read=. bench/kernels_bench.ts`. Every GPU case ends by reading its
 * result back (as the explainers do; the IG path rows, which feed the model, only their last
 * row), so a mean is the whole job, not just the dispatch.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { camPoolWebGpu } from "../xai/kernels/gradcam_pool.ts";
import { camPoolReference } from "../xai/kernels/gradcam_pool_reference.ts";
import type { ShapeNHWC } from "../core/shapes.ts";
import { igAccumulateWebGpu, igScaledInputsWebGpu } from "../xai/kernels/ig_path.ts";
import {
  igAccumulateReference,
  igScaledInputsReference,
} from "../xai/kernels/ig_path_reference.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { camPool } from "../xai/cam/cam.ts";
import { gradCamRule } from "../xai/cam/gradcam.ts";
import { gradCamPlusPlusRule } from "../xai/cam/gradcam_plus_plus.ts";
import { pathQuadrature } from "../xai/gradient/quadrature.ts";

const choice = await startBackend("webgpu");
console.log(describeBackend(choice));

const options = { n: 5, warmup: 1 };

{
  const shapeNHWC: ShapeNHWC = [8, 7, 7, 512];
  const outputSizePx: [number, number] = [224, 224];
  const activation = tf.randomUniform([...shapeNHWC], 0, 2, "float32", 1) as tf.Tensor4D;
  const gradient = tf.randomNormal([...shapeNHWC], 0, 0.01, "float32", 2) as tf.Tensor4D;
  const [activationNHWC, gradientNHWC] = [
    await activation.data() as Float32Array,
    await gradient.data() as Float32Array,
  ];
  for (const weighting of ["gradcam", "gradcam++"] as const) {
    const group = `${weighting} pooling, 8 x 7 x 7 x 512 -> 224 x 224`;
    Deno.bench(
      { ...options, group, name: `${weighting} WGSL kernel (webgpu)`, baseline: true },
      async () => {
        const pooled = camPoolWebGpu(activation, gradient, weighting, outputSizePx);
        await pooled.mapsNHW.data();
        tf.dispose(Object.values(pooled));
      },
    );
    Deno.bench({ ...options, group, name: `${weighting} tfjs ops (webgpu)` }, async () => {
      const rule = weighting === "gradcam" ? gradCamRule : gradCamPlusPlusRule;
      const pooled = camPool(activation, gradient, rule, outputSizePx);
      await pooled.mapsNHW.data();
      tf.dispose(Object.values(pooled));
    });
    Deno.bench({ ...options, group, name: `${weighting} TypeScript reference (CPU)` }, () => {
      camPoolReference({ activationNHWC, gradientNHWC, shapeNHWC, weighting, outputSizePx });
    });
  }
}

{
  const shapeNHWC: ShapeNHWC = [8, 64, 64, 3];
  const steps = 50;
  const { alphas, stepSizes } = pathQuadrature("gausslegendre", steps);
  const rowCount = steps * shapeNHWC[0];
  const x = tf.randomUniform([...shapeNHWC], -1, 1, "float32", 3) as tf.Tensor4D;
  const baseline = tf.zeros([...shapeNHWC]) as tf.Tensor4D;
  const gradients = tf.randomNormal([rowCount, 64, 64, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const [xNHWC, baselineNHWC, gradientsSNHWC] = [
    await x.data() as Float32Array,
    await baseline.data() as Float32Array,
    await gradients.data() as Float32Array,
  ];
  const group = "IG path, 8 images x 50 steps at 64 px";
  Deno.bench(
    { ...options, group, name: "scaled inputs, WGSL kernel (webgpu)", baseline: true },
    async () => {
      const rows = igScaledInputsWebGpu(x, baseline, alphas, 0, rowCount);
      // The rows feed the model, not the CPU: wait for them by reading back only the last one.
      const last = tf.slice(rows, [rowCount - 1], [1]);
      await last.data();
      tf.dispose([rows, last]);
    },
  );
  Deno.bench({ ...options, group, name: "scaled inputs, TypeScript reference (CPU)" }, () => {
    igScaledInputsReference(xNHWC, baselineNHWC, shapeNHWC, alphas);
  });
  Deno.bench({ ...options, group, name: "accumulation, WGSL kernel (webgpu)" }, async () => {
    const zeros = tf.zerosLike(x);
    const attributions = igAccumulateWebGpu(zeros, gradients, x, baseline, stepSizes, 0);
    await attributions.data();
    tf.dispose([zeros, attributions]);
  });
  Deno.bench({ ...options, group, name: "accumulation, TypeScript reference (CPU)" }, () => {
    igAccumulateReference(gradientsSNHWC, xNHWC, baselineNHWC, shapeNHWC, stepSizes);
  });
}
