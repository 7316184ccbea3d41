/**
 * Convolutions as matrix products on OpenBLAS, replacing the wasm backend's `Conv2D` and
 * `FusedConv2D` where that is faster (and falling back to the stock XNNPACK kernels elsewhere).
 *
 * Three layouts, all NHWC with an HWIO filter, so that every matrix is a plain strided view:
 * - **shifted taps** (stride 1): zero-pad the input once to Hp x Wp; then output pixel (h, w)
 *   reads padded pixel (h + kh·dh, w + kw·dw), so for each tap the input rows of *all* output
 *   pixels form one contiguous matrix starting `kh·dh·Wp + kw·dw` rows in. One sgemm per tap,
 *   accumulating, computes the output on the padded grid (block by block of rows, for the cache);
 *   the valid Ho x Wo part is copied out. No im2col copy: the extra work is the
 *   (Hp·Wp − Ho·Wo) border rows.
 * - **im2col** (strided, thin inputs, and stride-1 grids that are mostly border): gather each
 *   output pixel's receptive field into one row, one sgemm with the whole filter as a
 *   (fh·fw·C) x F matrix.
 * - **Winograd F(2x2, 3x3) or F(4x4, 3x3)** (3 x 3, stride 1, channels in multiples of 4, enough
 *   pixels): `winograd.ts`, 2.25x or 4x fewer multiply-adds, its transforms in our wasm SIMD
 *   kernels on the backend's heap; resnet18's 3 x 3 convolutions ran 1.3–1.9x faster as F(2x2)
 *   than shifted taps (batch 8), and F(4x4) runs where it is clearly faster still
 *   ({@link winogradTile}).
 *
 * The convolutions inside our gradient kernels (`wasm_conv2d_backprop_input.ts`) call `Conv2D`
 * through the kernel registry, so input gradients and training use these too (the filter
 * gradient uses the first two layouts).
 *
 * **Not position-invariant.** OpenBLAS computes different rows of a product with different
 * summation orders (measured: rows 6–11 of every 12 differ in the last bit from rows 0–5), so
 * equal receptive fields can give outputs one ulp apart. XNNPACK and PyTorch give them equal
 * outputs. On images with flat regions (ECG paper) that changes which element of a max-pool tie
 * gets the gradient, and input-gradient maps then differ from Captum's (Saliency: Pearson 0.99 on
 * the resnet18 parity fixture). So gradient passes run the convolutions upstream of a max-pool
 * they go back through on the stock kernels ({@link withStockConvolutions},
 * `graph/max_pool_ties.ts`); nothing else depends on the last bit.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { OpenBlas, Sgemm } from "./openblas.ts";
import { heapView, type WasmBackend, wasmHeap } from "../wasm/wasm_kernel_utils.ts";
import { type ClampRange, winogradConv2d, winogradFits } from "./winograd.ts";
import { type WinogradTile, winogradTransforms } from "./winograd_transforms.ts";
import { wasmConv2DBackpropFilterConfig } from "../wasm/wasm_conv2d_backprop_filter.ts";
import { blasFusedMatMulConfig, blasMatMulConfig } from "./blas_matmul.ts";
import { activate, type Activation, ACTIVATIONS, fillRows } from "./epilogue.ts";

/** How {@link conv2dByGemm} lays a convolution out, or why it leaves it to XNNPACK. */
export type GemmPlan = "shifted-taps" | "im2col" | "stock";

/** Filters with more taps than this are not convolutions of a model layer (e.g. the filter-gradient's). */
const MAX_TAPS = 49;
/** Below this many input channels a per-tap product is too thin; im2col packs the taps together. */
const MIN_SHIFTED_CHANNELS = 16;
/**
 * Shifted taps run block by block of output rows, all taps on one block before the next, so that
 * the block (about 1 MB: this many floats) stays in cache while each tap adds to it; one pass per
 * tap over the whole output went to memory 9 times (measured, batch 8: resnet18's 56 x 56 x 64
 * convolutions 59 → 36 ms, 28 x 28 x 128 53 → 29 ms; smaller grids unchanged).
 */
