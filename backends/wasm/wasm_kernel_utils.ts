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
import { tf, type tfWasm } from "../../deps.ts";
import type { WasmHeap } from "./wasm_simd.ts";

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
 * The wasm backend's heap as a {@link WasmHeap}: its memory and its allocator, so that our own
 * wasm kernels (`winograd.ts`) work on tensors in place; undefined when this build of the
 * backend does not export its memory (callers then use other kernels).
 *
 * @example
 * ```ts ignore
 * const heap = wasmHeap(backend);
 * ```
 */
export function wasmHeap(backend: WasmBackend): WasmHeap | undefined {
  const module = backend.wasm as unknown as {
    asm?: { memory?: WebAssembly.Memory };
    wasmExports?: { memory?: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(address: number): void;
  };
  const memory = module.asm?.memory ?? module.wasmExports?.memory;
  if (!memory) return undefined;
  return {
    memory,
    malloc: (bytes) => module._malloc(bytes) >>> 0,
    free: (address) => module._free(address),
  };
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
 * One axis of an input gradient, restricted to the input positions of one phase: those whose
 * padded index p + pad ≡ `phase` (mod stride). Only the filter taps r ≡ `phase` (mod stride)
 * reach them, each from one dy row, so the phase's gradient is a stride-1 correlation of dy
 * with those `taps` (flipped) and no work falls on the zeros between strided dy rows.
 */
interface AxisPhase {
  phase: number;
  /** Filter taps of this phase: r = phase + stride·t for t < taps. */
  taps: number;
  /** The dy row that tap 0 of the phase's first position reads; the next positions read on. */
  row: number;
  /** The first input position of the phase; the next are stride apart. */
  first: number;
  count: number;
}

/**
 * The phases of one axis. At stride 1 there is one phase, with all taps at the forward
 * dilation; tfjs allows a dilation > 1 only at stride 1, so at stride s > 1 the taps are 1
 * apart in dy. Phases with no taps or no positions are left out: their gradient is zero.
 */
function axisPhases(
  inSize: number,
  kernel: number,
  stride: number,
  pad: number,
): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let phase = 0; phase < stride; phase++) {
    const taps = Math.ceil((kernel - phase) / stride);
    const row = Math.ceil((pad - phase) / stride);
    const count = Math.floor((inSize - 1 + pad - phase) / stride) - row + 1;
    if (taps > 0 && count > 0) {
      phases.push({ phase, taps, row, first: stride * row + phase - pad, count });
    }
  }
  return phases;
}

/**
 * One axis of a stride-1 convolution of dy: it reads dy rows `from` to `to` − 1 (those outside
 * dy are zeros), with `taps` taps `dilation` apart.
 */
interface AxisWindow {
  from: number;
  to: number;
  taps: number;
}

/** The convolution computing `phases` (one, or several stacked as output channels). */
function axisWindow(phases: AxisPhase[], dilation: number): AxisWindow {
  const taps = Math.max(...phases.map((p) => p.taps));
  const from = Math.min(...phases.map((p) => p.row)) - (taps - 1) * dilation;
  const to = Math.max(...phases.map((p) => p.row + p.count));
  return { from, to, taps };
}

/**
 * The taps of the phase pairs `pairs` of a [kh, kw, A, B] filter, flipped, in a window of
 * `rows.taps` x `cols.taps` (zero where a phase has fewer taps): [Th, Tw, A, B], or with
 * `swapChannels` [Th, Tw, B, P·A] with pair p's taps at output channels p·A to p·A + A − 1.
 */
function phaseFilter(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  pairs: [AxisPhase, AxisPhase][],
  rows: AxisWindow,
  cols: AxisWindow,
  strides: [number, number],
  swapChannels: boolean,
): tf.TensorInfo {
  const [, kw, a, b] = filter.shape;
  const block = a * b * pairs.length;
  const shape = [rows.taps, cols.taps, ...(swapChannels ? [b, a * pairs.length] : [a, b])];
  const taps = backend.makeOutput(shape, "float32");
  const out = heapView(backend, taps);
  const src = heapView(backend, filter);
  if (pairs.length > 1) out.fill(0);
  pairs.forEach(([rowPhase, colPhase], p) => {
    for (let t = 0; t < rowPhase.taps; t++) {
      const r = rowPhase.phase + strides[0] * t;
      for (let u = 0; u < colPhase.taps; u++) {
        const c = colPhase.phase + strides[1] * u;
        const from = (r * kw + c) * a * b;
        const to = ((rows.taps - 1 - t) * cols.taps + cols.taps - 1 - u) * block;
        if (swapChannels) {
          transposeBlock(src, from, out, to + p * a, a, b, a * pairs.length);
        } else {
          out.set(src.subarray(from, from + block), to);
        }
      }
    }
  });
  return taps;
}

