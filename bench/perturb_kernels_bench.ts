/**
 * The perturbation kernels against their TypeScript references on the machine's WebGPU adapter
 * (llvmpipe, a CPU rasteriser, on our machines): FaithfulnessCorrelation's copies of 8 images
 * at 224x224x3 with 50 random subsets of 50 pixels (built as the metric does, in 2 calls of 25
 * runs, since 400 copies exceed the 128 MiB storage binding), and MaxSensitivity's 7 noise
 * samples of the same batch. Then the cumulative mode: PixelFlipping's steps of 8 images at
 * 64x64x3 (64 steps of one row, 64 px, as the metric's default), the copies alone and
 * {@link cumulativeCurves} end to end with a small convolutional model, kernel against the CPU
 * loop on the same webgpu backend.
 *
 * "reference + upload" is what the metrics paid on webgpu before the kernels: the copies built
 * on the CPU and written into a GPU buffer. The kernel cases (on tfjs's webgpu device) upload
 * only the images, indices and baselines (or noise) and build the copies on the device.
 *
 * Run: `deno bench --allow-read=. bench/perturb_kernels_bench.ts`.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { addNoiseWebGpu } from "../metrics/kernels/add_noise.ts";
import { addNoiseReference } from "../metrics/kernels/add_noise_cpu.ts";
import type { NoisePerturbation } from "../metrics/kernels/add_noise_types.ts";
import { perturbSubsetsWebGpu } from "../metrics/kernels/perturb_subsets.ts";
import { perturbSubsetsReference } from "../metrics/kernels/perturb_subsets_cpu.ts";
import {
  cumulativeSteps,
  type SubsetPerturbation,
} from "../metrics/kernels/perturb_subsets_types.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { stableRankOrder } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { batchBaselines } from "../metrics/functions/perturb.ts";
import { cumulativeCurves, orderedSteps } from "../metrics/faithfulness/perturbation_curve.ts";
import { probeWebGpu } from "../backends/backend.ts";

const [N, H, W, C] = [8, 224, 224, 3];
const RUNS = 50, SUBSET_PX = 50, CALLS = 2, SAMPLES = 7;
const random = new SeededRandom(1);
const xNHWC = Float32Array.from({ length: N * H * W * C }, () => random.normal());

const draws = new SeededDraws(2);
const subsetsKNM = new Int32Array(RUNS * N * SUBSET_PX);
for (let row = 0; row < RUNS * N; row++) {
  subsetsKNM.set(draws.choiceWithoutReplacement(H * W, SUBSET_PX), row * SUBSET_PX);
}
const baselinesKN = Float32Array.from({ length: RUNS * N }, () => random.normal());
const runsPerCall = RUNS / CALLS;
const calls: SubsetPerturbation[] = Array.from({ length: CALLS }, (_, call) => ({
  xNHWC,
  shapeNHWC: [N, H, W, C],
  copies: runsPerCall,
  selection: {
    mode: "subsets",
    pixelsKNM: subsetsKNM.subarray(
      call * runsPerCall * N * SUBSET_PX,
      (call + 1) * runsPerCall * N * SUBSET_PX,
    ),
    subsetSize: SUBSET_PX,
  },
  baselinesKN: baselinesKN.subarray(call * runsPerCall * N, (call + 1) * runsPerCall * N),
}));
const noise: NoisePerturbation = {
  xNHWC,
  shapeNHWC: [N, H, W, C],
  noiseSNHWC: draws.uniform(-0.2, 0.2, SAMPLES * N * H * W * C),
};

const onGpu = (await probeWebGpu()).available && await tf.setBackend("webgpu");
if (!onGpu) console.warn("perturb kernels bench: no WebGPU adapter, only the references run");
/** tfjs's device, which the kernels run on. */
const device = onGpu ? (tf.backend() as unknown as { device: GPUDevice }).device : undefined;

const uploadBuffers = new Map<number, GPUBuffer>();

/**
 * Writes `values` into a GPU buffer and waits for the queue. Buffers are made once per size
 * and reused, as tfjs's pool reuses the kernels' outputs, so neither side pays for allocation.
 */
