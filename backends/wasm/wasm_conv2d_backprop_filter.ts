/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships without one (so cannot train), as a
 * forward `Conv2D` (XNNPACK).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import {
  filterGradientPadding,
  free,
  heapView,
  requireNhwc,
  runWasmKernel,
  type WasmBackend,
} from "./wasm_kernel_utils.ts";

/**
 * dF[a, b, ci, co] = Σ_{n,i,j} x[n, a + i·s − pad, …, ci] · dy[n, i, j, co] is a convolution
 * of x as [Cin, H, W, N] (channels as the batch, the batch as channels) with dy as the filter
 * [Ho, Wo, N, Cout], at stride 1 and dilation = the forward stride; its [Cin, kh', kw', Cout]
 * output is cropped to kh x kw and transposed to [kh, kw, Cin, Cout].
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmConv2DBackpropFilterConfig);
 * ```
 */
export const wasmConv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape, strides, pad, dataFormat, dimRoundingMode } =
      attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    requireNhwc(tf.Conv2DBackpropFilter, dataFormat);
    const wasm = backend as WasmBackend;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const xT = runWasmKernel(tf.Transpose, wasm, { x }, { perm: [3, 1, 2, 0] });
    const dyT = runWasmKernel(tf.Transpose, wasm, { x: dy }, { perm: [1, 2, 0, 3] });
    const conv = runWasmKernel(tf.Conv2D, wasm, { x: xT, filter: dyT }, {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: filterGradientPadding(info),
      dataFormat: "NHWC",
    });
    free(wasm, xT, dyT);
    const [kh, kw, cin, cout] = filterShape;
    const [, convH, convW] = conv.shape;
    const dFilter = wasm.makeOutput(filterShape, "float32");
    const out = heapView(wasm, dFilter);
    const src = heapView(wasm, conv);
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let ci = 0; ci < cin; ci++) {
          const from = ((ci * convH + a) * convW + b) * cout;
          out.set(src.subarray(from, from + cout), ((a * kw + b) * cin + ci) * cout);
        }
      }
    }
    free(wasm, conv);
    return dFilter;
  },
};
