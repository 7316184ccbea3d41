/**
 * 3 x 3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016): each 2 x 2 output tile is
 * Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, with d the tile's 4 x 4 input patch. Over channels, the ⊙ becomes 16
 * matrix products, (tiles x C)·(C x F), one per element of the 4 x 4 transformed tile: 16·C·F
 * multiply-adds per 4 output pixels instead of 36·C·F, so 2.25x fewer than a direct
 * convolution. They run on OpenBLAS; the three transforms run in our own wasm SIMD kernels
 * (`wasm_simd.ts`) on the wasm backend's heap, in place.
 *
 * Accuracy: the transforms only add, subtract and halve, so results stay within a few float32
 * ulps of the direct sum (tested against it; relative L2 error about 3e-7 on resnet18's layers).
 * Like the OpenBLAS layouts, results depend on a pixel's place in its tile, which only matters for
 * max-pool ties, and those are handled upstream (`blas_conv2d.ts`).
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { Sgemm } from "./openblas.ts";
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
  type WasmHeap,
} from "../wasm/wasm_simd.ts";

/**
 * Whether a convolution has the shape F(2x2, 3x3) computes: a 3 x 3 filter at stride 1 and
 * dilation 1, channels in and out in multiples of 4 (the SIMD width), enough of them for the
 * products to run at speed (16), and padding of at most 1 on each side.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { winogradFits } from "./winograd.ts";
 * const info = tf.backend_util.computeConv2DInfo([8, 56, 56, 64], [3, 3, 64, 64], 1, 1, "same");
 * assert(winogradFits(info));
 * ```
 */
export function winogradFits(info: tf.backend_util.Conv2DInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  return filterHeight === 3 && filterWidth === 3 && strideHeight === 1 && strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 &&
    info.inChannels % 4 === 0 && info.outChannels % 4 === 0 && info.inChannels >= 16 &&
    info.outChannels >= 16 && Math.max(padInfo.top, padInfo.left) <= 1 &&
    info.outHeight > 0 && info.outWidth > 0;
}

// ---------------------------------------------------------------------------------------------
// The kernels. Each works on 4 channels at a time (one v128); addresses are bytes.

const addV = (a: number, b: number): Code => [...op.get(a), ...op.get(b), ...op.add];
const subV = (a: number, b: number): Code => [...op.get(a), ...op.get(b), ...op.sub];

/** `local = k · step` for k < count, as named i32 locals `${prefix}k`. */
function multiples(l: Locals, prefix: string, count: number, step: number): Code {
  const code: Code = [];
  for (let k = 0; k < count; k++) {
    code.push(...op.get(step), ...op.i32(k), ...op.i32Mul, ...op.set(l.i32(`${prefix}${k}`)));
  }
  return code;
}

/**
 * filter(g, u, channels, fBytes, tapBytes, planeBytes): U = G g Gᵀ for every (input channel,
 * output channel), from HWIO g (tap planes tapBytes apart, rows of fBytes) to 16 planes of
 * C x F, planeBytes apart.
 */