const BLOCK_FLOATS = 1 << 18;
/** Blocks of fewer rows make sgemm calls too small to run at speed. */
const MIN_BLOCK_ROWS = 256;
/**
 * Above this many grid rows per output pixel, shifted taps spend more on the border than im2col
 * spends copying: a 7 x 7 output (resnet18's layer4) has 1.6 (81 − 20/8 rows for 49 pixels), and
 * im2col ran its convolution in 30 ms against 47 (batch 8); 14 x 14 has 1.28 and stays.
 */
const MAX_GRID_ROWS_PER_PIXEL = 1.5;
/** The largest im2col matrix built, in floats (256 MB). */
const MAX_IM2COL_FLOATS = 1 << 26;

/**
 * Which layout suits a convolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { gemmPlan } from "./blas_conv2d.ts";
 * const info = tf.backend_util.computeConv2DInfo([8, 56, 56, 64], [3, 3, 64, 64], 1, 1, "same");
 * assert(gemmPlan(info) === "shifted-taps");
 * ```
 */
export function gemmPlan(info: tf.backend_util.Conv2DInfo): GemmPlan {
  const { filterHeight: fh, filterWidth: fw, inChannels, strideHeight, strideWidth } = info;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (fh * fw > MAX_TAPS || pixels === 0) return "stock";
  const im2colFits = pixels * fh * fw * inChannels <= MAX_IM2COL_FLOATS;
  if (strideHeight === 1 && strideWidth === 1 && inChannels >= MIN_SHIFTED_CHANNELS) {
    const mostlyBorder = gridOf(info).rows > MAX_GRID_ROWS_PER_PIXEL * pixels;
    if (!mostlyBorder || !im2colFits) return "shifted-taps";
  }
  return im2colFits ? "im2col" : "stock";
}

/**
 * out = conv2d(x, filter) (+ bias, one value per output channel) for a plan other than
 * `"stock"`: NHWC input, HWIO filter, NHWC output of `info`'s shape. `blockRows`: the rows of
 * the shifted-taps grid computed per block (default: about 1 MB of output).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { conv2dByGemm } from "./blas_conv2d.ts";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * // A 3 x 3 image of ones with 8 channels, a 3 x 3 filter of ones, "same" padding: the corner
 * // sees 4 pixels x 8 channels.
 * const info = tf.backend_util.computeConv2DInfo([1, 3, 3, 8], [3, 3, 8, 1], 1, 1, "same");
 * const ones = (n: number) => new Float32Array(n).fill(1);
 * const out = new Float32Array(9);
 * conv2dByGemm(referenceSgemm, info, ones(72), ones(72), out);
 * assert(out[0] === 32 && out[4] === 72);
 * ```
 */
export function conv2dByGemm(
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  xNHWC: Float32Array,
  filterHWIO: Float32Array,
  outNHWC: Float32Array,
  bias?: Float32Array,
  blockRows: number = Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_FLOATS / info.outChannels)),
): void {
  const plan = gemmPlan(info);
  if (plan === "shifted-taps") {
    shiftedTaps(sgemm, info, xNHWC, filterHWIO, outNHWC, bias, blockRows);
  } else if (plan === "im2col") im2col(sgemm, info, xNHWC, filterHWIO, outNHWC, bias);
  else throw new Error(`conv2dByGemm: no gemm layout for a ${info.filterShape} filter`);
}

/**
 * The padded grid of the shifted-taps layout: just large enough for what the output reads
 * (row ho − 1 + (fh − 1)·dh at most), with `rows` the grid rows that can hold a valid output
 * pixel (later rows would read past the padded input).
 */
interface Grid {
  hp: number;
  wp: number;
  rows: number;
  /** The grid is the plain input and output (1 x 1, no padding): nothing to copy. */
  plain: boolean;
}

function gridOf(info: tf.backend_util.Conv2DInfo): Grid {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const hp = ho + (fh - 1) * dh;
  const wp = wo + (fw - 1) * dw;
  const rows = n * hp * wp - ((fh - 1) * dh * wp + (fw - 1) * dw);
  const plain = hp === ho && wp === wo && hp === h && wp === w && info.padInfo.top === 0 &&
    info.padInfo.left === 0;
  return { hp, wp, rows, plain };
}

