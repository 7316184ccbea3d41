import { assert, assertEquals } from "./assert.ts";
import { tf } from "../deps.ts";
import { type ClampRange, winogradConv2d, winogradFits } from "../backends/openblas/winograd.ts";
import {
  type Arithmetic,
  type WinogradTile,
  winogradTransforms,
} from "../backends/openblas/winograd_transforms.ts";
import { bumpHeap } from "../backends/wasm/wasm_simd.ts";
import { winogradReference } from "../backends/openblas/winograd_reference.ts";
import { referenceSgemm } from "../backends/openblas/sgemm_reference.ts";
import { loadOpenBlas } from "../backends/openblas/openblas.ts";
import { winogradTile } from "../backends/openblas/blas_conv2d.ts";
import { startBackend } from "../backends/backend.ts";
import { type WasmBackend, wasmHeap } from "../backends/wasm/wasm_kernel_utils.ts";
import { lcgValues, maxRelativeError } from "./numbers.ts";

/**
 * A memory of its own with a bump allocator, as the wasm backend's heap would be; allocation
 * starts at byte `from`.
 */
function testHeap(pages = 256, from = 0) {
  const heap = bumpHeap(pages, from);
  return {
    ...heap,
    /** `values` copied onto the heap. */
    floats(values: Float32Array): Float32Array {
      const view = heap.floats(values.length);
      view.set(values);
      return view;
    },
  };
}

/** The direct sum, in float64: what any convolution must approximate. */
function directConv2d(
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  filter: Float32Array,
): Float64Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: f } = info;
  const { outHeight: ho, outWidth: wo, padInfo: { top, left } } = info;
  const out = new Float64Array(n * ho * wo * f);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      for (let xo = 0; xo < wo; xo++) {
        for (let o = 0; o < f; o++) {
          let sum = 0;
          for (let r = 0; r < 3; r++) {
            for (let s = 0; s < 3; s++) {
              const yi = y + r - top, xi = xo + s - left;
              if (yi < 0 || yi >= h || xi < 0 || xi >= w) continue;
              for (let ch = 0; ch < c; ch++) {
                sum += x[((b * h + yi) * w + xi) * c + ch] * filter[((r * 3 + s) * c + ch) * f + o];
              }
            }
          }
          out[((b * ho + y) * wo + xo) * f + o] = sum;
        }
      }
    }
  }
  return out;
}

interface Case {
  x: [number, number, number, number];
  outChannels: number;
  pad: "same" | "valid";
  bias?: boolean;
  clamp?: ClampRange;
}

/**
 * Even and odd grids (for both tile sizes), padding or none, more tiles than a block, bias and
 * clamps.
 */
const CASES: Case[] = [
  { x: [1, 4, 4, 16], outChannels: 16, pad: "same" },
  { x: [2, 7, 9, 16], outChannels: 20, pad: "same", bias: true },
  { x: [1, 9, 6, 20], outChannels: 16, pad: "valid", clamp: [0, Infinity] },
  { x: [3, 5, 5, 24], outChannels: 32, pad: "same", bias: true, clamp: [0, 6] },
  // 3 x 16 x 16 tiles: more than one block of 128 tiles, runs that stop mid tile row.
  { x: [3, 32, 32, 16], outChannels: 16, pad: "same" },
  // resnet18's layer-4 grid, 7 x 7 (F(4x4): 2 x 2 tiles, one pixel of each edge tile cut off).
  { x: [1, 7, 7, 32], outChannels: 16, pad: "same", bias: true },
  // A 5 x 9 output: two tiles high and three wide for F(4x4), all partial at the far edges.
  { x: [2, 7, 11, 16], outChannels: 24, pad: "valid", clamp: [0, Infinity] },
  // 1 x 1 outputs: one tile, one pixel of it kept.
  { x: [3, 3, 3, 16], outChannels: 16, pad: "valid", bias: true, clamp: [0, 6] },
  // 128 input channels: blocks of 128 tiles for both sizes, so F(4x4)'s 2 x 9 x 9 tiles take
  // two blocks too, the first stopping mid tile row.
  { x: [2, 36, 36, 128], outChannels: 16, pad: "same" },
];

const TILES: WinogradTile[] = [2, 4];