function filterKernel(): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const l = new Locals(params);
  const [g, u, channels, fBytes, tapBytes, planeBytes] = [0, 1, 2, 3, 4, 5];
  const [c, fb, pg, pu, half] = [l.i32("c"), l.i32("fb"), l.i32("pg"), l.i32("pu"), l.v128("half")];
  const [rowOffset, rowG, rowU] = [l.i32("rowOffset"), l.i32("rowG"), l.i32("rowU")];
  const w = (r: number, s: number) => l.v128(`w${r}${s}`);
  const gg = (i: number, s: number) => l.v128(`gg${i}${s}`);
  /** [a, (a + b + d)/2, (a − b + d)/2, d] of three locals, as the four values G takes them to. */
  const gRows = (a: number, b: number, d: number): Code[] => [
    op.get(a),
    [...addV(a, b), ...op.get(d), ...op.add, ...op.get(half), ...op.mul],
    [...subV(a, b), ...op.get(d), ...op.add, ...op.get(half), ...op.mul],
    op.get(d),
  ];
  const offsets = [...multiples(l, "tap", 9, tapBytes), ...multiples(l, "o", 16, planeBytes)];
  const inner: Code = [...setSum(pg, rowG, fb), ...setSum(pu, rowU, fb)];
  for (let r = 0; r < 3; r++) {
    for (let s = 0; s < 3; s++) {
      inner.push(...loadAt(pg, l.index(`tap${r * 3 + s}`)), ...op.set(w(r, s)));
    }
  }
  for (let s = 0; s < 3; s++) {
    gRows(w(0, s), w(1, s), w(2, s)).forEach((value, i) =>
      inner.push(...value, ...op.set(gg(i, s)))
    );
  }
  for (let i = 0; i < 4; i++) {
    gRows(gg(i, 0), gg(i, 1), gg(i, 2)).forEach((value, j) =>
      inner.push(...storeAt(pu, l.index(`o${i * 4 + j}`), value))
    );
  }
  const row: Code = [
    ...op.get(c),
    ...op.get(fBytes),
    ...op.i32Mul,
    ...op.set(rowOffset),
    ...setSum(rowG, g, rowOffset),
    ...setSum(rowU, u, rowOffset),
    ...countedLoop(fb, fBytes, 16, inner),
  ];
  const body: Code = [
    ...offsets,
    ...op.f32(0.5),
    ...op.splat,
    ...op.set(half),
    ...countedLoop(c, channels, 1, row),
  ];
  return { name: "filter", params, locals: l.locals(), body };
}

/**
 * input(src, dst, count, cBytes, rowBytes, planeBytes): V = Bᵀ d B for `count` tiles along a
 * row of the padded input (the first patch's top-left pixel at src, the next 2 pixels right),
 * into 16 planes planeBytes apart, one row of cBytes per tile.
 */
function inputKernel(): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const l = new Locals(params);
  const [src, dst, count, cBytes, rowBytes, planeBytes] = [0, 1, 2, 3, 4, 5];
  const [t, cb, ps, pd] = [l.i32("t"), l.i32("cb"), l.i32("ps"), l.i32("pd")];
  const d = (r: number, q: number) => l.v128(`d${r}${q}`);
  const h = (r: number, q: number) => l.v128(`h${r}${q}`);
  /** Bᵀ's rows applied to four locals: [a0 − a2, a1 + a2, a2 − a1, a1 − a3]. */
  const bRows = (a: number[]): Code[] => [
    subV(a[0], a[2]),
    addV(a[1], a[2]),
    subV(a[2], a[1]),
    subV(a[1], a[3]),
  ];
  const off = (r: number, q: number) => l.i32(`off${r}${q}`);
  const setup: Code = [
    ...multiples(l, "po", 16, planeBytes),
    ...multiples(l, "row", 4, rowBytes),
    ...multiples(l, "column", 4, cBytes),
  ];
  for (let r = 0; r < 4; r++) {
    for (let q = 0; q < 4; q++) {
      setup.push(...setSum(off(r, q), l.index(`row${r}`), l.index(`column${q}`)));
    }
  }
  const inner: Code = [...setSum(ps, src, cb), ...setSum(pd, dst, cb)];
  for (let r = 0; r < 4; r++) {
    for (let q = 0; q < 4; q++) inner.push(...loadAt(ps, off(r, q)), ...op.set(d(r, q)));
  }
  // Along each patch row (over q), then down each column (over r), storing as we go.
  for (let r = 0; r < 4; r++) {
    bRows([0, 1, 2, 3].map((q) => d(r, q))).forEach((v, q) => inner.push(...v, ...op.set(h(r, q))));
  }
  for (let q = 0; q < 4; q++) {
    bRows([0, 1, 2, 3].map((r) => h(r, q))).forEach((v, r) =>
      inner.push(...storeAt(pd, l.index(`po${r * 4 + q}`), v))
    );
  }
  // The next tile: 2 pixels right in the input, one row down in the planes.
  const advance = [
    ...setSum(src, src, cBytes),
    ...setSum(src, src, cBytes),
    ...setSum(dst, dst, cBytes),
  ];
  const body: Code = [
    ...setup,
    ...countedLoop(t, count, 1, [...countedLoop(cb, cBytes, 16, inner), ...advance]),
  ];
  return { name: "input", params, locals: l.locals(), body };
}