async function upload(values: Float32Array<ArrayBuffer>): Promise<void> {
  let buffer = uploadBuffers.get(values.byteLength);
  if (!buffer) {
    buffer = device!.createBuffer({
      size: values.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    uploadBuffers.set(values.byteLength, buffer);
  }
  device!.queue.writeBuffer(buffer, 0, values);
  await device!.queue.onSubmittedWorkDone();
}

async function finished(copies: tf.Tensor): Promise<void> {
  await device!.queue.onSubmittedWorkDone();
  copies.dispose();
}

const subsets = {
  group: `subsets: ${N} x ${H}x${W}x${C}, ${RUNS} runs of ${SUBSET_PX} px in ${CALLS} calls`,
  n: 3,
  warmup: 1,
};
Deno.bench({ ...subsets, name: "TS reference (Float32Array)", baseline: true }, () => {
  for (const call of calls) perturbSubsetsReference(call);
});
Deno.bench({ ...subsets, name: "TS reference + upload to the GPU", ignore: !device }, async () => {
  for (const call of calls) await upload(perturbSubsetsReference(call));
});
Deno.bench(
  { ...subsets, name: "WGSL kernel (one dispatch per call)", ignore: !device },
  async () => {
    for (const call of calls) await finished(perturbSubsetsWebGpu(call));
  },
);

const noisy = { group: `noise: ${N} x ${H}x${W}x${C}, ${SAMPLES} samples`, n: 3, warmup: 1 };
Deno.bench({ ...noisy, name: "TS reference (Float32Array)", baseline: true }, () => {
  addNoiseReference(noise);
});
Deno.bench({ ...noisy, name: "TS reference + upload to the GPU", ignore: !device }, async () => {
  await upload(addNoiseReference(noise));
});
Deno.bench({ ...noisy, name: "WGSL kernel (one dispatch)", ignore: !device }, async () => {
  await finished(addNoiseWebGpu(noise));
});

const [CN, CH, CW, CC] = [8, 64, 64, 3];
const curveShape = [CN, CH, CW, CC] as const;
const curveX = Float32Array.from({ length: CN * CH * CW * CC }, () => random.normal());
const curveSteps = Array.from({ length: CN }, (_, i) => {
  const map = Float32Array.from({ length: CH * CW }, () => random.normal());
  return orderedSteps(stableRankOrder(i, map, "descending"), CW);
});
const cumulative: SubsetPerturbation = {
  xNHWC: curveX,
  shapeNHWC: [...curveShape],
  copies: CH,
  selection: cumulativeSteps(curveSteps),
  baselinesKN: Float32Array.from({ length: CH * CN }, () => random.normal()),
};
const steps = {
  group: `cumulative: ${CN} x ${CH}x${CW}x${CC}, ${CH} steps of ${CW} px (${CH * CN} copies)`,
  n: 3,
  warmup: 1,
};
Deno.bench({ ...steps, name: "TS reference (Float32Array)", baseline: true }, () => {
  perturbSubsetsReference(cumulative);
});
Deno.bench({ ...steps, name: "TS reference + upload to the GPU", ignore: !device }, async () => {
  await upload(perturbSubsetsReference(cumulative));
});
Deno.bench({ ...steps, name: "WGSL kernel (one dispatch)", ignore: !device }, async () => {
  await finished(perturbSubsetsWebGpu(cumulative));
});

/** A small convolutional classifier on the curve images (random fixed weights). */
function curveModel(): MetricModel {
  const input = tf.input({ shape: [CH, CW, CC] });
  const conv = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: "relu" })
    .apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5 }).apply(pooled) as tf.SymbolicTensor;
  return new MetricModel(tf.model({ inputs: input, outputs: out }));
}
const model = device ? curveModel() : undefined;
const curveBatch = { xNHWC: curveX, shapeNHWC: curveShape, targets: new Int32Array(CN) };
const curves = (copiesOnGpu: boolean) =>
  cumulativeCurves(model!, curveBatch, {
    steps: curveSteps,
    baselines: (states) => batchBaselines("black", states, curveShape, new SeededDraws(3)),
    softmax: true,
    copiesOnGpu,
  });
const endToEnd = {
  group: `cumulativeCurves on webgpu, PixelFlipping's steps above, conv model (8 filters)`,
  n: 3,
  warmup: 1,
  ignore: !device,
};
Deno.bench(
  { ...endToEnd, name: "CPU loop (copies uploaded per model call)", baseline: true },
  async () => {
    await curves(false);
  },
);
Deno.bench(
  { ...endToEnd, name: "WGSL kernel (copies built on the GPU)" },
  async () => {
    await curves(true);
  },
);