/**
 * Work buffers kept between calls, in two slots (a call holds a padded input and a product at
 * once): a fresh Float32Array of tens of MB pays its page faults and zeroing on every call (a
 * 7 x 7 RGB stem's im2col took ~100 ms fresh, ~31 ms reused). A view is valid until the next
 * call for its slot; none outlives a kernel call. Above {@link MAX_REUSED_FLOATS}, fresh arrays.
 */
const workBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
const MAX_REUSED_FLOATS = 1 << 25;

function workBuffer(slot: 0 | 1, floats: number, zeroed: boolean): Float32Array {
  if (floats > MAX_REUSED_FLOATS) return new Float32Array(floats);
  if (workBuffers[slot].length < floats) {
    workBuffers[slot] = new Float32Array(floats);
    return workBuffers[slot];
  }
  const view = workBuffers[slot].subarray(0, floats);
  if (zeroed) view.fill(0);
  return view;
}

/** The input zero-padded onto the grid (the input itself when the grid is plain). */
function inputOnGrid(info: tf.backend_util.Conv2DInfo, grid: Grid, x: Float32Array): Float32Array {
  return grid.plain ? x : paddedInput(info, x, grid.hp, grid.wp);
}

/**
 * The input placed at `info`'s top-left padding in a zero [N, hp, wp, C] array, cut at the
 * bottom and right where hp x wp is smaller than what the padding would give.
 */
function paddedInput(
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  hp: number,
  wp: number,
): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, padInfo: { top, left } } = info;
  const padded = workBuffer(0, n * hp * wp * c, true);
  const copyWidth = Math.min(w, wp - left);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h && y + top < hp; y++) {
      const from = (b * h + y) * w * c;
      padded.set(x.subarray(from, from + copyWidth * c), ((b * hp + y + top) * wp + left) * c);
    }
  }
  return padded;
}

/** Copies output-shaped rows (NHWC, `channels` wide) between the output and the grid. */
function copyOutputRows(
  info: tf.backend_util.Conv2DInfo,
  grid: Grid,
  channels: number,
  from: Float32Array,
  to: Float32Array,
  direction: "grid-to-output" | "output-to-grid",
): void {
  const { batchSize: n, outHeight: ho, outWidth: wo } = info;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      const onGrid = (b * grid.hp + y) * grid.wp * channels;
      const onOutput = (b * ho + y) * wo * channels;
      if (direction === "grid-to-output") {
        to.set(from.subarray(onGrid, onGrid + wo * channels), onOutput);
      } else {
        to.set(from.subarray(onOutput, onOutput + wo * channels), onGrid);
      }
    }
  }
}

/** Each tap's input-row shift on the grid, in floats, and its filter slice's offset. */
function* taps(info: tf.backend_util.Conv2DInfo, grid: Grid) {
  const { inChannels: c, outChannels: f, filterHeight: fh, filterWidth: fw } = info;
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      yield {
        first: kh === 0 && kw === 0,
        shift: (kh * info.dilationHeight * grid.wp + kw * info.dilationWidth) * c,
        filterOffset: (kh * fw + kw) * c * f,
      };
    }
  }
}

function shiftedTaps(
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  filter: Float32Array,
  out: Float32Array,
  bias: Float32Array | undefined,
  blockRows: number,
): void {
  const { inChannels: c, outChannels: f } = info;
  const grid = gridOf(info);
  const padded = inputOnGrid(info, grid, x);
  const result = grid.plain ? out : workBuffer(1, info.batchSize * grid.hp * grid.wp * f, false);
  if (bias) fillRows(result.subarray(0, grid.rows * f), bias);
  const tapList = [...taps(info, grid)];
  for (let start = 0; start < grid.rows; start += blockRows) {
    const rows = Math.min(blockRows, grid.rows - start);
    const block = result.subarray(start * f);
    for (const { first, shift, filterOffset } of tapList) {
      const a = padded.subarray(start * c + shift);
      const beta = bias || !first ? 1 : 0;
      sgemm(rows, f, c, a, c, filter.subarray(filterOffset), f, beta, block, f);
    }
  }
  if (!grid.plain) copyOutputRows(info, grid, f, result, out, "grid-to-output");
}