/** out[to + j·outStride + i] = src[from + i·cols + j], in tiles that stay in cache. */
function transposeBlock(
  src: Float32Array,
  from: number,
  out: Float32Array,
  to: number,
  rows: number,
  cols: number,
  outStride: number,
): void {
  const tile = 32;
  for (let i0 = 0; i0 < rows; i0 += tile) {
    const iEnd = Math.min(rows, i0 + tile);
    for (let j0 = 0; j0 < cols; j0 += tile) {
      const jEnd = Math.min(cols, j0 + tile);
      for (let i = i0; i < iEnd; i++) {
        for (let j = j0; j < jEnd; j++) out[to + j * outStride + i] = src[from + i * cols + j];
      }
    }
  }
}

/**
 * Phase taps already made, per backend and per filter dataId (tfjs never rewrites the values
 * of a dataId: a variable's `assign` moves it to a new one). Explaining runs the same weights
 * again and again (IG steps, SmoothGrad samples, a test set), and remaking the taps (a
 * transposition, then XNNPACK's weight packing, which the wasm `Conv2D` caches per filter
 * tensor) cost 40% of a 512-channel layer's input gradient. Training's fresh weights miss.
 */
const tapCache = new WeakMap<WasmBackend, Map<tf.DataId, Map<string, tf.TensorInfo>>>();

/** The taps of `filter` under `key`, made by `make` on a miss; the cache owns them. */
function cachedTaps(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  key: string,
  make: () => tf.TensorInfo,
): tf.TensorInfo {
  let byFilter = tapCache.get(backend);
  if (!byFilter) tapCache.set(backend, byFilter = new Map());
  let byKey = byFilter.get(filter.dataId);
  if (!byKey) byFilter.set(filter.dataId, byKey = new Map());
  let taps = byKey.get(key);
  if (!taps) byKey.set(key, taps = make());
  return taps;
}

/** Frees the cached taps of filters that no longer exist. */
function sweepTapCache(backend: WasmBackend): void {
  const byFilter = tapCache.get(backend);
  if (!byFilter) return;
  for (const [dataId, byKey] of byFilter) {
    if (backend.dataIdMap.has(dataId)) continue;
    free(backend, ...byKey.values());
    byFilter.delete(dataId);
  }
}

/**
 * A stride-1 convolution of dy (or a crop of it) with one phase's taps, at the forward
 * dilation and the given explicit padding: the phase's input gradient [N, rows, cols, C].
 */
export type PhaseConvolution = (
  dy: tf.TensorInfo,
  taps: tf.TensorInfo,
  pad: [number, number][],
) => tf.TensorInfo;

/**
 * Below this many input channels, a regular convolution's phases run as one convolution with
 * their taps stacked as output channels: XNNPACK computes a convolution with 3 output channels
 * (ResNet's stem) at about the cost of 8, so the stack (12 channels, a 4x4 window where the
 * phases have 4x4, 4x3, 3x4 and 3x3 taps) took 65% of the time of the four (75 vs 115 ms
 * for a batch of 8 at 224 px).
 */
const STACK_PHASES_BELOW_CHANNELS = 8;

/**
 * The input gradient of a convolution, phase by phase: for each of the stride² phases of the
 * input grid, `convolve` correlates dy with the phase's flipped taps of `filter` [kh, kw, A, B]
 * (as [Th, Tw, B, A] with `swapChannels`), and the results are interleaved into dx. Spreading
 * dy onto the stride grid instead would spend 3/4 of a stride-2 convolution on zeros. The taps
 * are cached per filter (see `tapCache`); `convolve` must not free them.
 *
 * @example
 * ```ts ignore
 * const dx = inputGradientByPhases(backend, dy, filter, true, info, (d, taps, pad) =>
 *   runWasmKernel("Conv2D", backend, { x: d, filter: taps }, { strides: 1, pad, dilations: 1 }));
 * ```
 */
