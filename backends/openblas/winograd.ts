/**
 * 3 x 3 stride-1 convolutions by Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016), with output tiles of m = 2 or 4 pixels a
 * side: each tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, with d the tile's α x α input patch (α = m + 2;
 * the matrices are in `winograd_transforms.ts`). Over channels, the ⊙ becomes α² matrix
 * products, (tiles x C)·(C x F), one per element of the transformed tile:
 * - F(2x2, 3x3): 16·C·F multiply-adds per 4 output pixels instead of 36·C·F, 2.25x fewer than a
 *   direct convolution;
 * - F(4x4, 3x3): 36·C·F per 16 output pixels instead of 144·C·F, 4x fewer.
 * The products run on OpenBLAS; the three transforms run in our own wasm SIMD kernels
 * (`wasm_simd.ts`) on the wasm backend's heap, in place. Both variants share everything else:
 * the padding copy, the work areas, the blocking, the product loop and the output grid for
 * outputs that are not a whole number of tiles.
 *
 * Accuracy (relative L2 error against the float64 direct sum on resnet18's four 3 x 3 shapes,
 * inputs and filters uniform in [-0.5, 0.5), OpenBLAS products; `tests/winograd_test.ts`):
 * F(2x2) only adds, subtracts and halves: measured 2.5e-7 to 5.0e-7, within a few float32 ulps.
 * F(4x4)'s transforms scale by up to 5 and 8 and by 1/6, 1/12 and 1/24, which loses a few more
 * bits: measured 1.6e-6 (56 x 56 x 64), 2.3e-6 (28 x 28 x 128), 2.8e-6 (14 x 14 x 256) and 1.8e-6
 * (7 x 7 x 512), about 6x F(2x2)'s.
 * Like the OpenBLAS layouts, results depend on a pixel's place in its tile, which only matters for
 * max-pool ties, and those are handled upstream (`blas_conv2d.ts`).
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { Sgemm } from "./openblas.ts";
import {
  type Arithmetic,
  type WinogradTile,
  type WinogradTransforms,
  winogradTransforms,
} from "./winograd_transforms.ts";
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
 * Whether a convolution has the shape F(m x m, 3x3) computes (either tile size): a 3 x 3
 * filter at stride 1 and dilation 1, channels in and out in multiples of 4 (the SIMD width),
 * enough of them for the products to run at speed (16), and padding of at most 1 on each side.
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

/** `local = k · step` for k < count, as named i32 locals `${prefix}k`. */
function multiples(l: Locals, prefix: string, count: number, step: number): Code {
  const code: Code = [];
  for (let k = 0; k < count; k++) {
    code.push(...op.get(step), ...op.i32(k), ...op.i32Mul, ...op.set(l.i32(`${prefix}${k}`)));
  }
  return code;
}

/**
 * The transforms' {@link Arithmetic} on v128 locals: each operation appends its instructions to
 * `code` and leaves its result in a new local (the compiler's register allocation sees through
 * them), so partial sums a transform shares are computed once. Constants are splatted once, in
 * `setup()`, before the loops.
 */
class SimdArithmetic implements Arithmetic<number> {
  code: Code = [];
  #constants = new Map<number, number>();
  #results = 0;

  constructor(readonly l: Locals) {}

  #apply(operation: Code, a: number, b: number): number {
    const result = this.l.v128(`r${this.#results++}`);
    this.code.push(...op.get(a), ...op.get(b), ...operation, ...op.set(result));
    return result;
  }

  add(a: number, b: number): number {
    return this.#apply(op.add, a, b);
  }

  sub(a: number, b: number): number {
    return this.#apply(op.sub, a, b);
  }

  scale(a: number, k: number): number {
    let constant = this.#constants.get(k);
    if (constant === undefined) {
      constant = this.l.v128(`k${this.#constants.size}`);
      this.#constants.set(k, constant);
    }
    return this.#apply(op.mul, a, constant);
  }

  /** The code written so far, taken out. */
  take(): Code {
    return this.code.splice(0);
  }

  /** The constants' splats. */
  setup(): Code {
    return [...this.#constants].flatMap((
      [k, local],
    ) => [...op.f32(k), ...op.splat, ...op.set(local)]);
  }
}