/**
 * Each output pixel's receptive field as one row: [N·Ho·Wo, fh·fw·C]. The input is zero-padded
 * first, so that every tap reads in bounds; with no dilation a filter row's taps are one run of
 * fw·C floats. Element-wise copies: a `subarray` + `set` per run allocates a view, which made a
 * 7 x 7 RGB stem's im2col (21-float runs) 3x slower.
 */
function im2colMatrix(info: tf.backend_util.Conv2DInfo, x: Float32Array): Float32Array {
  const { batchSize: n, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const hp = (ho - 1) * sh + (fh - 1) * dh + 1;
  const wp = (wo - 1) * sw + (fw - 1) * dw + 1;
  const padded = paddedInput(info, x, hp, wp);
  // Every element is written: the padded input puts every tap in bounds.
  const cols = workBuffer(1, n * ho * wo * fh * fw * c, false);
  // One run per filter row without dilation, one per tap with it.
  const run = dw === 1 ? fw * c : c;
  const runStep = dw === 1 ? 0 : dw * c;
  const runs = dw === 1 ? 1 : fw;
  let to = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let kh = 0; kh < fh; kh++) {
          let from = ((b * hp + oy * sh + kh * dh) * wp + ox * sw) * c;
          for (let r = 0; r < runs; r++, from += runStep - run) {
            const end = from + run;
            while (from < end) cols[to++] = padded[from++];
          }
        }
      }
    }
  }
  return cols;
}

function im2col(
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  filter: Float32Array,
  out: Float32Array,
  bias: Float32Array | undefined,
): void {
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const f = info.outChannels;
  if (bias) fillRows(out, bias);
  const m = info.batchSize * info.outHeight * info.outWidth;
  sgemm(m, f, k, im2colMatrix(info, x), k, filter, f, bias ? 1 : 0, out, f);
}

/**
 * dFilter = ∂L/∂filter of conv2d(x, filter) given dy = ∂L/∂out, in the same layouts as
 * {@link conv2dByGemm}: per tap, (its input rows)ᵀ · dy; for im2col, im2colᵀ · dy.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { conv2dFilterGradientByGemm } from "./blas_conv2d.ts";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * // Ones in, ones back: each tap's gradient counts the output pixels that see an input pixel.
 * const info = tf.backend_util.computeConv2DInfo([1, 3, 3, 8], [3, 3, 8, 1], 1, 1, "same");
 * const ones = (n: number) => new Float32Array(n).fill(1);
 * const dFilter = new Float32Array(72);
 * conv2dFilterGradientByGemm(referenceSgemm, info, ones(72), ones(9), dFilter);
 * assert(dFilter[0] === 4 && dFilter[4 * 8] === 9);
 * ```
 */
export function conv2dFilterGradientByGemm(
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  xNHWC: Float32Array,
  dyNHWC: Float32Array,
  dFilterHWIO: Float32Array,
): void {
  const { inChannels: c, outChannels: f } = info;
  const plan = gemmPlan(info);
  if (plan === "im2col") {
    const k = info.filterHeight * info.filterWidth * c;
    const m = info.batchSize * info.outHeight * info.outWidth;
    sgemm(k, f, m, im2colMatrix(info, xNHWC), k, dyNHWC, f, 0, dFilterHWIO, f, true);
    return;
  }
  if (plan !== "shifted-taps") {
    throw new Error(`conv2dFilterGradientByGemm: no gemm layout for a ${info.filterShape} filter`);
  }
  const grid = gridOf(info);
  const padded = inputOnGrid(info, grid, xNHWC);
  let dyGrid = dyNHWC;
  if (!grid.plain) {
    // Border rows of the grid hold no output pixel: zero there, so they add nothing.
    dyGrid = workBuffer(1, info.batchSize * grid.hp * grid.wp * f, true);
    copyOutputRows(info, grid, f, dyNHWC, dyGrid, "output-to-grid");
  }
  for (const { shift, filterOffset } of taps(info, grid)) {
    const dTap = dFilterHWIO.subarray(filterOffset, filterOffset + c * f);
    sgemm(c, f, grid.rows, padded.subarray(shift), c, dyGrid, f, 0, dTap, f, true);
  }
}

