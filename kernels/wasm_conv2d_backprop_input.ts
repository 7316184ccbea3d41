/**
 * `Conv2DBackpropInput` for the wasm backend as a forward `Conv2D` (XNNPACK): the shipped kernel
 * is a naive loop, 3x slower.
 *
 * @module
 */
import { tf } from "../deps.ts";
import {
  flipFilter,
  free,
  requireNhwc,
  runWasmKernel,
  spreadGradient,
  type WasmBackend,
} from "./wasm_kernel_utils.ts";

/**
 * dx of `conv2d(x, filter)`: dy spread onto the stride grid, convolved ('valid', stride 1) with
 * the spatially flipped filter whose in/out channels are swapped.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmConv2DBackpropInputConfig);
 * ```
 */
export const wasmConv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape, strides, pad, dataFormat, dimRoundingMode } =
      attrs as unknown as tf.Conv2DBackpropInputAttrs;
    requireNhwc(tf.Conv2DBackpropInput, dataFormat);
    const wasm = backend as WasmBackend;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const grid = spreadGradient(wasm, dy, info);
    const flipped = flipFilter(wasm, filter, true);
    const dx = runWasmKernel(tf.Conv2D, wasm, { x: grid, filter: flipped }, {
      strides: 1,
      dilations: 1,
      pad: "valid",
      dataFormat: "NHWC",
    });
    free(wasm, grid, flipped);
    return dx;
  },
};