/**
 * filter(g, u, channels, fBytes, tapBytes, planeBytes): U = G g Gᵀ for every (input channel,
 * output channel), from HWIO g (tap planes tapBytes apart, rows of fBytes) to α² planes of
 * C x F, planeBytes apart.
 */
function filterKernel({ alpha, g: gOf }: WinogradTransforms): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const l = new Locals(params);
  const ar = new SimdArithmetic(l);
  const [g, u, channels, fBytes, tapBytes, planeBytes] = [0, 1, 2, 3, 4, 5];
  const [c, fb, pg, pu] = [l.i32("c"), l.i32("fb"), l.i32("pg"), l.i32("pu")];
  const [rowOffset, rowG, rowU] = [l.i32("rowOffset"), l.i32("rowG"), l.i32("rowU")];
  const w = (r: number, s: number) => l.v128(`w${r}${s}`);
  const offsets = [
    ...multiples(l, "tap", 9, tapBytes),
    ...multiples(l, "o", alpha * alpha, planeBytes),
  ];
  const inner: Code = [...setSum(pg, rowG, fb), ...setSum(pu, rowU, fb)];
  // Down the taps' columns first (each loaded just before), then along the rows, storing as we go.
  const columns = [0, 1, 2].map((s) => {
    for (let r = 0; r < 3; r++) {
      ar.code.push(...loadAt(pg, l.index(`tap${r * 3 + s}`)), ...op.set(w(r, s)));
    }
    return gOf([w(0, s), w(1, s), w(2, s)], ar);
  });
  for (let i = 0; i < alpha; i++) {
    gOf(columns.map((column) => column[i]), ar).forEach((value, j) =>
      ar.code.push(...storeAt(pu, l.index(`o${i * alpha + j}`), op.get(value)))
    );
  }
  inner.push(...ar.take());
  const row: Code = [
    ...op.get(c),
    ...op.get(fBytes),
    ...op.i32Mul,
    ...op.set(rowOffset),
    ...setSum(rowG, g, rowOffset),
    ...setSum(rowU, u, rowOffset),
    ...countedLoop(fb, fBytes, 16, inner),
  ];
  const body: Code = [...offsets, ...ar.setup(), ...countedLoop(c, channels, 1, row)];
  return { name: "filter", params, locals: l.locals(), body };
}

/**
 * input(src, dst, count, cBytes, rowBytes, planeBytes): V = Bᵀ d B for `count` tiles along a
 * row of the padded input (the first patch's top-left pixel at src, the next m pixels right),
 * into α² planes planeBytes apart, one row of cBytes per tile.
 */
function inputKernel({ m, alpha, b: bOf }: WinogradTransforms): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32"];
  const l = new Locals(params);
  const ar = new SimdArithmetic(l);
  const [src, dst, count, cBytes, rowBytes, planeBytes] = [0, 1, 2, 3, 4, 5];
  const [t, cb, ps, pd, step] = [l.i32("t"), l.i32("cb"), l.i32("ps"), l.i32("pd"), l.i32("step")];
  const d = (r: number, q: number) => l.v128(`d${r}${q}`);
  const off = (r: number, q: number) => l.i32(`off${r}${q}`);
  const setup: Code = [
    ...multiples(l, "po", alpha * alpha, planeBytes),
    ...multiples(l, "row", alpha, rowBytes),
    ...multiples(l, "column", alpha, cBytes),
    ...op.get(cBytes),
    ...op.i32(m),
    ...op.i32Mul,
    ...op.set(step),
  ];
  for (let r = 0; r < alpha; r++) {
    for (let q = 0; q < alpha; q++) {
      setup.push(...setSum(off(r, q), l.index(`row${r}`), l.index(`column${q}`)));
    }
  }
  const inner: Code = [...setSum(ps, src, cb), ...setSum(pd, dst, cb)];
  // Along each patch row (over q), each row loaded just before it is used (fewer values live at
  // once than loading all α² first; no clear change measured), then down each column (over r),
  // storing as we go.
  const indices = [...Array(alpha).keys()];
  const rows = indices.map((r) => {
    for (const q of indices) ar.code.push(...loadAt(ps, off(r, q)), ...op.set(d(r, q)));
    return bOf(indices.map((q) => d(r, q)), ar);
  });
  for (let q = 0; q < alpha; q++) {
    bOf(rows.map((row) => row[q]), ar).forEach((value, r) =>
      ar.code.push(...storeAt(pd, l.index(`po${r * alpha + q}`), op.get(value)))
    );
  }
  inner.push(...ar.take());
  // The next tile: m pixels right in the input, one row down in the planes.
  const advance = [...setSum(src, src, step), ...setSum(dst, dst, cBytes)];
  const body: Code = [
    ...setup,
    ...ar.setup(),
    ...countedLoop(t, count, 1, [...countedLoop(cb, cBytes, 16, inner), ...advance]),
  ];
  return { name: "input", params, locals: l.locals(), body };
}