/** The fused activations as the clamp the Winograd output transform applies. */
const CLAMPS: Record<Activation, ClampRange> = {
  linear: [-Infinity, Infinity],
  relu: [0, Infinity],
  relu6: [0, 6],
};

/**
 * Below this many output pixels (all images), transforming a 3 x 3 filter for Winograd costs
 * more than it saves: its 16·C·F transformed floats against 5·C·F multiply-adds saved per pixel.
 */
const MIN_WINOGRAD_PIXELS = 256;

/** Whether a convolution runs as F(2x2, 3x3) (`winograd.ts`): 1.3–1.9x faster on resnet18's. */
function winogradPays(info: tf.backend_util.Conv2DInfo): boolean {
  return winogradFits(info) &&
    info.batchSize * info.outHeight * info.outWidth >= MIN_WINOGRAD_PIXELS;
}

/** Multiply-adds of the products per C·F, for tiles of m pixels a side (partial tiles counted). */
function winogradProducts({ outHeight, outWidth }: tf.backend_util.Conv2DInfo, m: WinogradTile) {
  return winogradTransforms(m).alpha ** 2 * Math.ceil(outHeight / m) * Math.ceil(outWidth / m);
}

/**
 * F(4x4) needs at least this many times fewer products than F(2x2) to pay for its transforms,
 * which do about 2x the arithmetic per pixel (Bᵀ and Aᵀ scale, G divides by 6, 12 and 24).
 * resnet18's 56, 28 and 7 px grids need 1.78x fewer, its 14 px grid 1.36x (16 x 16 covered).
 */
const MIN_F4_SAVING = 1.5;
/**
 * Below this many output pixels (all images), F(4x4)'s filter transform (2.25x F(2x2)'s) costs
 * more than its products save (measured: lost at 196 pixels, won at 784).
 */
const MIN_F4_PIXELS = 512;

/**
 * The Winograd tile a convolution runs with (`winograd.ts`), or undefined when it runs as
 * shifted taps or im2col: F(4x4, 3x3) where it clearly does fewer products than F(2x2, 3x3),
 * else F(2x2, 3x3).
 *
 * Measured (resnet18's four 3 x 3 shapes, F(2x2) / F(4x4) time, in-process A/B interleaved,
 * medians of 9, two runs on 2 cores shared with other jobs, so noisy; batch 16, then 4, then 2):
 * - 56 x 56 x 64: 1.10, 2.06; 1.43; 2.49, 0.61 (bimodal both ways: 4 or 8 ms)
 * - 28 x 28 x 128: 1.61, 1.59; 1.48; 1.24, 1.51
 * - 14 x 14 x 256: 1.10, 0.88; 1.05; 0.73, 0.95: no clear win, stays F(2x2)
 * - 7 x 7 x 512: 1.22, 1.44; 0.70 (196 pixels); 0.58, 0.73 (98 pixels, not Winograd at all)
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { winogradTile } from "./blas_conv2d.ts";
 * const info = (sizePx: number, channels: number, batch = 16) =>
 *   tf.backend_util.computeConv2DInfo(
 *     [batch, sizePx, sizePx, channels],
 *     [3, 3, channels, channels],
 *     1,
 *     1,
 *     "same",
 *   );
 * assert(winogradTile(info(56, 64)) === 4 && winogradTile(info(14, 256)) === 2);
 * assert(winogradTile(info(7, 512, 2)) === undefined); // 98 pixels: shifted taps or im2col
 * ```
 */
export function winogradTile(info: tf.backend_util.Conv2DInfo): WinogradTile | undefined {
  if (!winogradPays(info)) return undefined;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  const saving = winogradProducts(info, 2) / winogradProducts(info, 4);
  return saving >= MIN_F4_SAVING && pixels >= MIN_F4_PIXELS ? 4 : 2;
}

interface Conv2DAttrsLike {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: string;
  dilations: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
}

