/**
 * The classifier as metrics see it: batched NHWC inputs in, logits or softmax probabilities out,
 * with the number of model calls counted (perturbation metrics are judged by how few they make).
 *
 * @module
 */
import { tf } from "../deps.ts";
import type { ShapeNHWC } from "../core/shapes.ts";
import { tensorMemory } from "../backends/accelerated.ts";
import { heapBudgetBytes } from "../backends/heap.ts";
import { perturbSubsets } from "./kernels/perturb_subsets.ts";
import {
  checkSubsetPerturbation,
  type SubsetPerturbation,
} from "./kernels/perturb_subsets_types.ts";
import { foldBatchNorm } from "../graph/fold_batchnorm.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
import { evaluateFrom } from "../graph/graph.ts";
import { SparseStem } from "../graph/sparse_stem.ts";

/**
 * Images per model call when a metric scores many perturbed copies at once, on a backend whose
 * tensors live in device memory (webgpu); on the host backends see {@link metricBatchSize}.
 */
export const METRIC_BATCH_SIZE = 64;

/** Input values per model call on the host backends (wasm, cpu): 8 images at 224 px. */
const CPU_BATCH_VALUES = 8 * 224 * 224 * 3;

/**
 * The default {@link MetricModel.batchSize} for a model on the active backend, by where it keeps
 * tensors (`tensorMemory`, `backends/accelerated.ts`): 64 images in device memory (webgpu); in
 * host memory (wasm, cpu) as many as fill {@link CPU_BATCH_VALUES} input values, 8 to 64 (8 at
 * 224 px). On the CPU smaller calls are faster per image while their activations stay in
 * cache: resnet18's FaithfulnessCorrelation took 3.3–3.6 s per image in calls of 8 against 3.9 s
 * in calls of 64, and Grad-CAM re-explanations 84–97 ms per image in calls of 8 against
 * 101–107 ms in calls of 32. Fewer where a gradient pass of that many images would not fit the
 * heap budget (`graph/footprint.ts`): the robustness metrics re-explain this many images per
 * call, and an explainer's one gradient pass (the CAM family's) takes them all at once
 * (resnet50 at 224 px: 4).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { metricBatchSize } from "./metric_model.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [224, 224, 3] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(input) as tf.SymbolicTensor });
 * assert(metricBatchSize(model) === 8);
 * ```
 */
export function metricBatchSize(layers: tf.LayersModel): number {
  if (tensorMemory() === "device") return METRIC_BATCH_SIZE;
  const imageValues = layers.inputs[0].shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
  const preferred = Math.max(
    8,
    Math.min(METRIC_BATCH_SIZE, Math.floor(CPU_BATCH_VALUES / imageValues)),
  );
  return rowsWithinBudget(layers, "gradient", preferred);
}

/**
 * Bytes of perturbed copies one subset-perturbation pass builds at most: WebGPU's default
 * largest storage binding, so that a pass is one kernel dispatch on webgpu.
 */
const COPY_BYTES_PER_PASS = 128 * 2 ** 20;

/**
 * The share of the heap budget the copies of one pass may take on the host backends: the rest is
 * for the model calls that score them.
 */
const COPY_SHARE_OF_HEAP_BUDGET = 1 / 16;

/**
 * K, how many copies of every image of a batch of `shapeNHWC` one subset-perturbation pass
 * (`perturbSubsets`, {@link MetricModel.targetScoresOfSubsetCopies}) should build: as many as
 * fill {@link COPY_BYTES_PER_PASS}, at least 1 (on the host backends at most
 * {@link COPY_SHARE_OF_HEAP_BUDGET} of the heap budget, which the default budget leaves at
 * 128 MiB). Metrics group their runs or steps by this (all at once for small images) on every
 * backend, so the grouping and the memory the copies take are the same everywhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { copiesPerPass } from "./metric_model.ts";
 * assert(copiesPerPass([8, 224, 224, 3]) === 27);
 * assert(copiesPerPass([1, 28, 28, 1]) === 42799);
 * ```
 */
export function copiesPerPass(shapeNHWC: ShapeNHWC): number {
  const bytesPerCopy = shapeNHWC.reduce((a, b) => a * b, 4);
  const bytes = tensorMemory() === "device"
    ? COPY_BYTES_PER_PASS
    : Math.min(COPY_BYTES_PER_PASS, COPY_SHARE_OF_HEAP_BUDGET * heapBudgetBytes());
  return Math.max(1, Math.floor(bytes / bytesPerCopy));
}

