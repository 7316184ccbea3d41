/**
 * `MaxPoolGrad` for the wasm backend with torch's tie rule. The stock kernel sends the gradient
 * of a window whose maximum occurs more than once to the last occurrence; torch's
 * `max_pool2d` (and tfjs' cpu backend) to the first in row-major window order. Ties are common
 * on ECG images (white paper, zeros after a ReLU), so saliency maps moved wherever they met.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { heapView, type WasmBackend } from "./wasm_kernel_utils.ts";

/**
 * dx of `maxPool(x)`: each window's dy goes to the first maximum of the window in row-major
 * order (rows, then columns; padding never wins), and overlapping windows add up.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmMaxPoolGradConfig);
 * ```
 */
export const wasmMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    const wasm = backend as WasmBackend;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
    const dx = wasm.makeOutput(input.shape, "float32");
    const out = heapView(wasm, dx);
    const xs = heapView(wasm, input);
    const dys = heapView(wasm, dy);
    out.fill(0);
    // Per channel: the best value so far and the pixel offset it sits at.
    const best = new Float32Array(channels);
    const at = new Int32Array(channels);
    let dyAt = 0;
    for (let n = 0; n < batchSize; n++) {
      for (let i = 0; i < outHeight; i++) {
        const top = i * info.strideHeight - info.padInfo.top;
        const rowFrom = Math.max(0, top);
        const rowTo = Math.min(inHeight, top + info.filterHeight);
        for (let j = 0; j < outWidth; j++, dyAt += channels) {
          const left = j * info.strideWidth - info.padInfo.left;
          const colFrom = Math.max(0, left);
          const colTo = Math.min(inWidth, left + info.filterWidth);
          if (rowFrom >= rowTo || colFrom >= colTo) continue;
          const first = ((n * inHeight + rowFrom) * inWidth + colFrom) * channels;
          best.set(xs.subarray(first, first + channels));
          at.fill(first);
          for (let row = rowFrom; row < rowTo; row++) {
            for (let col = row === rowFrom ? colFrom + 1 : colFrom; col < colTo; col++) {
              const pixel = ((n * inHeight + row) * inWidth + col) * channels;
              for (let c = 0; c < channels; c++) {
                const v = xs[pixel + c];
                // Strictly greater: a later tie keeps the first maximum.
                if (v > best[c]) {
                  best[c] = v;
                  at[c] = pixel;
                }
              }
            }
          }
          for (let c = 0; c < channels; c++) out[at[c] + c] += dys[dyAt + c];
        }
      }
    }
    return dx;
  },
};