/**
 * output(src, dst, count, fBytes, planeBytes, rowBytes, bias, lo, hi): Y = Aᵀ m A for `count`
 * tiles (rows of fBytes in 16 planes planeBytes apart) written as 2 x 2 pixels into an output
 * grid with rows of rowBytes, the next tile 2 pixels right; then + bias, clamped to [lo, hi]
 * (the fused ReLU or ReLU6, or ±Infinity).
 */
function outputKernel(): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32"];
  const l = new Locals(params);
  const [src, dst, count, fBytes, planeBytes, rowBytes, bias, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [t, fb, ps, pd, pb] = [l.i32("t"), l.i32("fb"), l.i32("ps"), l.i32("pd"), l.i32("pb")];
  const [zero, diagonal] = [l.i32("zero"), l.i32("diagonal")];
  const [loV, hiV, b] = [l.v128("lo"), l.v128("hi"), l.v128("b")];
  const m = (k: number) => l.v128(`m${k}`);
  const s = (i: number, q: number) => l.v128(`s${i}${q}`);
  /** Aᵀ's rows applied to four locals: [a0 + a1 + a2, a1 − a2 − a3]. */
  const aRows = (a: number[]): Code[] => [
    [...addV(a[0], a[1]), ...op.get(a[2]), ...op.add],
    [...subV(a[1], a[2]), ...op.get(a[3]), ...op.sub],
  ];
  const finish = (value: Code): Code => [
    ...value,
    ...op.get(b),
    ...op.add,
    ...op.get(loV),
    ...op.max,
    ...op.get(hiV),
    ...op.min,
  ];
  const setup: Code = [
    ...multiples(l, "po", 16, planeBytes),
    ...op.get(lo),
    ...op.splat,
    ...op.set(loV),
    ...op.get(hi),
    ...op.splat,
    ...op.set(hiV),
    ...op.i32(0),
    ...op.set(zero),
    ...setSum(diagonal, rowBytes, fBytes),
  ];
  const inner: Code = [
    ...setSum(ps, src, fb),
    ...setSum(pd, dst, fb),
    ...setSum(pb, bias, fb),
    ...loadAt(pb, zero),
    ...op.set(b),
  ];
  for (let k = 0; k < 16; k++) inner.push(...loadAt(ps, l.index(`po${k}`)), ...op.set(m(k)));
  for (let q = 0; q < 4; q++) {
    aRows([0, 1, 2, 3].map((r) => m(r * 4 + q))).forEach((v, i) =>
      inner.push(...v, ...op.set(s(i, q)))
    );
  }
  // The tile's 2 x 2 pixels, at these byte offsets from its top-left one.
  const places = [zero, fBytes, rowBytes, diagonal];
  for (let i = 0; i < 2; i++) {
    aRows([0, 1, 2, 3].map((q) => s(i, q))).forEach((v, j) =>
      inner.push(...storeAt(pd, places[i * 2 + j], finish(v)))
    );
  }
  // The next tile: one row down in the planes, 2 pixels right in the output.
  const advance = [
    ...setSum(src, src, fBytes),
    ...setSum(dst, dst, fBytes),
    ...setSum(dst, dst, fBytes),
  ];
  const body: Code = [
    ...setup,
    ...countedLoop(t, count, 1, [...countedLoop(fb, fBytes, 16, inner), ...advance]),
  ];
  return { name: "output", params, locals: l.locals(), body };
}

interface Kernels {
  filter(
    g: number,
    u: number,
    channels: number,
    fBytes: number,
    tapBytes: number,
    planeBytes: number,
  ): void;
  input(
    src: number,
    dst: number,
    count: number,
    cBytes: number,
    rowBytes: number,
    planeBytes: number,
  ): void;
  output(
    src: number,
    dst: number,
    count: number,
    fBytes: number,
    planeBytes: number,
    rowBytes: number,
    bias: number,
    lo: number,
    hi: number,
  ): void;
}

const kernelsOn = kernelsPerMemory<Kernels>(() => [filterKernel(), inputKernel(), outputKernel()]);