/**
 * output(src, dst, count, fBytes, planeBytes, rowBytes, bias, lo, hi): Y = Aᵀ M A for `count`
 * tiles (rows of fBytes in α² planes planeBytes apart) written as m x m pixels into an output
 * grid with rows of rowBytes, the next tile m pixels right; then + bias, clamped to [lo, hi]
 * (the fused ReLU or ReLU6, or ±Infinity).
 */
function outputKernel({ m, alpha, a: aOf }: WinogradTransforms): FunctionSource {
  const params: ValueType[] = ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32"];
  const l = new Locals(params);
  const ar = new SimdArithmetic(l);
  const [src, dst, count, fBytes, planeBytes, rowBytes, bias, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [t, fb, ps, pd, pb] = [l.i32("t"), l.i32("fb"), l.i32("ps"), l.i32("pd"), l.i32("pb")];
  const [zero, step] = [l.i32("zero"), l.i32("step")];
  const [loV, hiV, b] = [l.v128("lo"), l.v128("hi"), l.v128("b")];
  const product = (k: number) => l.v128(`m${k}`);
  /** The byte offset of pixel (i, j) of a tile from its top-left one. */
  const place = (i: number, j: number) => l.i32(`place${i}${j}`);
  const finish = (value: number): Code => [
    ...op.get(value),
    ...op.get(b),
    ...op.add,
    ...op.get(loV),
    ...op.max,
    ...op.get(hiV),
    ...op.min,
  ];
  const setup: Code = [
    ...multiples(l, "po", alpha * alpha, planeBytes),
    ...multiples(l, "pixel", m, fBytes),
    ...multiples(l, "line", m, rowBytes),
    ...op.get(lo),
    ...op.splat,
    ...op.set(loV),
    ...op.get(hi),
    ...op.splat,
    ...op.set(hiV),
    ...op.i32(0),
    ...op.set(zero),
    ...op.get(fBytes),
    ...op.i32(m),
    ...op.i32Mul,
    ...op.set(step),
  ];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      setup.push(...setSum(place(i, j), l.index(`line${i}`), l.index(`pixel${j}`)));
    }
  }
  const inner: Code = [
    ...setSum(ps, src, fb),
    ...setSum(pd, dst, fb),
    ...setSum(pb, bias, fb),
    ...loadAt(pb, zero),
    ...op.set(b),
  ];
  // Down the columns first (each loaded just before, as in the input kernel), then along the rows.
  const indices = [...Array(alpha).keys()];
  const columns = indices.map((q) => {
    for (const r of indices) {
      ar.code.push(...loadAt(ps, l.index(`po${r * alpha + q}`)), ...op.set(product(r * alpha + q)));
    }
    return aOf(indices.map((r) => product(r * alpha + q)), ar);
  });
  for (let i = 0; i < m; i++) {
    aOf(columns.map((column) => column[i]), ar).forEach((value, j) =>
      ar.code.push(...storeAt(pd, place(i, j), finish(value)))
    );
  }
  inner.push(...ar.take());
  // The next tile: one row down in the planes, m pixels right in the output.
  const advance = [...setSum(src, src, fBytes), ...setSum(dst, dst, step)];
  const body: Code = [
    ...setup,
    ...ar.setup(),
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

/** Each variant's three kernels, one module per variant, instantiated per memory. */
const kernelsOn = Object.fromEntries(
  ([2, 4] as const).map((m) => {
    const transforms = winogradTransforms(m);
    return [
      m,
      kernelsPerMemory<Kernels>(() => [
        filterKernel(transforms),
        inputKernel(transforms),
        outputKernel(transforms),
      ]),
    ];
  }),
) as Record<WinogradTile, (memory: WebAssembly.Memory) => Kernels>;

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
 * Floats between the α² planes beyond their size: planes a power of two apart put the α²
 * loads or stores of one tile in the same cache set, and they evict each other.
 */
const PLANE_SKEW = 16;

/** The part of a clamped activation the output kernel applies: [lo, hi]. */
export type ClampRange = readonly [number, number];

/**
 * out = conv2d(x, filter) (+ bias) clamped to `clamp`, by F(m x m, 3x3) with tiles of `m` = 2
 * (the default) or 4 pixels a side, for a convolution {@link winogradFits}. x (NHWC), filter
 * (HWIO), out (NHWC) and bias must be views on `heap.memory`; `heap` gives the work areas (kept
 * between calls).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { winogradConv2d } from "./winograd.ts";
 * import { bumpHeap } from "../wasm/wasm_simd.ts";
 * import { referenceSgemm } from "./sgemm_reference.ts";
 * const heap = bumpHeap(128);
 * // 3 x 3 ones over a 4 x 4 image of ones, 16 channels in and out, "same" padding.
 * const info = tf.backend_util.computeConv2DInfo([1, 4, 4, 16], [3, 3, 16, 16], 1, 1, "same");
 * const x = heap.floats(256).fill(1), filter = heap.floats(9 * 256).fill(1);
 * const out = heap.floats(256);
 * winogradConv2d(heap, referenceSgemm, info, x, filter, out);
 * assert(out[0] === 4 * 16 && out[5 * 16] === 9 * 16); // a corner and an inner pixel
 * // F(4x4, 3x3): one tile; its transforms scale by 1/6, so the sums are exact to float32 rounding.
 * winogradConv2d(heap, referenceSgemm, info, x, filter, out, undefined, undefined, 4);
 * assert(Math.abs(out[0] - 4 * 16) < 1e-4 && Math.abs(out[5 * 16] - 9 * 16) < 1e-4);
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
  m: WinogradTile = 2,
): void {
  if (!winogradFits(info)) throw new Error(`winogradConv2d: not a F(m x m, 3x3) convolution`);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: f } = info;
  const { outHeight: ho, outWidth: wo, padInfo: { top, left } } = info;
  const { alpha } = winogradTransforms(m);
  const planes = alpha * alpha;
  const tilesHigh = Math.ceil(ho / m), tilesWide = Math.ceil(wo / m);
  const tiles = n * tilesHigh * tilesWide;
  const hp = m * tilesHigh + 2, wp = m * tilesWide + 2;
  const onGrid = ho % m !== 0 || wo % m !== 0;
  const blockTiles = Math.max(
    MIN_BLOCK_TILES,
    Math.floor(BLOCK_FLOATS / (planes * Math.max(c, f))),
  );
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
  const sizes = [n * hp * wp * c, planes * uPlane, planes * vPlane, planes * mPlane];
  sizes.push(onGrid ? n * m * tilesHigh * m * tilesWide * f : 0, bias ? 0 : f);
  const base = scratchOn(heap, 4 * sizes.reduce((a, b) => a + b, 0) + 16 * sizes.length);
  const areas: number[] = [];
  let next = base;
  for (const size of sizes) {
    areas.push(next);
    next += Math.ceil((4 * size) / 16) * 16;
  }
  const [padded, u, v, products, grid, zeroBias] = areas;
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

  const kernels = kernelsOn[m](heap.memory);
  kernels.filter(filterAt, u, c, 4 * f, 4 * c * f, 4 * uPlane);
  const biasAddress = biasAt ?? zeroBias;
  const outBase = onGrid ? grid : outAt;
  const outRowFloats = (onGrid ? m * tilesWide : wo) * f;
  const outImageRows = onGrid ? m * tilesHigh : ho;
  const vF32 = heapF32.subarray(v / 4),
    uF32 = heapF32.subarray(u / 4),
    mF32 = heapF32.subarray(products / 4);

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
        padded + 4 * ((b * hp + m * ty) * wp + m * tx) * c,
        v + 4 * k * c,
        length,
        4 * c,
        4 * wp * c,
        4 * vPlane,
      ));
    for (let e = 0; e < planes; e++) {
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
        products + 4 * k * f,
        outBase + 4 * ((b * outImageRows + m * ty) * outRowFloats + m * tx * f),
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
