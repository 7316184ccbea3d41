/**
 * `Conv2DBackpropInput` for the wasm backend as forward `Conv2D`s (XNNPACK): the shipped kernel
 * is a naive loop, 3x slower.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import {
  inputGradientByPhases,
  requireNhwc,
  runWasmKernel,
  type WasmBackend,
} from "./wasm_kernel_utils.ts";

/**
 * dx of `conv2d(x, filter)`, phase by phase: each of the stride² phases of dx is a stride-1
 * convolution of dy with that phase's taps of the flipped filter whose in/out channels are
 * swapped.
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
    return inputGradientByPhases(
      wasm,
      dy,
      filter,
      true,
      info,
      (d, taps, phasePad) =>
        runWasmKernel(tf.Conv2D, wasm, { x: d, filter: taps }, {
          strides: 1,
          dilations: 1,
          pad: phasePad,
          dataFormat: "NHWC",
        }),
    );
  },
};