/**
 * The geometry of a convolution of `x` with a filter of `filterShape` when our kernels can take
 * it (NHWC, float32 tensors, a layout other than "stock"), or undefined to leave it to the
 * stock kernel.
 */
function gemmInfo(
  tensors: tf.TensorInfo[],
  xShape: number[],
  filterShape: number[],
  attrs: Conv2DAttrsLike,
): tf.backend_util.Conv2DInfo | undefined {
  if (attrs.dataFormat !== "NHWC" || tensors.some((t) => t.dtype !== "float32")) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return gemmPlan(info) === "stock" ? undefined : info;
}

/**
 * Our kernel's inputs when it can take the forward call, or undefined: also inside
 * {@link withStockConvolutions}.
 */
function gemmCall(
  inputs: tf.NamedTensorInfoMap,
  attrs: Conv2DAttrsLike,
): { info: tf.backend_util.Conv2DInfo; x: tf.TensorInfo; filter: tf.TensorInfo } | undefined {
  if (stockScopes > 0) return undefined;
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const info = gemmInfo([x, filter], x.shape, filter.shape, attrs);
  return info && { info, x, filter };
}

/** Runs a planned call: allocates the output, then takes heap views (allocation may move them). */
function runGemmConv(
  blas: OpenBlas,
  backend: WasmBackend,
  { info, x, filter }: NonNullable<ReturnType<typeof gemmCall>>,
  epilogue?: { bias?: tf.TensorInfo; activation: Activation },
): tf.TensorInfo {
  const output = backend.makeOutput(info.outShape, "float32");
  const out = heapView(backend, output);
  const bias = epilogue?.bias ? heapView(backend, epilogue.bias) : undefined;
  const tile = winogradTile(info);
  const heap = tile ? wasmHeap(backend) : undefined;
  if (tile && heap) {
    const clamp = CLAMPS[epilogue?.activation ?? "linear"];
    const [xView, filterView] = [heapView(backend, x), heapView(backend, filter)];
    winogradConv2d(heap, blas.sgemm, info, xView, filterView, out, bias, clamp, tile);
    return output;
  }
  conv2dByGemm(blas.sgemm, info, heapView(backend, x), heapView(backend, filter), out, bias);
  if (epilogue) activate(out, epilogue.activation);
  return output;
}

/** Open {@link withStockConvolutions} scopes. */
let stockScopes = 0;

/**
 * Runs `f` with forward convolutions on the stock XNNPACK kernels, which are position-invariant
 * (equal receptive fields, equal outputs): for a convolution whose output a max-pool compares
 * when its gradient is taken, so that ties stay ties (see the module notes). Scopes nest; ops
 * run eagerly, so what `f` computes is settled when it returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { withStockConvolutions } from "./blas_conv2d.ts";
 * assert(withStockConvolutions(() => 2) === 2);
 * ```
 */
export function withStockConvolutions<T>(f: () => T): T {
  stockScopes++;
  try {
    return f();
  } finally {
    stockScopes--;
  }
}

/**
 * `Conv2D`, `FusedConv2D`, `Conv2DBackpropFilter` and `BatchMatMul` kernel configs for the wasm
 * backend that run on `blas`, handing what they do not cover to `stock` (the configs they replace, whose
 * `setupFunc`s they keep).
 *
 * @example
 * ```ts ignore
 * const configs = blasConvolutionConfigs(loadOpenBlas()!, stockConfigs);
 * ```
 */
