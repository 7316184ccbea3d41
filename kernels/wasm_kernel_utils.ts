/**
 * What the wasm gradient kernels share: calling the wasm backend's own forward kernels from
 * inside a kernel, freeing intermediates, and the geometry of a convolution's backward pass.
 *
 * Inside a kernel function, tf ops would record on the tape and leak their outputs, so the
 * kernels here call other kernels' `kernelFunc`s directly and free every intermediate with
 * `backend.disposeData`.
 *
 * @module
 */
import { tf, type tfWasm } from "../deps.ts";

/** The wasm backend instance a kernel function receives. */
export type WasmBackend = tfWasm.BackendWasm;

/** A convolution's geometry, as `tf.backend_util.computeConv2DInfo` resolves it. */
export type ConvInfo = tf.backend_util.Conv2DInfo;

/**
 * Runs the wasm backend's registered kernel `kernelName` on tensor infos; the caller owns the
 * result and frees it with {@link free} unless it returns it.
 *
 * @example
 * ```ts ignore
 * const xT = runWasmKernel("Transpose", backend, { x }, { perm: [3, 1, 2, 0] });
 * ```
 */
export function runWasmKernel(
  kernelName: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, "wasm");
  if (!kernel) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as tf.TensorInfo;
}

/**
 * Frees intermediates made inside a kernel function.
 *
 * @example
 * ```ts ignore
 * free(backend, xT, dyT);
 * ```
 */
export function free(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * The float32 values of `info` as a view on the wasm heap. Take views after the last
 * allocation: a growing heap detaches earlier ones.
 *
 * @example
 * ```ts ignore
 * const dyValues = heapView(backend, dy);
 * ```
 */
export function heapView(backend: WasmBackend, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/**
 * Rejects what the wasm forward convolutions cannot run (they are NHWC only).
 *
 * @example
 * ```ts
 * import { requireNhwc } from "./wasm_kernel_utils.ts";
 * requireNhwc("Conv2DBackpropFilter", "NHWC");
 * ```
 */
export function requireNhwc(kernelName: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`wasm ${kernelName}: only dataFormat NHWC is supported, got ${dataFormat}`);
  }
}

/**
 * `dy` [N, Ho, Wo, C] spread onto a zero grid for the input gradient of a convolution: dy's
 * row i lands on row (kh − 1)·dh − padTop + i·strideH of an
 * [N, H + (kh − 1)·dh, W + (kw − 1)·dw, C] grid (rows falling outside are dropped: they saw
 * only padding). A stride-1 'valid' convolution of that grid with the spatially flipped
 * filter, at the forward dilation, is then exactly the input gradient, and runs on XNNPACK.
 *
 * @example
 * ```ts ignore
 * const grid = spreadGradient(backend, dy, convInfo);
 * ```
 */
export function spreadGradient(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  info: ConvInfo,
): tf.TensorInfo {
  const [batch, outH, outW, channels] = dy.shape;
  const rowOffset = (info.filterHeight - 1) * info.dilationHeight - info.padInfo.top;
  const colOffset = (info.filterWidth - 1) * info.dilationWidth - info.padInfo.left;
  const gridH = info.inHeight + (info.filterHeight - 1) * info.dilationHeight;
  const gridW = info.inWidth + (info.filterWidth - 1) * info.dilationWidth;
  const grid = backend.makeOutput([batch, gridH, gridW, channels], "float32");
  const out = heapView(backend, grid);
  const src = heapView(backend, dy);
  out.fill(0);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < outH; i++) {
      const row = rowOffset + i * info.strideHeight;
      if (row < 0 || row >= gridH) continue;
      for (let j = 0; j < outW; j++) {
        const col = colOffset + j * info.strideWidth;
        if (col < 0 || col >= gridW) continue;
        const from = ((n * outH + i) * outW + j) * channels;
        out.set(src.subarray(from, from + channels), ((n * gridH + row) * gridW + col) * channels);
      }
    }
  }
  return grid;
}

/**
 * The filter [kh, kw, A, B] flipped in both spatial axes, with its two channel axes swapped
 * ([kh, kw, B, A]) when `swapChannels`; the filter of the input-gradient convolution.
 *
 * @example
 * ```ts ignore
 * const flipped = flipFilter(backend, filter, true);
 * ```
 */
export function flipFilter(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  swapChannels: boolean,
): tf.TensorInfo {
  const [kh, kw, a, b] = filter.shape;
  const flipped = backend.makeOutput(swapChannels ? [kh, kw, b, a] : [kh, kw, a, b], "float32");
  const out = heapView(backend, flipped);
  const src = heapView(backend, filter);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const from = ((kh - 1 - r) * kw + (kw - 1 - c)) * a * b;
      const to = (r * kw + c) * a * b;
      if (!swapChannels) {
        out.set(src.subarray(from, from + a * b), to);
        continue;
      }
      for (let i = 0; i < a; i++) {
        for (let o = 0; o < b; o++) out[to + o * a + i] = src[from + i * b + o];
      }
    }
  }
  return flipped;
}

/**
 * The explicit padding of the filter-gradient convolution: the forward padding on top and left,
 * and at the bottom and right as much as makes the output at least kh x kw (the caller crops).
 *
 * @example
 * ```ts ignore
 * const pad = filterGradientPadding(convInfo);
 * ```
 */
export function filterGradientPadding(info: ConvInfo): [number, number][] {
  const bottom = (info.filterHeight - 1) * info.dilationHeight +
    (info.outHeight - 1) * info.strideHeight + 1 - info.inHeight - info.padInfo.top;
  const right = (info.filterWidth - 1) * info.dilationWidth +
    (info.outWidth - 1) * info.strideWidth + 1 - info.inWidth - info.padInfo.left;
  return [[0, 0], [info.padInfo.top, Math.max(0, bottom)], [
    info.padInfo.left,
    Math.max(0, right),
  ], [0, 0]];
}
