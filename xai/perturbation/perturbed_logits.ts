/**
 * Forward-only scoring of many perturbed copies of one image (LIME's samples, Occlusion's
 * windows): the copies are written straight into a batch buffer `batchSize` at a time and
 * run through the model, so memory stays at one batch whatever the number of copies.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { logitsOfNHWC } from "../../models/inference.ts";
import { evaluateFrom } from "../../graph/graph.ts";

/** What a perturbation method reads of the model for the target: its softmax probability or logit. */
export type ClassifierOutput = "probabilities" | "logits";

/**
 * A method's `classifierOutput` option, "probabilities" when undefined.
 *
 * @throws {InputError} naming the method for any other value.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseClassifierOutput } from "./perturbed_logits.ts";
 * assert(parseClassifierOutput("rise", undefined) === "probabilities");
 * assert.throws(() => parseClassifierOutput("rise", "softmax"), /probabilities/);
 * ```
 */
export function parseClassifierOutput(method: string, value: unknown): ClassifierOutput {
  const output = value ?? "probabilities";
  if (output !== "probabilities" && output !== "logits") {
    throw new InputError(
      `${method}: classifierOutput must be "probabilities" or "logits", got "${output}"`,
    );
  }
  return output;
}

/**
 * Per copy, the classifier output for `target` from [copies, classes] logits: its softmax
 * probability or its logit.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { targetOutputs } from "./perturbed_logits.ts";
 * const logits = Float32Array.of(0, 0, 2, 5); // 2 copies x 2 classes
 * assert(targetOutputs(logits, 2, 1, "logits").join() === "0,5");
 * assert(targetOutputs(logits, 2, 1, "probabilities")[0] === 0.5);
 * ```
 */
export function targetOutputs(
  logitsNC: Float32Array,
  classes: number,
  target: number,
  output: ClassifierOutput,
): Float64Array {
  return Float64Array.from({ length: logitsNC.length / classes }, (_, i) => {
    const row = logitsNC.subarray(i * classes, (i + 1) * classes);
    if (output === "logits") return row[target];
    const top = row.reduce((m, v) => Math.max(m, v), -Infinity);
    const total = row.reduce((sum, v) => sum + Math.exp(v - top), 0);
    return Math.exp(row[target] - top) / total;
  });
}

/** Writes copy `index` into `outHWC` (one copy, H·W·C values, stale contents). */
export type FillCopy = (index: number, outHWC: Float32Array) => void;

/** The copies to score: what each holds and where it enters the model. */
export interface Copies {
  /** One copy's shape: the model input's [H, W, C], or `from`'s. */
  shapeHWC: readonly [number, number, number];
  /** The model tensor the copies are values of (a `SparseStem`'s output); default the input. */
  from?: tf.SymbolicTensor;
  fill: FillCopy;
}

/**
 * The logits of `count` copies, [count, classes] row-major, in inference mode. Pass a model
 * from `foldBatchNorm` for speed: explainers fold once per call.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { perturbedLogits } from "./perturbed_logits.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 2, 1] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(input) as tf.SymbolicTensor });
 * const copies = { shapeHWC: [1, 2, 1] as const, fill: (i: number, out: Float32Array) => out.fill(i) };
 * const logits = await perturbedLogits(model, copies, 3, 2);
 * assert(logits.join() === "0,0,1,1,2,2");
 * ```
 */
export async function perturbedLogits(
  model: tf.LayersModel,
  { shapeHWC, from, fill }: Copies,
  count: number,
  batchSize: number,
): Promise<Float32Array> {
  const imageSize = shapeHWC[0] * shapeHWC[1] * shapeHWC[2];
  const batch = new Float32Array(Math.min(batchSize, count) * imageSize);
  let logits: Float32Array | undefined;
  let classes = 0;
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    for (let r = 0; r < rows; r++) {
      fill(start + r, batch.subarray(r * imageSize, (r + 1) * imageSize));
    }
    const chunk = await logitsOf(
      model,
      batch.subarray(0, rows * imageSize),
      [rows, ...shapeHWC],
      from,
    );
    if (!logits) {
      classes = chunk.length / rows;
      logits = new Float32Array(count * classes);
    }
    logits.set(chunk, start * classes);
  }
  return logits ?? new Float32Array(0);
}

/** {@link logitsOfNHWC}, or from the model's tensor `from`. */
async function logitsOf(
  model: tf.LayersModel,
  rowsNHWC: Float32Array,
  shape: [number, number, number, number],
  from: tf.SymbolicTensor | undefined,
): Promise<Float32Array> {
  if (!from) return await logitsOfNHWC(model, rowsNHWC, shape);
  const output = tf.tidy(() => evaluateFrom(model, from, tf.tensor4d(rowsNHWC, shape)));
  try {
    return new Float32Array(await output.data());
  } finally {
    output.dispose();
  }
}
