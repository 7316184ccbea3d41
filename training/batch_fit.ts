/**
 * Whether a training batch fits the wasm heap. A training step keeps every layer output of its
 * forward pass for the backward pass, like the gradient passes of the explainers, so its batch
 * is sized by the same activation footprint and heap budget (`graph/footprint.ts`).
 *
 * Why refuse instead of splitting the batch into gradient-accumulated micro-batches: BatchNorm
 * normalises each step by its own batch's statistics, so micro-batches would not give the step
 * the batch would (the running statistics and the loss differ, not only by rounding), and the
 * architectures here carry BatchNorm. A batch that does not fit would otherwise end in "the
 * wasm heap is exhausted" after the model is built and the data loaded.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { heapBudgetBytes, heapBudgetMb } from "../backends/heap.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";

/**
 * Checks that a training batch of `batchSize` images fits the heap budget (default: the
 * process's) for `model` on the wasm backend; other backends keep tensors elsewhere (webgpu in
 * device memory, cpu in JavaScript memory), and are not checked.
 *
 * @param modelName the architecture, for the message.
 * @throws {InputError} naming `--batch-size`, the batch that fits and the budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "../backends/backend.ts";
 * import { buildModel } from "../models/registry.ts";
 * import { requireTrainingBatchFits } from "./batch_fit.ts";
 * await startBackend("wasm");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 64, seed: 1 });
 * requireTrainingBatchFits(model, "ecgnet", 16);
 * assert.throws(() => requireTrainingBatchFits(model, "ecgnet", 16, 64 * 2 ** 10), /--batch-size/);
 * model.dispose();
 * ```
 */
export function requireTrainingBatchFits(
  model: tf.LayersModel,
  modelName: string,
  batchSize: number,
  budgetBytes: number = heapBudgetBytes(),
): void {
  if (tf.getBackend() !== "wasm") return;
  const fit = rowsWithinBudget(model, "gradient", batchSize, budgetBytes);
  if (fit >= batchSize) return;
  const sizePx = model.inputs[0].shape[1];
  const budget = budgetBytes === heapBudgetBytes()
    ? `the heap budget (${heapBudgetMb()} MiB of the 4 GiB wasm heap)`
    : `a heap budget of ${(budgetBytes / 2 ** 20).toFixed(1)} MiB`;
  throw new InputError(
    `${modelName}: a training batch of ${batchSize} images of ${sizePx} px does not fit ` +
      `${budget}; about ${fit} fit: pass --batch-size ${fit} (or fewer), a smaller --img-size, or (with care: ` +
      `the wasm heap ends at 4 GiB) a larger --heap-budget-mb`,
  );
}
