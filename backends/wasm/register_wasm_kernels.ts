/**
 * Registers the gradient kernels the wasm backend lacks or runs slowly, so `--backend wasm`
 * trains and explains every architecture.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { wasmConv2DBackpropFilterConfig } from "./wasm_conv2d_backprop_filter.ts";
import { wasmConv2DBackpropInputConfig } from "./wasm_conv2d_backprop_input.ts";
import {
  wasmDepthwiseBackpropFilterConfig,
  wasmDepthwiseBackpropInputConfig,
} from "./wasm_depthwise_conv2d_backprop.ts";
import { wasmIdentityConfig } from "./wasm_identity.ts";
import { wasmMaxPoolGradConfig } from "./wasm_max_pool_grad.ts";
import { wasmTorchRelu6GradConfig } from "./wasm_relu6_grad.ts";
import { wasmSliceConfig } from "./wasm_slice.ts";
import { wasmTileConfig } from "./wasm_tile.ts";

/**
 * Our wasm kernels, each replacing a missing, slow, copying (`Identity`) or torch-inexact
 * (`MaxPoolGrad`: ties) stock one, or adding one (the ReLU6 derivative).
 */
export const FAST_WASM_KERNELS: readonly tf.KernelConfig[] = [
  wasmConv2DBackpropInputConfig,
  wasmConv2DBackpropFilterConfig,
  wasmDepthwiseBackpropInputConfig,
  wasmDepthwiseBackpropFilterConfig,
  wasmTileConfig,
  wasmSliceConfig,
  wasmMaxPoolGradConfig,
  wasmTorchRelu6GradConfig,
  wasmIdentityConfig,
];

/**
 * Registers {@link FAST_WASM_KERNELS} for the wasm backend, replacing the stock ones; safe to
 * call again. Kernels are looked up per call, so this works before or after the backend starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { registerFastWasmKernels } from "./register_wasm_kernels.ts";
 * registerFastWasmKernels();
 * registerFastWasmKernels();
 * assert(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
 * ```
 */
export function registerFastWasmKernels(): void {
  for (const config of FAST_WASM_KERNELS) {
    const current = tf.getKernel(config.kernelName, "wasm");
    if (current?.kernelFunc === config.kernelFunc) continue;
    // Unregistering first avoids tfjs' "already registered" warning for the slow stock kernel.
    if (current) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
}
