/**
 * Running a classifier over loaded images in batches: logits out, nothing kept on the device.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { assembleBatch, type LoadedImages } from "../data/loader.ts";
import { foldBatchNorm } from "../graph/fold_batchnorm.ts";

/**
 * The model's logits for the images at `indices` of `loaded`, in inference mode (BatchNorm
 * uses its running statistics), as a row-major `[indices.length, classes]` array.
 *
 * The batches run through a copy of `model` with each BatchNorm folded into its convolution
 * (`foldBatchNorm`: a third less forward time on wasm for mobilenet_v2). The copy is made per
 * call from the weights as they are now, so validation during training sees every update.
 *
 * @example
 * ```ts ignore
 * const logitsNC = await predictLogits(model, loaded, [0, 1, 2], 64);
 * ```
 */
export async function predictLogits(
  model: tf.LayersModel,
  loaded: LoadedImages,
  indices: readonly number[],
  batchSize: number,
  onBatch?: (done: number) => void,
): Promise<Float32Array> {
  const folded = foldBatchNorm(model);
  try {
    const chunks: Float32Array[] = [];
    for (let start = 0; start < indices.length; start += batchSize) {
      const batch = assembleBatch(loaded, indices.slice(start, start + batchSize));
      chunks.push(await logitsOfNHWC(folded, batch.xNHWC, batch.shape));
      onBatch?.(Math.min(indices.length, start + batchSize));
    }
    return concatFloat32(chunks);
  } finally {
    folded.dispose();
  }
}

/**
 * The model's logits for one NHWC batch, in inference mode. For many batches of one model, pass
 * `foldBatchNorm(model)` (made once) for speed, as {@link predictLogits} does.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { logitsOfNHWC } from "./inference.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 1, 3] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: flat });
 * const logits = await logitsOfNHWC(model, new Float32Array([1, 2, 3]), [1, 1, 1, 3]);
 * assert(logits.join() === "1,2,3");
 * ```
 */
export async function logitsOfNHWC(
  model: tf.LayersModel,
  xNHWC: Float32Array,
  shape: readonly [number, number, number, number],
): Promise<Float32Array> {
  const output = tf.tidy(() => model.apply(tf.tensor4d(xNHWC, [...shape])) as tf.Tensor);
  try {
    return new Float32Array(await output.data());
  } finally {
    output.dispose();
  }
}

/**
 * Index of the largest value of each row (the first one on ties, as `torch.argmax`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { argmaxRows } from "./inference.ts";
 * assert(argmaxRows(new Float32Array([0, 2, 1, 5, 5, 0]), 3).join() === "1,0");
 * ```
 */
export function argmaxRows(valuesNC: ArrayLike<number>, numClasses: number): Int32Array {
  const n = valuesNC.length / numClasses;
  const result = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) {
      if (valuesNC[i * numClasses + c] > valuesNC[i * numClasses + best]) best = c;
    }
    result[i] = best;
  }
  return result;
}

function concatFloat32(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