// ---------------------------------------------------------------------------------------------
// The convolution.

/** Work areas kept between calls, per heap: a fresh malloc of tens of MB per call costs faults. */
interface Scratch {
  address: number;
  bytes: number;
}
const scratches = new WeakMap<WebAssembly.Memory, Scratch>();

function scratchOn(heap: WasmHeap, bytes: number): number {
  const held = scratches.get(heap.memory);
  if (held && held.bytes >= bytes) return held.address;
  if (held) heap.free(held.address);
  const address = heap.malloc(bytes);
  scratches.set(heap.memory, { address, bytes });
  return address;
}

/** Tiles per block of products: the block's transformed input and products stay in cache. */
const BLOCK_FLOATS = 1 << 18;
const MIN_BLOCK_TILES = 128;
/**
 * Floats between the 16 planes beyond their size: planes a power of two apart put the 16
 * loads or stores of one tile in the same cache set, and they evict each other.
 */
const PLANE_SKEW = 16;

/** The part of a clamped activation the output kernel applies: [lo, hi]. */
export type ClampRange = readonly [number, number];

/**
 * out = conv2d(x, filter) (+ bias) clamped to `clamp`, by F(2x2, 3x3), for a convolution
 * {@link winogradFits}. x (NHWC), filter (HWIO), out (NHWC) and bias must be views on
 * `heap.memory`; `heap` gives the work areas (kept between calls).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { winogradConv2d } from "./winograd.ts";
 * import { bumpHeap } from "../wasm/wasm_simd.ts";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * const heap = bumpHeap(64);
 * // 3 x 3 ones over a 4 x 4 image of ones, 16 channels in and out, "same" padding.
 * const info = tf.backend_util.computeConv2DInfo([1, 4, 4, 16], [3, 3, 16, 16], 1, 1, "same");
 * const x = heap.floats(256).fill(1), filter = heap.floats(9 * 256).fill(1);
 * const out = heap.floats(256);
 * winogradConv2d(heap, referenceSgemm, info, x, filter, out);
 * assert(out[0] === 4 * 16 && out[5 * 16] === 9 * 16); // a corner and an inner pixel
 * ```
 */