/**
 * A tfjs classifier with logits as outputs, wrapped for metrics.
 *
 * Forward passes run through a copy with BatchNorm folded into the convolutions (made on first
 * use); gradients and re-explanations use {@link MetricModel.layers}, the model itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { MetricModel } from "./metric_model.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 1, 2] });
 * const out = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const model = new MetricModel(tf.model({ inputs: input, outputs: out }));
 * const p = await model.scores(Float32Array.of(0, 0), [1, 1, 1, 2], { softmax: true });
 * assert(Math.abs(p[0] - 0.5) < 1e-6 && model.numClasses === 2);
 * assert.equal(model.calls, 1);
 * const x = tf.tensor4d([3, 1], [1, 1, 1, 2]); // e.g. copies a GPU kernel built
 * const logits = await model.targetScoresOfTensor(x, Int32Array.of(0), { softmax: false });
 * assert(logits[0] === 3);
 * assert.equal(model.calls, 2);
 * x.dispose();
 * model.dispose();
 * ```
 */
export class MetricModel {
  /** The model itself (for gradients and explainers). */
  readonly layers: tf.LayersModel;
  /** Size of the output layer. */
  readonly numClasses: number;
  /** Images per forward call. */
  readonly batchSize: number;
  /** Forward calls made so far (each of at most `batchSize` images). */
  calls = 0;
  #inference: tf.LayersModel | undefined;
  #stem: SparseStem | null | undefined;

  /**
   * @param layers a model whose output is `[N, classes]` logits.
   * @param batchSize images per forward call; default {@link metricBatchSize}.
   */
  constructor(layers: tf.LayersModel, batchSize = metricBatchSize(layers)) {
    this.layers = layers;
    const outputShape = layers.outputs[0].shape;
    this.numClasses = outputShape[outputShape.length - 1] ?? 0;
    this.batchSize = batchSize;
  }