const describe = (c: Case, m: WinogradTile) =>
  `F(${m}x${m}): ${c.x.join("x")} -> ${c.outChannels}, ${c.pad}${c.bias ? ", bias" : ""}${
    c.clamp ? `, clamp ${c.clamp}` : ""
  }`;

/**
 * Runs every case with both tile sizes on the heap `heapFor` gives and checks it against the
 * reference.
 */
function checkCases(heapFor: () => ReturnType<typeof testHeap>): void {
  for (const [testCase, m] of CASES.flatMap((c) => TILES.map((m) => [c, m] as const))) {
    const info = tf.backend_util.computeConv2DInfo(
      testCase.x,
      [3, 3, testCase.x[3], testCase.outChannels],
      1,
      1,
      testCase.pad,
    );
    assert(winogradFits(info), describe(testCase, m));
    const heap = heapFor();
    const x = lcgValues(tf.util.sizeFromShape(testCase.x), 1);
    const filter = lcgValues(9 * testCase.x[3] * testCase.outChannels, 2);
    const bias = testCase.bias ? lcgValues(testCase.outChannels, 3) : undefined;
    const out = heap.floats(new Float32Array(tf.util.sizeFromShape(info.outShape)).fill(NaN));
    winogradConv2d(
      heap,
      referenceSgemm,
      info,
      heap.floats(x),
      heap.floats(filter),
      out,
      bias && heap.floats(bias),
      testCase.clamp,
      m,
    );
    const expected = winogradReference(referenceSgemm, info, x, filter, bias, testCase.clamp, m);
    assertEquals(Array.from(out), Array.from(expected), describe(testCase, m));

    // And both are the convolution: within float32 rounding of the float64 direct sum.
    const direct = directConv2d(info, x, filter);
    const [lo, hi] = testCase.clamp ?? [-Infinity, Infinity];
    const want = Float32Array.from(
      direct,
      (v, i) => Math.min(Math.max(v + (bias ? bias[i % testCase.outChannels] : 0), lo), hi),
    );
    const error = maxRelativeError(out, want);
    assert(error < 1e-5, `${describe(testCase, m)}: max relative error ${error}`);
  }
}

Deno.test("Winograd F(2x2) and F(4x4): the SIMD kernels equal the TypeScript reference bit for bit", () => {
  checkCases(() => testHeap());
});

Deno.test("Winograd F(2x2) and F(4x4): the same bits with every array and work area above 2 GiB", () => {
  // The wasm heap may grow to 4 GiB: addresses from 2 GiB on are negative as signed 32-bit
  // integers, and must still be read as unsigned everywhere. The 2 GiB below are reserved, not
  // touched. One heap for every case: its work area is made above 2 GiB too.
  const heap = testHeap(2 ** 15 + 512, 2 ** 31 + 2 ** 20);
  checkCases(() => heap);
  assert(heap.malloc(16) > 2 ** 31, "the heap allocated below 2 GiB");
});

/** An exact rational n / d (d > 0), for checking the transform matrices without rounding. */
interface Rational {
  n: bigint;
  d: bigint;
}

function rational(n: bigint, d = 1n): Rational {
  const gcd = (a: bigint, b: bigint): bigint => b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b);
  const divisor = gcd(n, d) * (d < 0n ? -1n : 1n);
  return divisor === 0n ? { n: 0n, d: 1n } : { n: n / divisor, d: d / divisor };
}

/** A transform constant as a fraction: every one is an integer or ±1/k for a small k. */
function exactConstant(k: number): Rational {
  for (let d = 1; d <= 24; d++) {
    if (Math.abs(k * d - Math.round(k * d)) < 1e-9) {
      return rational(BigInt(Math.round(k * d)), BigInt(d));
    }
  }
  throw new Error(`winograd_test: constant ${k} is not a small fraction`);
}

const exact: Arithmetic<Rational> = {
  add: (a, b) => rational(a.n * b.d + b.n * a.d, a.d * b.d),
  sub: (a, b) => rational(a.n * b.d - b.n * a.d, a.d * b.d),
  scale: (a, k) => {
    const q = exactConstant(k);
    return rational(a.n * q.n, a.d * q.d);
  },
};