export function winogradConv2d(
  heap: WasmHeap,
  sgemm: Sgemm,
  info: tf.backend_util.Conv2DInfo,
  xNHWC: Float32Array,
  filterHWIO: Float32Array,
  outNHWC: Float32Array,
  bias?: Float32Array,
  clamp: ClampRange = [-Infinity, Infinity],
): void {
  if (!winogradFits(info)) throw new Error(`winogradConv2d: not a F(2x2, 3x3) convolution`);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: f } = info;
  const { outHeight: ho, outWidth: wo, padInfo: { top, left } } = info;
  const tilesHigh = Math.ceil(ho / 2), tilesWide = Math.ceil(wo / 2);
  const tiles = n * tilesHigh * tilesWide;
  const hp = 2 * tilesHigh + 2, wp = 2 * tilesWide + 2;
  const onGrid = ho % 2 !== 0 || wo % 2 !== 0;
  const blockTiles = Math.max(MIN_BLOCK_TILES, Math.floor(BLOCK_FLOATS / (16 * Math.max(c, f))));
  // Addresses now: allocating the work area may grow the memory, which detaches these views.
  for (const array of [xNHWC, filterHWIO, outNHWC, ...(bias ? [bias] : [])]) {
    if (array.buffer !== heap.memory.buffer) {
      throw new Error("winogradConv2d: x, filter, out and bias must be views on the heap's memory");
    }
  }
  const [xAt, filterAt, outAt] = [xNHWC.byteOffset, filterHWIO.byteOffset, outNHWC.byteOffset];
  const biasAt = bias?.byteOffset;

  // One work area: padded input, U, V and M blocks, the output grid when the output is odd,
  // and a zero bias.
  const [uPlane, vPlane, mPlane] = [c * f, blockTiles * c, blockTiles * f].map((size) =>
    size + PLANE_SKEW
  );
  const sizes = [n * hp * wp * c, 16 * uPlane, 16 * vPlane, 16 * mPlane];
  sizes.push(onGrid ? n * 2 * tilesHigh * 2 * tilesWide * f : 0, bias ? 0 : f);
  const base = scratchOn(heap, 4 * sizes.reduce((a, b) => a + b, 0) + 16 * sizes.length);
  const areas: number[] = [];
  let next = base;
  for (const size of sizes) {
    areas.push(next);
    next += Math.ceil((4 * size) / 16) * 16;
  }
  const [padded, u, v, m, grid, zeroBias] = areas;
  const heapF32 = new Float32Array(heap.memory.buffer);

  // The input on a zero grid with `top`/`left` rows and columns of padding before it: each grid
  // row is zeros, then the input row, then zeros (only the zeros are written, not the whole grid).
  const copyRows = Math.min(h, hp - top), copyWidth = Math.min(w, wp - left);
  const gridRow = wp * c;
  for (let b = 0; b < n; b++) {
    const image = padded / 4 + b * hp * gridRow;
    heapF32.fill(0, image, image + top * gridRow);
    for (let y = 0; y < copyRows; y++) {
      const row = image + (y + top) * gridRow;
      const from = xAt / 4 + (b * h + y) * w * c;
      heapF32.fill(0, row, row + left * c);
      heapF32.copyWithin(row + left * c, from, from + copyWidth * c);
      heapF32.fill(0, row + (left + copyWidth) * c, row + gridRow);
    }
    heapF32.fill(0, image + (copyRows + top) * gridRow, image + hp * gridRow);
  }
  if (!bias) heapF32.fill(0, zeroBias / 4, zeroBias / 4 + f);

  const kernels = kernelsOn(heap.memory);
  kernels.filter(filterAt, u, c, 4 * f, 4 * c * f, 4 * uPlane);
  const biasAddress = biasAt ?? zeroBias;
  const outBase = onGrid ? grid : outAt;
  const outRowFloats = (onGrid ? 2 * tilesWide : wo) * f;
  const outImageRows = onGrid ? 2 * tilesHigh : ho;
  const vF32 = heapF32.subarray(v / 4),
    uF32 = heapF32.subarray(u / 4),
    mF32 = heapF32.subarray(m / 4);

  /** Calls `run(tile, count, image, tileRow, tileColumn)` for the runs of a block along tile rows. */
  const runsOf = (
    first: number,
    count: number,
    run: (k: number, count: number, b: number, ty: number, tx: number) => void,
  ) => {
    for (let k = 0; k < count;) {
      const t = first + k;
      const b = Math.floor(t / (tilesHigh * tilesWide));
      const ty = Math.floor(t / tilesWide) % tilesHigh, tx = t % tilesWide;
      const length = Math.min(count - k, tilesWide - tx);
      run(k, length, b, ty, tx);
      k += length;
    }
  };
  for (let first = 0; first < tiles; first += blockTiles) {
    const count = Math.min(blockTiles, tiles - first);
    runsOf(first, count, (k, length, b, ty, tx) =>
      kernels.input(
        padded + 4 * ((b * hp + 2 * ty) * wp + 2 * tx) * c,
        v + 4 * k * c,
        length,
        4 * c,
        4 * wp * c,
        4 * vPlane,
      ));
    for (let e = 0; e < 16; e++) {
      sgemm(
        count,
        f,
        c,
        vF32.subarray(e * vPlane),
        c,
        uF32.subarray(e * uPlane),
        f,
        0,
        mF32.subarray(e * mPlane),
        f,
      );
    }
    runsOf(first, count, (k, length, b, ty, tx) =>
      kernels.output(
        m + 4 * k * f,
        outBase + 4 * ((b * outImageRows + 2 * ty) * outRowFloats + 2 * tx * f),
        length,
        4 * f,
        4 * mPlane,
        4 * outRowFloats,
        biasAddress,
        clamp[0],
        clamp[1],
      ));
  }
  if (onGrid) {
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < ho; y++) {
        const from = grid / 4 + (b * outImageRows + y) * outRowFloats;
        heapF32.copyWithin(outAt / 4 + (b * ho + y) * wo * f, from, from + wo * f);
      }
    }
  }
}
