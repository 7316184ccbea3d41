/**
 * The WGSL Grad-CAM pooling kernel against its TypeScript reference on random inputs, and
 * Grad-CAM / GradCAM++ end to end on the webgpu backend (which uses the kernel) against wasm
 * (which uses tfjs ops). WebGPU runs on CPU-only machines through the software adapter; the tests
 * skip only where there is no WebGPU adapter at all.
 */
import { tf } from "../deps.ts";
import { type Random, SeededRandom } from "../core/random.ts";
import { camPoolWebGpu } from "../xai/kernels/gradcam_pool.ts";
import { camPoolReference } from "../xai/kernels/gradcam_pool_reference.ts";
import type { CamWeighting } from "../xai/kernels/cam_weighting.ts";
import type { ShapeNHWC } from "../core/shapes.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { GRADCAM_PLUS_PLUS } from "../xai/cam/gradcam_plus_plus.ts";
import { assertClose } from "./assert.ts";
import { needsWebGpu } from "./webgpu_gate.ts";

const onWebGpu = await needsWebGpu("Grad-CAM WGSL kernel");

/** [N, h, w, C] layer, [H, W] output: non-square both ways, C off the workgroup size, N > 1. */
const CASES: { shapeNHWC: ShapeNHWC; outputSizePx: [number, number] }[] = [
  { shapeNHWC: [1, 7, 7, 64], outputSizePx: [32, 32] },
  { shapeNHWC: [2, 5, 3, 70], outputSizePx: [11, 9] },
  { shapeNHWC: [3, 4, 6, 130], outputSizePx: [16, 30] },
  { shapeNHWC: [2, 9, 8, 3], outputSizePx: [4, 5] },
  { shapeNHWC: [2, 1, 1, 5], outputSizePx: [3, 2] },
];

/**
 * Activations like a ReLU layer's (≥ 0, a quarter exactly 0) and signed gradients with a tenth
 * exactly 0 (GradCAM++'s alpha is defined as 0 there).
 */
function randomLayer(random: Random, size: number): [Float32Array, Float32Array] {
  const activation = Float32Array.from(
    { length: size },
    () => random.uniform() < 0.25 ? 0 : 2 * random.uniform(),
  );
  const gradient = Float32Array.from(
    { length: size },
    () => random.uniform() < 0.1 ? 0 : 0.05 * random.normal(),
  );
  return [activation, gradient];
}

Deno.test({
  name: "Grad-CAM WGSL kernel equals the TypeScript reference within 1e-5 (Grad-CAM, GradCAM++)",
  ...onWebGpu,
  async fn() {
    await startBackend("webgpu");
    const random = new SeededRandom(7);
    for (const { shapeNHWC, outputSizePx } of CASES) {
      const [activationNHWC, gradientNHWC] = randomLayer(
        random,
        shapeNHWC.reduce((a, b) => a * b, 1),
      );
      for (const weighting of ["gradcam", "gradcam++"] as CamWeighting[]) {
        const label = `${weighting} [${shapeNHWC}] -> [${outputSizePx}]`;
        const expected = camPoolReference({
          activationNHWC,
          gradientNHWC,
          shapeNHWC,
          weighting,
          outputSizePx,
        });
        // The inputs come out of tfjs programs still queued on the device: the kernel must see
        // their results, not stale buffers. abs and neg∘neg are exact.
        const [activation, gradient] = tf.tidy(() => [
          tf.abs(tf.tensor4d(activationNHWC, [...shapeNHWC])) as tf.Tensor4D,
          tf.neg(tf.neg(tf.tensor4d(gradientNHWC, [...shapeNHWC]))) as tf.Tensor4D,
        ]);
        const pooled = camPoolWebGpu(activation, gradient, weighting, outputSizePx);
        assertClose(await pooled.weightsNC.data(), expected.weightsNC, 1e-5, `${label} weights`);
        assertClose(
          await pooled.layerMapsNhw.data(),
          expected.layerMapsNhw,
          1e-5,
          `${label} layer maps`,
        );
        assertClose(await pooled.mapsNHW.data(), expected.mapsNHW, 1e-5, `${label} maps`);
        tf.dispose([activation, gradient, ...Object.values(pooled)]);
      }
    }
  },
});

Deno.test({
  name: "Grad-CAM and GradCAM++ on webgpu (WGSL kernel) equal wasm (tfjs ops) within 1e-4",
  ...onWebGpu,
  async fn() {
    const sizePx = 32;
    const random = new SeededRandom(3);
    const xValues = Float32Array.from({ length: 2 * sizePx * sizePx * 3 }, () => random.normal());
    const targets = Int32Array.from([0, 3]);
    const run = async (backend: "webgpu" | "wasm", weights?: Float32Array[]) => {
      await startBackend(backend);
      const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: sizePx, seed: 1 });
      if (weights) {
        // The same weights on both backends, whatever the initialisers do there.
        const tensors = weights.map((w, i) => tf.tensor(w, model.getWeights()[i].shape));
        model.setWeights(tensors);
        tf.dispose(tensors);
      }
      const x = tf.tensor4d(xValues, [2, sizePx, sizePx, 3]);
      const maps = [];
      for (const explainer of [GRADCAM, GRADCAM_PLUS_PLUS]) {
        // features.2.2: the ReLU after the third conv, 4 x 4 x 64 at 32 px, so the upsampling
        // has something to interpolate (the default layer is 1 x 1 there).
        for (const layer of ["default", "features.2.2"]) {
          maps.push((await explainer.explain(model, x, targets, { layer })).mapsNHW);
        }
      }
      const modelWeights = await Promise.all(
        model.getWeights().map(async (w) => await w.data() as Float32Array),
      );
      tf.dispose(x);
      model.dispose();
      return { maps, modelWeights };
    };
    const onGpu = await run("webgpu");
    const onWasm = await run("wasm", onGpu.modelWeights);
    onGpu.maps.forEach((map, i) => assertClose(map, onWasm.maps[i], 1e-4, `explanation ${i}`));
  },
});