const show = (values: Rational[]) => values.map((v) => v.d === 1n ? `${v.n}` : `${v.n}/${v.d}`);

/** The matrix a transform applies: its values on the unit vectors, as columns. */
function matrixOf(transform: (x: Rational[]) => Rational[], inputs: number): string[][] {
  const columns = [...Array(inputs).keys()].map((j) =>
    show(transform([...Array(inputs).keys()].map((i) => rational(i === j ? 1n : 0n))))
  );
  return columns[0].map((_, i) => columns.map((column) => column[i]));
}

Deno.test("Winograd transforms: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g, exactly", () => {
  for (const m of TILES) {
    const { alpha, g, b, a } = winogradTransforms(m);
    // The identity is bilinear in (d, g): checking it on every pair of unit vectors proves it.
    for (let i = 0; i < alpha; i++) {
      for (let j = 0; j < 3; j++) {
        const d = [...Array(alpha).keys()].map((k) => rational(k === i ? 1n : 0n));
        const taps = [0, 1, 2].map((k) => rational(k === j ? 1n : 0n));
        const u = g(taps, exact), v = b(d, exact);
        const y = a(u.map((value, k) => rational(value.n * v[k].n, value.d * v[k].d)), exact);
        // y[p] = Σ_k d[p + k] g[k]: 1 where p + j = i.
        const want = [...Array(m).keys()].map((p) => rational(p + j === i ? 1n : 0n));
        assertEquals(show(y), show(want), `F(${m}x${m}): d = e${i}, g = e${j}`);
      }
    }
  }
  // And F(4x4)'s are Lavin & Gray's matrices, as `winograd_transforms.ts` prints them.
  const { g, b, a } = winogradTransforms(4);
  assertEquals(matrixOf((x) => b(x, exact), 6), [
    ["4", "0", "-5", "0", "1", "0"],
    ["0", "-4", "-4", "1", "1", "0"],
    ["0", "4", "-4", "-1", "1", "0"],
    ["0", "-2", "-1", "2", "1", "0"],
    ["0", "2", "-1", "-2", "1", "0"],
    ["0", "4", "0", "-5", "0", "1"],
  ]);
  assertEquals(matrixOf((x) => g(x, exact), 3), [
    ["1/4", "0", "0"],
    ["-1/6", "-1/6", "-1/6"],
    ["-1/6", "1/6", "-1/6"],
    ["1/24", "1/12", "1/6"],
    ["1/24", "-1/12", "1/6"],
    ["0", "0", "1"],
  ]);
  assertEquals(matrixOf((x) => a(x, exact), 6), [
    ["1", "1", "1", "1", "1", "0"],
    ["0", "1", "-1", "2", "-2", "0"],
    ["0", "1", "1", "4", "4", "0"],
    ["0", "1", "-1", "8", "-8", "1"],
  ]);
});

Deno.test("Winograd F(2x2, 3x3): which convolutions fit, and views off the heap are refused", () => {
  const info = (
    x: number[],
    f: number[],
    stride = 1,
    dilation = 1,
    pad: "same" | "valid" = "same",
  ) =>
    tf.backend_util.computeConv2DInfo(
      x as [number, number, number, number],
      f as [number, number, number, number],
      stride,
      dilation,
      pad,
    );
  assert(winogradFits(info([1, 8, 8, 16], [3, 3, 16, 16])));
  assert(!winogradFits(info([1, 8, 8, 16], [3, 3, 16, 16], 2)), "stride 2");
  assert(!winogradFits(info([1, 8, 8, 16], [3, 3, 16, 16], 1, 2)), "dilation 2");
  assert(!winogradFits(info([1, 8, 8, 16], [5, 5, 16, 16])), "5 x 5");
  assert(!winogradFits(info([1, 8, 8, 18], [3, 3, 18, 16])), "18 channels: not a multiple of 4");
  assert(!winogradFits(info([1, 8, 8, 8], [3, 3, 8, 16])), "8 channels: too thin");
  const fits = info([1, 4, 4, 16], [3, 3, 16, 16]);
  const heap = testHeap();
  let message = "";
  try {
    winogradConv2d(
      heap,
      referenceSgemm,
      fits,
      new Float32Array(256),
      heap.floats(new Float32Array(9 * 256)),
      heap.floats(new Float32Array(256)),
    );
  } catch (error) {
    message = (error as Error).message;
  }
  assert(message.includes("views on the heap"), message);
});

