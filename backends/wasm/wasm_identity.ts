/**
 * `Identity` for the wasm backend without a copy. The stock kernel copies, and tfjs clones
 * every tensor a gradient saves (each conv's filter and input, each BatchNorm's input), so an
 * input gradient copied the whole activation set once more; it also gave a saved filter a
 * new dataId at every call, defeating the per-filter tap cache of the input-gradient kernels.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { WasmBackend } from "./wasm_kernel_utils.ts";

// Captured at import, before registerFastWasmKernels replaces it: string tensors live outside
// the wasm heap, and only the stock kernel copies them.
const stockIdentity = tf.getKernel(tf.Identity, "wasm");

/**
 * x itself, one more reference to its data (as the cpu backend does): tfjs never writes into
 * existing data, so sharing is safe.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmIdentityConfig);
 * ```
 */
export const wasmIdentityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: "wasm",
  kernelFunc: (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === "string") {
      if (!stockIdentity) throw new Error("wasm Identity: the stock kernel is not registered");
      return stockIdentity.kernelFunc(args);
    }
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
