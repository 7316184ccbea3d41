/**
 * The wasm backend's `BatchMatMul` on OpenBLAS, registered with the OpenBLAS convolutions
 * (`blas_conv2d.ts`). tfjs-wasm runs a matrix product as an XNNPACK fully-connected operator
 * whose right-hand matrix it packs first, and caches that packing by tensor: a product with a
 * fresh right-hand matrix pays the packing every call. Integrated Gradients' sum of a chunk's
 * gradients, (1 x 16)·(16 x 802,816) at resnet18's stem, took 102 ms that way and 13.5 ms on
 * OpenBLAS.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { OpenBlas } from "./openblas.ts";
import { heapView, type WasmBackend } from "../wasm/wasm_kernel_utils.ts";

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * A `BatchMatMul` kernel config for the wasm backend that runs float32 products with an
 * untransposed right-hand matrix on `blas` (batches equal, or one of them 1, as tfjs
 * broadcasts) and hands the rest to `stock`.
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
      const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
      // tfjs passes the operands as given: a matrix, or a batch of them.
      const ranks = [a.shape.length, b.shape.length];
      if (
        transposeB || a.dtype !== "float32" || b.dtype !== "float32" ||
        ranks.some((rank) => rank !== 2 && rank !== 3)
      ) return stock.kernelFunc(args);
      const [batchA, rowsA, colsA] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
      const [batchB, k, n] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
      const [m, kA] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
      const batch = Math.max(batchA, batchB);
      const empty = m * n * k === 0;
      if (empty || kA !== k || (batchA !== batchB && Math.min(batchA, batchB) !== 1)) {
        return stock.kernelFunc(args);
      }
      const outShape = ranks.every((rank) => rank === 2) ? [m, n] : [batch, m, n];
      const backend = args.backend as WasmBackend;
      const output = backend.makeOutput(outShape, "float32");
      const [av, bv, out] = [heapView(backend, a), heapView(backend, b), heapView(backend, output)];
      for (let i = 0; i < batch; i++) {
        const aMatrix = av.subarray((batchA === 1 ? 0 : i) * m * k);
        const bMatrix = bv.subarray((batchB === 1 ? 0 : i) * k * n);
        const lda = transposeA ? m : k;
        blas.sgemm(m, n, k, aMatrix, lda, bMatrix, n, 0, out.subarray(i * m * n), n, transposeA);
      }
      return output;
    },
  };
}