export function blasConvolutionConfigs(
  blas: OpenBlas,
  stock: StockConfigs,
): tf.KernelConfig[] {
  const conv2d: tf.KernelConfig = {
    ...stock.conv2d,
    kernelFunc: (args) => {
      const call = gemmCall(args.inputs, args.attrs as unknown as Conv2DAttrsLike);
      if (!call) return stock.conv2d.kernelFunc(args);
      return runGemmConv(blas, args.backend as WasmBackend, call);
    },
  };
  const fused: tf.KernelConfig = {
    ...stock.fused,
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as Conv2DAttrsLike;
      const { bias, preluActivationWeights } = args.inputs as {
        bias?: tf.TensorInfo;
        preluActivationWeights?: tf.TensorInfo;
      };
      const activation = attrs.activation ?? "linear";
      const call = gemmCall(args.inputs, attrs);
      const biasFits = !bias ||
        (bias.dtype === "float32" && tf.util.sizeFromShape(bias.shape) === call?.info.outChannels);
      if (!call || preluActivationWeights || !ACTIVATIONS.includes(activation) || !biasFits) {
        return stock.fused.kernelFunc(args);
      }
      return runGemmConv(blas, args.backend as WasmBackend, call, {
        bias,
        activation: activation as Activation,
      });
    },
  };
  const filterGradient: tf.KernelConfig = {
    ...stock.filterGradient,
    kernelFunc: (args) => {
      const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      // tfjs's filter gradient has no dilation attribute: its convolutions are undilated.
      const info = gemmInfo([x, dy], x.shape, attrs.filterShape, { ...attrs, dilations: 1 });
      if (!info) return stock.filterGradient.kernelFunc(args);
      const backend = args.backend as WasmBackend;
      const dFilter = backend.makeOutput(attrs.filterShape, "float32");
      conv2dFilterGradientByGemm(
        blas.sgemm,
        info,
        heapView(backend, x),
        heapView(backend, dy),
        heapView(backend, dFilter),
      );
      return dFilter;
    },
  };
  return [
    conv2d,
    fused,
    filterGradient,
    blasMatMulConfig(blas, stock.matMul),
    blasFusedMatMulConfig(blas, stock.fusedMatMul),
  ];
}

/** The kernels {@link blasConvolutionConfigs} replaces and falls back to. */
export interface StockConfigs {
  conv2d: tf.KernelConfig;
  fused: tf.KernelConfig;
  filterGradient: tf.KernelConfig;
  /** `BatchMatMul` (`blas_matmul.ts`): registered with the convolutions, for the same reason. */
  matMul: tf.KernelConfig;
  /** `_FusedMatMul` (`blas_matmul.ts`), a Dense layer's product. */
  fusedMatMul: tf.KernelConfig;
}

let stockConfigs: StockConfigs | undefined;

/**
 * Makes the wasm backend's convolutions run on `blas` (see the module notes); undo with
 * {@link unregisterBlasConvolutions}. Safe to call again.
 *
 * @example
 * ```ts
 * import { loadOpenBlas } from "./openblas.ts";
 * import { registerBlasConvolutions, unregisterBlasConvolutions } from "./blas_conv2d.ts";
 * const blas = loadOpenBlas();
 * if (blas) {
 *   registerBlasConvolutions(blas);
 *   unregisterBlasConvolutions();
 * }
 * ```
 */
export function registerBlasConvolutions(blas: OpenBlas): void {
  stockConfigs ??= {
    conv2d: requireKernel(tf.Conv2D),
    fused: requireKernel(tf.FusedConv2D),
    // Stock wasm has none; ours (register_wasm_kernels.ts) runs it on XNNPACK convolutions.
    filterGradient: tf.getKernel(tf.Conv2DBackpropFilter, "wasm") as tf.KernelConfig ??
      wasmConv2DBackpropFilterConfig,
    matMul: requireKernel(tf.BatchMatMul),
    fusedMatMul: requireKernel(tf._FusedMatMul),
  };
  for (const config of blasConvolutionConfigs(blas, stockConfigs)) replaceKernel(config);
}

/**
 * Puts the stock XNNPACK convolutions back.
 *
 * @example
 * ```ts
 * import { unregisterBlasConvolutions } from "./blas_conv2d.ts";
 * unregisterBlasConvolutions(); // a no-op when they were never replaced
 * ```
 */
export function unregisterBlasConvolutions(): void {
  if (!stockConfigs) return;
  for (const config of Object.values(stockConfigs)) replaceKernel(config);
  stockConfigs = undefined;
}

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, "wasm")) tf.unregisterKernel(config.kernelName, "wasm");
  tf.registerKernel(config);
}

function requireKernel(kernelName: string): tf.KernelConfig {
  const config = tf.getKernel(kernelName, "wasm");
  if (!config) throw new Error(`the wasm backend has no ${kernelName} kernel to fall back to`);
  return config as tf.KernelConfig;
}