export function inputGradientByPhases(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  swapChannels: boolean,
  info: ConvInfo,
  convolve: PhaseConvolution,
): tf.TensorInfo {
  sweepTapCache(backend);
  const strides: [number, number] = [info.strideHeight, info.strideWidth];
  const dilations = [info.dilationHeight, info.dilationWidth];
  const shape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const rowPhases = axisPhases(info.inHeight, info.filterHeight, strides[0], info.padInfo.top);
  const colPhases = axisPhases(info.inWidth, info.filterWidth, strides[1], info.padInfo.left);
  const pairs = rowPhases.flatMap((r) => colPhases.map((c): [AxisPhase, AxisPhase] => [r, c]));
  const stacked = swapChannels && pairs.length > 1 &&
    info.inChannels < STACK_PHASES_BELOW_CHANNELS;
  /** The convolution of dy computing `group` (phase pairs sharing one window). */
  const run = (group: [AxisPhase, AxisPhase][]) => {
    const rows = axisWindow(group.map(([r]) => r), dilations[0]);
    const cols = axisWindow(group.map(([, c]) => c), dilations[1]);
    const [outH, outW] = [info.outHeight, info.outWidth];
    const read = rows.from <= 0 && rows.to >= outH && cols.from <= 0 && cols.to >= outW
      ? dy
      : runWasmKernel(tf.Slice, backend, { x: dy }, {
        begin: [0, Math.max(0, rows.from), Math.max(0, cols.from), 0],
        size: [
          -1,
          Math.min(outH, rows.to) - Math.max(0, rows.from),
          Math.min(outW, cols.to) - Math.max(0, cols.from),
          -1,
        ],
      });
    const key = [strides, group.map(([r, c]) => [r.phase, c.phase]), swapChannels].join();
    const taps = cachedTaps(
      backend,
      filter,
      key,
      () => phaseFilter(backend, filter, group, rows, cols, strides, swapChannels),
    );
    const gradient = convolve(read, taps, [
      [0, 0],
      [Math.max(0, -rows.from), Math.max(0, rows.to - outH)],
      [Math.max(0, -cols.from), Math.max(0, cols.to - outW)],
      [0, 0],
    ]);
    if (read !== dy) free(backend, read);
    // Output row o of the convolution is the gradient at the positions whose tap 0 reads dy
    // row o + rowStart.
    return {
      gradient,
      rowStart: rows.from + (rows.taps - 1) * dilations[0],
      colStart: cols.from + (cols.taps - 1) * dilations[1],
    };
  };
  const covered = (phases: AxisPhase[], size: number) =>
    phases.reduce((sum, p) => sum + p.count, 0) === size;
  const complete = covered(rowPhases, info.inHeight) && covered(colPhases, info.inWidth);
  if (complete && pairs.length === 1) return run(pairs).gradient;
  const dx = backend.makeOutput(shape, "float32");
  if (!complete) heapView(backend, dx).fill(0);
  for (const group of stacked ? [pairs] : pairs.map((pair) => [pair])) {
    const { gradient, rowStart, colStart } = run(group);
    group.forEach(([rows, cols], p) => {
      const source = {
        shape: gradient.shape,
        row: rows.row - rowStart,
        col: cols.row - colStart,
        channel: p * info.inChannels,
      };
      interleave(
        heapView(backend, dx),
        heapView(backend, gradient),
        shape,
        source,
        rows,
        cols,
        strides,
      );
    });
    free(backend, gradient);
  }
  return dx;
}

/** Where one phase's gradient sits in a convolution's output (several when stacked). */
interface PhaseSource {
  shape: number[];
  row: number;
  col: number;
  channel: number;
}

/** Writes one phase's gradient into its positions of dx. */
function interleave(
  dx: Float32Array,
  gradient: Float32Array,
  [batch, height, width, channels]: number[],
  source: PhaseSource,
  rows: AxisPhase,
  cols: AxisPhase,
  [strideH, strideW]: [number, number],
): void {
  const [, sourceH, sourceW, sourceC] = source.shape;
  for (let n = 0; n < batch; n++) {
    for (let a = 0; a < rows.count; a++) {
      const rowStart = (n * height + rows.first + strideH * a) * width + cols.first;
      let from = ((n * sourceH + source.row + a) * sourceW + source.col) * sourceC + source.channel;
      for (let b = 0; b < cols.count; b++, from += sourceC) {
        const to = (rowStart + strideW * b) * channels;
        // A `set` per pixel has a fixed cost that a handful of channels (the stem's 3) does not
        // repay.
        if (channels < 16) {
          for (let c = 0; c < channels; c++) dx[to + c] = gradient[from + c];
        } else {
          dx.set(gradient.subarray(from, from + channels), to);
        }
      }
    }
  }
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
