/**
 * `DepthwiseConv2dNativeBackpropInput` and `…BackpropFilter` for the wasm backend, which ships
 * neither (MobileNet and EfficientNet can then neither train nor be explained).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import {
  type ConvInfo,
  free,
  heapView,
  inputGradientByPhases,
  runWasmKernel,
  type WasmBackend,
} from "./wasm_kernel_utils.ts";

function depthwiseInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs | tf.DepthwiseConv2dNativeBackpropFilterAttrs,
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * Window sizes XNNPACK's wasm depthwise convolution runs fast: it has single-pass kernels for 1,
 * 3, 4, 9 and 25 taps, and other counts run several times slower (measured at [8, 57, 57, 96]:
 * 2 taps 64 ms, 3 taps 13 ms, 6 taps 92 ms, 9 taps 20 ms). Stride-2 phases of a 3 x 3 filter
 * have 2 x 1 and 1 x 2 taps.
 */
const FAST_DEPTHWISE_TAPS = [1, 3, 4, 9, 25];

/** The smallest window at least `th` x `tw` with a fast tap count (the window itself if none). */
function fastDepthwiseWindow(th: number, tw: number): [number, number] {
  let best: [number, number] | undefined;
  for (let h = th; h <= 5; h++) {
    for (let w = tw; w <= 5; w++) {
      if (FAST_DEPTHWISE_TAPS.includes(h * w) && (!best || h * w < best[0] * best[1])) {
        best = [h, w];
      }
    }
  }
  return best ?? [th, tw];
}

/**
 * dx of `depthwiseConv2d(x, filter)`, phase by phase: each of the stride² phases of dx is a
 * stride-1 depthwise convolution of dy with that phase's taps of the flipped filter; with a
 * channel multiplier m > 1 the m outputs of each input channel are then summed.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmDepthwiseBackpropInputConfig);
 * ```
 */
export const wasmDepthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const wasm = backend as WasmBackend;
    const info = depthwiseInfo(a.inputShape, filter.shape, a);
    const [, , channels, multiplier] = filter.shape;
    return inputGradientByPhases(wasm, dy, filter, false, info, (d, taps, pad) => {
      const [th, tw] = taps.shape;
      const [fastH, fastW] = fastDepthwiseWindow(th, tw);
      // [th, tw, C, m] and [th, tw, C·m, 1] share one memory layout.
      const perChannel = { ...taps, shape: [th, tw, channels * multiplier, 1] };
      // Zero taps below and right of the window, read from as much more padding: the same sums.
      const window = fastH === th && fastW === tw ? perChannel : runWasmKernel(
        tf.PadV2,
        wasm,
        { x: perChannel },
        { paddings: [[0, fastH - th], [0, fastW - tw], [0, 0], [0, 0]], constantValue: 0 },
      );
      const perOutput = runWasmKernel(tf.DepthwiseConv2dNative, wasm, {
        x: d,
        filter: window,
      }, {
        strides: 1,
        dilations: [info.dilationHeight, info.dilationWidth],
        pad: [pad[0], [pad[1][0], pad[1][1] + (fastH - th) * info.dilationHeight], [
          pad[2][0],
          pad[2][1] + (fastW - tw) * info.dilationWidth,
        ], pad[3]],
      });
      if (window !== perChannel) free(wasm, window);
      if (multiplier === 1) return perOutput;
      const [batch, height, width] = perOutput.shape;
      const summed = runWasmKernel(tf.Sum, wasm, {
        x: { ...perOutput, shape: [batch, height, width, channels, multiplier] },
      }, { axis: [4], keepDims: false });
      free(wasm, perOutput);
      return summed;
    });
  },
};

/**
 * dF[a, b, c, k] = Σ_{n,i,j} x[n, i·s + a·d − pad, …, c] · dy[n, i, j, c·m + k], accumulated
 * in float64 in plain loops. As a depthwise convolution (dy as a filter of Ho x Wo taps) it
 * made XNNPACK fail with out-of-memory on MobileNet's 112 px layers.
 *
 * @example
 * ```ts ignore
 * tf.registerKernel(wasmDepthwiseBackpropFilterConfig);
 * ```
 */
export const wasmDepthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const wasm = backend as WasmBackend;
    const info = depthwiseInfo(x.shape, a.filterShape, a);
    const [batch, height, width, channels] = x.shape;
    const [kh, kw, , multiplier] = a.filterShape;
    const { outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
    const perPixel = channels * multiplier;
    const sums = new Float64Array(kh * kw * perPixel);
    const xs = heapView(wasm, x);
    const dys = heapView(wasm, dy);
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < outHeight; i++) {
        for (let r = 0; r < kh; r++) {
          const row = i * strideHeight + r * dilationHeight - info.padInfo.top;
          if (row < 0 || row >= height) continue;
          for (let j = 0; j < outWidth; j++) {
            const dyAt = ((n * outHeight + i) * outWidth + j) * perPixel;
            for (let c = 0; c < kw; c++) {
              const col = j * strideWidth + c * dilationWidth - info.padInfo.left;
              if (col < 0 || col >= width) continue;
              const xAt = ((n * height + row) * width + col) * channels;
              const sumAt = (r * kw + c) * perPixel;
              for (let ch = 0; ch < channels; ch++) {
                const xv = xs[xAt + ch];
                for (let k = 0; k < multiplier; k++) {
                  sums[sumAt + ch * multiplier + k] += xv * dys[dyAt + ch * multiplier + k];
                }
              }
            }
          }
        }
      }
    }
    return wasm.makeOutput(a.filterShape, "float32", undefined, Float32Array.from(sums));
  },
};