const blas = loadOpenBlas();

Deno.test({
  name: "Winograd F(2x2) and F(4x4): relative L2 error against the direct sum on resnet18's shapes",
  ignore: !blas,
  fn: () => {
    // resnet18's four 3 x 3 stride-1 shapes, one image, values uniform in [-0.5, 0.5).
    const shapes: [number, number][] = [[56, 64], [28, 128], [14, 256], [7, 512]];
    const bounds: Record<WinogradTile, number> = { 2: 1e-6, 4: 4e-6 };
    const errors: string[] = [];
    for (const [sizePx, channels] of shapes) {
      const xShape: [number, number, number, number] = [1, sizePx, sizePx, channels];
      const info = tf.backend_util.computeConv2DInfo(
        xShape,
        [3, 3, channels, channels],
        1,
        1,
        "same",
      );
      const x = lcgValues(tf.util.sizeFromShape(xShape), 7);
      const filter = lcgValues(9 * channels * channels, 8);
      const direct = directConv2d(info, x, filter);
      for (const m of TILES) {
        const heap = testHeap(1024);
        const out = heap.floats(new Float32Array(direct.length));
        winogradConv2d(
          heap,
          blas!.sgemm,
          info,
          heap.floats(x),
          heap.floats(filter),
          out,
          undefined,
          undefined,
          m,
        );
        let difference = 0, norm = 0;
        for (let i = 0; i < direct.length; i++) {
          difference += (out[i] - direct[i]) ** 2;
          norm += direct[i] ** 2;
        }
        const error = Math.sqrt(difference / norm);
        errors.push(`F(${m}x${m}) ${sizePx} x ${sizePx} x ${channels}: ${error.toExponential(2)}`);
        assert(error < bounds[m], errors.at(-1));
      }
    }
    console.log(errors.join("\n"));
  },
});

Deno.test({
  name: "Winograd on the wasm backend: conv2d and fused conv2d + bias + ReLU match the cpu backend",
  ignore: !blas,
  fn: async () => {
    // resnet18's layer-2 shape at batch 2 (392 output pixels: enough for the Winograd path, as
    // F(2x2)), and a 28 x 28 grid (1568 pixels: F(4x4)).
    const cases: { xShape: [number, number, number, number]; tile: WinogradTile }[] = [
      { xShape: [2, 14, 14, 32], tile: 2 },
      { xShape: [2, 28, 28, 32], tile: 4 },
    ];
    const filterShape: [number, number, number, number] = [3, 3, 32, 48];
    const filter = lcgValues(tf.util.sizeFromShape(filterShape), 5);
    const bias = lcgValues(48, 6);
    for (const { xShape, tile } of cases) {
      const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, 1, 1, "same");
      assertEquals(winogradTile(info), tile, `${xShape.join("x")}: the Winograd tile`);
      const x = lcgValues(tf.util.sizeFromShape(xShape), 4);
      const run = () =>
        tf.tidy(() => {
          const [xT, fT] = [tf.tensor4d(x, xShape), tf.tensor4d(filter, filterShape)];
          return [
            tf.conv2d(xT, fT, 1, "same").dataSync() as Float32Array,
            tf.fused.conv2d({
              x: xT,
              filter: fT,
              strides: 1,
              pad: "same",
              bias: tf.tensor1d(bias),
              activation: "relu",
            })
              .dataSync() as Float32Array,
          ];
        });
      await startBackend("cpu");
      const expected = run();
      await startBackend("wasm", { openBlas: true });
      // The kernels run on the backend's own heap: without it, convolutions skip Winograd.
      assert(wasmHeap(tf.backend() as WasmBackend), "the wasm backend exports no memory");
      const actual = run();
      for (let i = 0; i < 2; i++) {
        const error = maxRelativeError(actual[i], expected[i]);
        assert(
          error < 1e-5,
          `F(${tile}x${tile}) ${i === 0 ? "conv2d" : "fused"}: max relative error ${error}`,
        );
      }
    }
    await startBackend("wasm");
  },
});
