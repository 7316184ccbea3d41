/**
 * The wasm backend's `BatchMatMul` and `_FusedMatMul` (a product with bias and activation: a
 * Dense layer) on OpenBLAS, registered with the OpenBLAS convolutions (`blas_conv2d.ts`).
 * tfjs-wasm runs a matrix product as an XNNPACK fully-connected operator whose right-hand matrix
 * it packs first into memory of its own, and caches that packing by tensor:
 * - a product with a fresh right-hand matrix pays the packing every call. Integrated Gradients'
 *   sum of a chunk's gradients, (1 x 16)·(16 x 802,816) at resnet18's stem, took 102 ms that way
 *   and 13.5 ms on OpenBLAS;
 * - the packing is a second copy of a Dense layer's kernel in the wasm heap, outside every
 *   tensor and every budget, for as long as the kernel lives: 392 MB for vgg16_bn's first
 *   classifier layer, once for the model and once more for each randomised copy MPRT makes.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { OpenBlas } from "./openblas.ts";
import { heapView, type WasmBackend } from "../wasm/wasm_kernel_utils.ts";
import { activate, type Activation, ACTIVATIONS, fillRows } from "./epilogue.ts";

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** A bias (one value per output column) and an activation around a product. */
interface Epilogue {
  bias?: tf.TensorInfo;
  activation: Activation;
}

/**
 * a·b (each transposed as `transposeA` and `transposeB` say) on `blas` into a new output, with
 * `epilogue`; undefined where the stock kernel must take it: another dtype or rank than float32
 * matrices or batches of them, batches that do not broadcast, an empty product, or a bias that
 * is not one value per output column.
 */
function blasProduct(
  blas: OpenBlas,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  { transposeA, transposeB }: BatchMatMulAttrs,
  epilogue?: Epilogue,
): tf.TensorInfo | undefined {
  // tfjs passes the operands as given: a matrix, or a batch of them.
  const ranks = [a.shape.length, b.shape.length];
  if (
    a.dtype !== "float32" || b.dtype !== "float32" ||
    ranks.some((rank) => rank !== 2 && rank !== 3)
  ) return undefined;
  const [batchA, rowsA, colsA] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [batchB, rowsB, colsB] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  const [m, kA] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
  const [k, n] = transposeB ? [colsB, rowsB] : [rowsB, colsB];
  const batch = Math.max(batchA, batchB);
  const empty = m * n * k === 0;
  if (empty || kA !== k || (batchA !== batchB && Math.min(batchA, batchB) !== 1)) {
    return undefined;
  }
  const bias = epilogue?.bias;
  if (bias && (bias.dtype !== "float32" || bias.shape.reduce((p, d) => p * d, 1) !== n)) {
    return undefined;
  }
  const outShape = ranks.every((rank) => rank === 2) ? [m, n] : [batch, m, n];
  const output = backend.makeOutput(outShape, "float32");
  // Views after the allocation, which may grow (and so move) the heap.
  const [av, bv, out] = [heapView(backend, a), heapView(backend, b), heapView(backend, output)];
  if (bias) fillRows(out, heapView(backend, bias));
  for (let i = 0; i < batch; i++) {
    const aMatrix = av.subarray((batchA === 1 ? 0 : i) * m * k);
    const bMatrix = bv.subarray((batchB === 1 ? 0 : i) * k * n);
    const [lda, ldb] = [transposeA ? m : k, transposeB ? k : n];
    const beta = bias ? 1 : 0;
    const c = out.subarray(i * m * n);
    blas.sgemm(m, n, k, aMatrix, lda, bMatrix, ldb, beta, c, n, transposeA, transposeB);
  }
  if (epilogue) activate(out, epilogue.activation);
  return output;
}

/**
 * A `BatchMatMul` kernel config for the wasm backend that runs float32 products, either operand
 * transposed or not, on `blas` (batches equal, or one of them 1, as tfjs broadcasts) and hands
 * the rest to `stock`.
 *
 * @example
 * ```ts ignore
 * const config = blasMatMulConfig(loadOpenBlas()!, tf.getKernel("BatchMatMul", "wasm")!);
 * ```
 */
export function blasMatMulConfig(blas: OpenBlas, stock: tf.KernelConfig): tf.KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const attrs = args.attrs as unknown as BatchMatMulAttrs;
      return blasProduct(blas, args.backend as WasmBackend, a, b, attrs) ??
        stock.kernelFunc(args);
    },
  };
}

/**
 * A `_FusedMatMul` kernel config for the wasm backend: the products {@link blasMatMulConfig}
 * takes, with a bias of one value per output column and a linear, relu or relu6 activation, on
 * `blas`; the rest (PReLU, leaky relu, sigmoid, other biases) to `stock`.
 *
 * @example
 * ```ts ignore
 * const config = blasFusedMatMulConfig(loadOpenBlas()!, tf.getKernel("_FusedMatMul", "wasm")!);
 * ```
 */
export function blasFusedMatMulConfig(blas: OpenBlas, stock: tf.KernelConfig): tf.KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as {
        a: tf.TensorInfo;
        b: tf.TensorInfo;
        bias?: tf.TensorInfo;
        preluActivationWeights?: tf.TensorInfo;
      };
      const attrs = args.attrs as unknown as BatchMatMulAttrs & { activation?: string };
      const activation = attrs.activation ?? "linear";
      if (preluActivationWeights || !ACTIVATIONS.includes(activation)) {
        return stock.kernelFunc(args);
      }
      const epilogue = { bias, activation: activation as Activation };
      return blasProduct(blas, args.backend as WasmBackend, a, b, attrs, epilogue) ??
        stock.kernelFunc(args);
    },
  };
}
