/**
 * `MaxPoolGrad` for the wasm backend with torch's tie rule. The stock kernel sends the gradient
 * of a window whose maximum occurs more than once to the last occurrence; torch's
 * `max_pool2d` (and tfjs' cpu backend) to the first in row-major window order. Ties are common
 * on ECG images (white paper, zeros after a ReLU), so saliency maps moved wherever they met.
 *
 * Finding each window's first maximum is one compare per value, which plain TypeScript does one
 * channel at a time: for channels in multiples of 4 and windows of up to 9 pixels it runs in a
 * wasm SIMD kernel (`wasm_simd.ts`) on the backend's heap instead, 4 channels per compare
 * (resnet18's stem pool in an IG chunk of 16 rows: 186 → 24 ms).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { heapView, type WasmBackend, wasmHeap } from "./wasm_kernel_utils.ts";
import {
  type Code,
  countedLoop,
  type FunctionSource,
  kernelsPerMemory,
  loadAt,
  Locals,
  op,
  setSum,
  storeAt,
  type ValueType,
} from "./wasm_simd.ts";

/** Windows of up to this many pixels run in the SIMD kernel (resnet's 3 x 3; 2 x 2 pools). */
const MAX_SIMD_TAPS = 9;

/**
 * window(x, dx, dy, channelBytes, count, o0, ..., o8): one pooling window, 4 channels at a time.
 * Tap t's pixel is `o_t` bytes into x and into dx (the window's taps in row-major order, the
 * first `count` of them valid). Each channel's first strict maximum over the taps gets that
 * channel's dy; the other taps get +0, so dx is what the scalar loop gives.
 */
function windowKernel(): FunctionSource {
  const params = Array<ValueType>(5 + MAX_SIMD_TAPS).fill("i32");
  const l = new Locals(params);
  const [x, dx, dy, channelBytes, count] = [0, 1, 2, 3, 4];
  const offset = (t: number) => 5 + t;
  const [cb, best, arg, d, v, mask] = [
    l.i32("cb"),
    l.v128("best"),
    l.v128("arg"),
    l.v128("d"),
    l.v128("v"),
    l.v128("mask"),
  ];
  const xAt = (t: number) => l.i32(`x${t}`), dxAt = (t: number) => l.i32(`dx${t}`);
  const index = (t: number) => l.v128(`index${t}`);
  const setup: Code = [];
  for (let t = 0; t < MAX_SIMD_TAPS; t++) {
    setup.push(...setSum(xAt(t), x, offset(t)), ...setSum(dxAt(t), dx, offset(t)));
    setup.push(...op.i32(t), ...op.i32x4Splat, ...op.set(index(t)));
  }
  /** `body` only when tap t is one of the window's `count`. */
  const ifTap = (t: number, body: Code): Code => [
    ...op.block,
    ...op.i32(t),
    ...op.get(count),
    ...op.i32LtU,
    ...op.i32Eqz,
    ...op.brIf(0),
    ...body,
    ...op.end,
  ];
  const inner: Code = [...loadAt(xAt(0), cb), ...op.set(best), ...op.get(index(0)), ...op.set(arg)];
  for (let t = 1; t < MAX_SIMD_TAPS; t++) {
    inner.push(...ifTap(t, [
      ...loadAt(xAt(t), cb),
      ...op.tee(v),
      ...op.get(best),
      ...op.gt, // strictly greater: a later tie keeps the first maximum
      ...op.set(mask),
      ...op.get(v),
      ...op.get(best),
      ...op.get(mask),
      ...op.bitselect,
      ...op.set(best),
      ...op.get(index(t)),
      ...op.get(arg),
      ...op.get(mask),
      ...op.bitselect,
      ...op.set(arg),
    ]));
  }
  inner.push(...loadAt(dy, cb), ...op.set(d));
  for (let t = 0; t < MAX_SIMD_TAPS; t++) {
    const dyWhereArgmax = [
      ...op.get(d),
      ...op.get(arg),
      ...op.get(index(t)),
      ...op.i32x4Eq,
      ...op.and,
    ];
    inner.push(
      ...ifTap(t, storeAt(dxAt(t), cb, [...loadAt(dxAt(t), cb), ...dyWhereArgmax, ...op.add])),
    );
  }
  return {
    name: "window",
    params,
    locals: l.locals(),
    body: [...setup, ...countedLoop(cb, channelBytes, 16, inner)],
  };
}

type WindowKernel = (
  x: number,
  dx: number,
  dy: number,
  channelBytes: number,
  count: number,
  ...offsets: number[]
) => void;

const windowKernelOn = kernelsPerMemory<{ window: WindowKernel }>(() => [windowKernel()]);

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
    const heap = wasmHeap(wasm);
    const simd = heap && channels % 4 === 0 &&
      info.filterHeight * info.filterWidth <= MAX_SIMD_TAPS;
    if (simd) {
      const kernel = windowKernelOn(heap.memory).window;
      const offsets = new Array<number>(MAX_SIMD_TAPS).fill(0);
      let dyAt = dys.byteOffset;
      for (let n = 0; n < batchSize; n++) {
        for (let i = 0; i < outHeight; i++) {
          const top = i * info.strideHeight - info.padInfo.top;
          const rowFrom = Math.max(0, top), rowTo = Math.min(inHeight, top + info.filterHeight);
          for (let j = 0; j < outWidth; j++, dyAt += 4 * channels) {
            const left = j * info.strideWidth - info.padInfo.left;
            const colFrom = Math.max(0, left), colTo = Math.min(inWidth, left + info.filterWidth);
            let count = 0;
            for (let row = rowFrom; row < rowTo; row++) {
              for (let col = colFrom; col < colTo; col++) {
                offsets[count++] = 4 * ((n * inHeight + row) * inWidth + col) * channels;
              }
            }
            if (count > 0) {
              kernel(xs.byteOffset, out.byteOffset, dyAt, 4 * channels, count, ...offsets);
            }
          }
        }
      }
      return dx;
    }
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
