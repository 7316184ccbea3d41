import { assert, assertEquals } from "./assert.ts";
import { tf } from "../deps.ts";
import { type ClampRange, winogradConv2d, winogradFits } from "../backends/openblas/winograd.ts";
import { bumpHeap } from "../backends/wasm/wasm_simd.ts";
import { winogradReference } from "../backends/openblas/winograd_reference.ts";
import { referenceSgemm } from "../backends/openblas/sgemm_reference.ts";
import { loadOpenBlas } from "../backends/openblas/openblas.ts";
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

/** Even and odd grids, padding or none, more tiles than a block, bias and clamps. */
const CASES: Case[] = [
  { x: [1, 4, 4, 16], outChannels: 16, pad: "same" },
  { x: [2, 7, 9, 16], outChannels: 20, pad: "same", bias: true },
  { x: [1, 9, 6, 20], outChannels: 16, pad: "valid", clamp: [0, Infinity] },
  { x: [3, 5, 5, 24], outChannels: 32, pad: "same", bias: true, clamp: [0, 6] },
  // 3 x 16 x 16 tiles: more than one block of 128 tiles, runs that stop mid tile row.
  { x: [3, 32, 32, 16], outChannels: 16, pad: "same" },
];

const describe = (c: Case) =>
  `${c.x.join("x")} -> ${c.outChannels}, ${c.pad}${c.bias ? ", bias" : ""}${
    c.clamp ? `, clamp ${c.clamp}` : ""
  }`;

/** Runs every case on the heap `heapFor` gives and checks it against the reference. */
function checkCases(heapFor: () => ReturnType<typeof testHeap>): void {
  for (const testCase of CASES) {
    const info = tf.backend_util.computeConv2DInfo(
      testCase.x,
      [3, 3, testCase.x[3], testCase.outChannels],
      1,
      1,
      testCase.pad,
    );
    assert(winogradFits(info), describe(testCase));
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
    );
    const expected = winogradReference(referenceSgemm, info, x, filter, bias, testCase.clamp);
    assertEquals(Array.from(out), Array.from(expected), describe(testCase));

    // And both are the convolution: within float32 rounding of the float64 direct sum.
    const direct = directConv2d(info, x, filter);
    const [lo, hi] = testCase.clamp ?? [-Infinity, Infinity];
    const want = Float32Array.from(
      direct,
      (v, i) => Math.min(Math.max(v + (bias ? bias[i % testCase.outChannels] : 0), lo), hi),
    );
    const error = maxRelativeError(out, want);
    assert(error < 1e-5, `${describe(testCase)}: max relative error ${error}`);
  }
}

Deno.test("Winograd F(2x2, 3x3): the SIMD kernels equal the TypeScript reference bit for bit", () => {
  checkCases(() => testHeap());
});

Deno.test("Winograd F(2x2, 3x3): the same bits with every array and work area above 2 GiB", () => {
  // The wasm heap may grow to 4 GiB: addresses from 2 GiB on are negative as signed 32-bit
  // integers, and must still be read as unsigned everywhere. The 2 GiB below are reserved, not
  // touched. One heap for every case: its work area is made above 2 GiB too.
  const heap = testHeap(2 ** 15 + 512, 2 ** 31 + 2 ** 20);
  checkCases(() => heap);
  assert(heap.malloc(16) > 2 ** 31, "the heap allocated below 2 GiB");
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
  name: "Winograd on the wasm backend: conv2d and fused conv2d + bias + ReLU match the cpu backend",
  ignore: !blas,
  fn: async () => {
    // resnet18's layer-2 shape at batch 2 (392 output pixels: enough for the Winograd path).
    const xShape: [number, number, number, number] = [2, 14, 14, 32];
    const filterShape: [number, number, number, number] = [3, 3, 32, 48];
    const x = lcgValues(tf.util.sizeFromShape(xShape), 4);
    const filter = lcgValues(tf.util.sizeFromShape(filterShape), 5);
    const bias = lcgValues(48, 6);
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
      assert(error < 1e-5, `${i === 0 ? "conv2d" : "fused"}: max relative error ${error}`);
    }
    await startBackend("wasm");
  },
});