  /**
   * `[N, classes]` outputs for an NHWC batch of any size: logits, or softmax probabilities with
   * `softmax`.
   */
  scores(
    xNHWC: Float32Array,
    shapeNHWC: ShapeNHWC,
    options: { softmax: boolean },
  ): Promise<Float32Array> {
    const [n, h, w, c] = shapeNHWC;
    const perImage = h * w * c;
    return this.#scoreBatches(
      n,
      options,
      (start, count) =>
        tf.tensor4d(xNHWC.subarray(start * perImage, (start + count) * perImage), [count, h, w, c]),
    );
  }

  /**
   * {@link MetricModel.scores} for inputs already on the backend (copies a GPU kernel built):
   * the tensor is sliced into calls of `batchSize` images, never read back. It stays the
   * caller's.
   */
  scoresOfTensor(xNHWC: tf.Tensor4D, options: { softmax: boolean }): Promise<Float32Array> {
    const [n, h, w, c] = xNHWC.shape;
    return this.#scoreBatches(
      n,
      options,
      (start, count) => count === n ? xNHWC : tf.slice(xNHWC, [start, 0, 0, 0], [count, h, w, c]),
      { callersTensor: xNHWC },
    );
  }

  /**
   * Each image's output for its own target class: `[N]`, with `targets[i % targets.length]`
   * for image i, so a batch of several perturbed copies per image can share one target list.
   */
  async targetScores(
    xNHWC: Float32Array,
    shapeNHWC: ShapeNHWC,
    targets: Int32Array,
    options: { softmax: boolean },
  ): Promise<Float32Array> {
    return this.#pickTargets(await this.scores(xNHWC, shapeNHWC, options), targets);
  }

  /** {@link MetricModel.targetScores} for inputs already on the backend (stays the caller's). */
  async targetScoresOfTensor(
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: { softmax: boolean },
  ): Promise<Float32Array> {
    return this.#pickTargets(await this.scoresOfTensor(xNHWC, options), targets);
  }

  /**
   * {@link MetricModel.targetScores} of copies of a batch with a few pixels replaced
   * (FaithfulnessCorrelation's subsets): copy k·N + i is image i with the pixels of its subset k
   * set to `baselinesKN[k·N + i]` in every channel; `targets` as there.
   *
   * On the host backends (wasm, cpu), when the model's stem allows (`graph/sparse_stem.ts`) and
   * the subsets are small, the copies are made at the stem's output: the stem runs on the N
   * images once and each copy adds its pixels' footprints, instead of one stem convolution per
   * copy. Otherwise (and on webgpu, where `perturbSubsets` is the WGSL kernel) the copies are
   * whole input images, as many per pass as the caller asks: see {@link copiesPerPass}.
   */
  async targetScoresOfSubsetCopies(
    pass: SubsetPerturbation,
    targets: Int32Array,
    options: { softmax: boolean },
  ): Promise<Float32Array> {
    checkSubsetPerturbation(pass);
    const { selection } = pass;
    this.#stem ??= SparseStem.forCopies(this.#inferenceModel()) ?? null;
    const stem = this.#stem;
    if (!stem || selection.mode !== "subsets" || !stem.editPays(selection.subsetSize)) {
      const copies = perturbSubsets(pass);
      try {
        return await this.targetScoresOfTensor(copies, targets, options);
      } finally {
        copies.dispose();
      }
    }
    const [n, h, w, c] = pass.shapeNHWC;
    const imageSize = h * w * c;
    const base = await stem.base(pass.xNHWC);
    const stemSize = stem.outputShape.reduce((a, b) => a * b, 1);
    const m = selection.subsetSize;
    const scores = await this.#scoreBatches(
      pass.copies * n,
      options,
      (start, count) => {
        const rows = new Float32Array(count * stemSize);
        for (let r = 0; r < count; r++) {
          const [copy, i] = [start + r, (start + r) % n];
          const row = rows.subarray(r * stemSize, (r + 1) * stemSize);
          row.set(base.subarray(i * stemSize, (i + 1) * stemSize));
          stem.addEdit(
            row,
            pass.xNHWC.subarray(i * imageSize, (i + 1) * imageSize),
            selection.pixelsKNM.subarray(copy * m, (copy + 1) * m),
            pass.baselinesKN[copy],
          );
        }
        return tf.tensor4d(rows, [count, ...stem.outputShape]);
      },
      { forward: (rows) => evaluateFrom(this.#inferenceModel(), stem.prefix.output, rows) },
    );
    return this.#pickTargets(scores, targets);
  }

  /** The copy with BatchNorm folded into the convolutions that forward passes run. */
  #inferenceModel(): tf.LayersModel {
    return this.#inference ??= foldBatchNorm(this.layers);
  }

  /**
   * Runs `n` images in calls of at most `batchSize`, each input made by `inputAt` (and
   * disposed, unless it is `callersTensor`), through `forward` (default: the whole folded model).
   */
  async #scoreBatches(
    n: number,
    { softmax }: { softmax: boolean },
    inputAt: (start: number, count: number) => tf.Tensor4D,
    { callersTensor, forward }: {
      callersTensor?: tf.Tensor4D;
      forward?: (x: tf.Tensor4D) => tf.Tensor;
    } = {},
  ): Promise<Float32Array> {
    const inference = this.#inferenceModel();
    const run = forward ?? ((x: tf.Tensor4D) => inference.apply(x) as tf.Tensor);
    const out = new Float32Array(n * this.numClasses);
    for (let start = 0; start < n; start += this.batchSize) {
      const count = Math.min(this.batchSize, n - start);
      const x = inputAt(start, count);
      let output: tf.Tensor;
      try {
        output = tf.tidy(() => run(x));
      } finally {
        if (x !== callersTensor) x.dispose();
      }
      try {
        const logits = new Float32Array(await output.data());
        this.calls++;
        out.set(softmax ? softmaxRows(logits, this.numClasses) : logits, start * this.numClasses);
      } finally {
        output.dispose();
      }
    }
    return out;
  }

  #pickTargets(all: Float32Array, targets: Int32Array): Float32Array {
    const k = this.numClasses;
    return Float32Array.from(
      { length: all.length / k },
      (_, i) => all[i * k + targets[i % targets.length]],
    );
  }

  /** Frees the folded copy (the wrapped model stays the caller's). */
  dispose(): void {
    this.#inference?.dispose();
    this.#inference = undefined;
    this.#stem = undefined;
  }
}

/**
 * Row-wise softmax of `[N, K]` values in float32, computed as PyTorch does (subtract the row
 * maximum, exponentiate, divide by the sum).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { softmaxRows } from "./metric_model.ts";
 * const p = softmaxRows(Float32Array.of(1, 1, 0, Math.log(3)), 2);
 * assert(p[0] === 0.5 && Math.abs(p[3] - 0.75) < 1e-6);
 * ```
 */
export function softmaxRows(valuesNK: Float32Array, k: number): Float32Array {
  const out = new Float32Array(valuesNK.length);
  for (let row = 0; row < valuesNK.length; row += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, valuesNK[row + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      out[row + j] = Math.exp(valuesNK[row + j] - max);
      sum += out[row + j];
    }
    for (let j = 0; j < k; j++) out[row + j] = out[row + j] / sum;
  }
  return out;
}
