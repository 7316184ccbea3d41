import { assert, assertEquals } from "./assert.ts";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import {
  conv2dByGemm,
  conv2dFilterGradientByGemm,
  gemmPlan,
  unregisterBlasConvolutions,
} from "../backends/openblas/blas_conv2d.ts";
import { loadOpenBlas, OPENBLAS_PATHS, type Sgemm } from "../backends/openblas/openblas.ts";
import { referenceSgemm } from "../backends/openblas/sgemm_reference.ts";
import { lcgValues, maxRelativeError } from "./numbers.ts";

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: "same" | "valid" | number;
  dilation: number;
  plan: string;
}

/**
 * Every layout branch: padding or none, odd sizes, stride, dilation, thin and 1 x 1 filters
 * (tfjs allows no convolution with both a stride and a dilation above 1).
 */
const CASES: Case[] = [
  {
    x: [2, 9, 9, 16],
    filter: [3, 3, 16, 8],
    stride: 1,
    pad: "same",
    dilation: 1,
    plan: "shifted-taps",
  },
  {
    x: [2, 13, 11, 16],
    filter: [3, 3, 16, 5],
    stride: 1,
    pad: "valid",
    dilation: 1,
    plan: "shifted-taps",
  },
  {
    x: [2, 20, 19, 16],
    filter: [3, 3, 16, 4],
    stride: 1,
    pad: "same",
    dilation: 2,
    plan: "shifted-taps",
  },
  {
    x: [2, 6, 6, 32],
    filter: [1, 1, 32, 8],
    stride: 1,
    pad: "valid",
    dilation: 1,
    plan: "shifted-taps",
  },
  { x: [2, 9, 9, 16], filter: [3, 3, 16, 8], stride: 2, pad: "same", dilation: 1, plan: "im2col" },
  { x: [2, 11, 10, 3], filter: [7, 7, 3, 8], stride: 2, pad: 3, dilation: 1, plan: "im2col" },
  { x: [2, 9, 9, 32], filter: [1, 1, 32, 8], stride: 2, pad: "valid", dilation: 1, plan: "im2col" },
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 5], stride: 1, pad: "same", dilation: 1, plan: "im2col" },
  { x: [1, 9, 9, 4], filter: [3, 3, 4, 2], stride: 1, pad: "same", dilation: 2, plan: "im2col" },
  // A 5 x 5 output on a 7 x 7 grid is mostly border (resnet18's layer4 is 7 x 7 on 9 x 9).
  { x: [2, 5, 5, 16], filter: [3, 3, 16, 8], stride: 1, pad: "same", dilation: 1, plan: "im2col" },
];

function infoOf(c: Case): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, c.dilation, c.pad);
}

/** An HWIO filter with d − 1 zero taps between neighbouring taps. */
function dilate(filter: Float32Array, [fh, fw, ci, co]: number[], d: number): Float32Array {
  const wide = (fw - 1) * d + 1;
  const out = new Float32Array(((fh - 1) * d + 1) * wide * ci * co);
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      const tap = filter.subarray((a * fw + b) * ci * co, (a * fw + b + 1) * ci * co);
      out.set(tap, (a * d * wide + b * d) * ci * co);
    }
  }
  return out;
}

/** tfjs's cpu kernels: the reference both layouts are checked against. */
async function cpuConv(c: Case, x: Float32Array, filter: Float32Array, dy: Float32Array) {
  await tf.setBackend("cpu");
  return tf.tidy(() => {
    const xT = tf.tensor4d(x, c.x);
    const fT = tf.tensor4d(filter, c.filter);
    const out = tf.conv2d(xT, fT, c.stride, c.pad, "NHWC", c.dilation);
    const dyT = tf.tensor4d(dy, out.shape);
    // tfjs has no gradient for dilated convolutions: take it with respect to the dilated
    // filter (zeros between the taps, dilation 1), then read it at the taps.
    const [fh, fw, ci, co] = c.filter;
    const d = c.dilation;
    const spread = tf.tensor4d(dilate(filter, c.filter, d), [
      (fh - 1) * d + 1,
      (fw - 1) * d + 1,
      ci,
      co,
    ]);
    const dSpread = tf.grad((f: tf.Tensor) =>
      tf.conv2d(xT, f as tf.Tensor4D, c.stride, c.pad).mul(dyT).sum()
    )(spread);
    const dFilter = dSpread.stridedSlice([0, 0, 0, 0], dSpread.shape, [d, d, 1, 1]);
    return { out: out.dataSync() as Float32Array, dFilter: dFilter.dataSync() as Float32Array };
  });
}

async function checkLayouts(sgemm: Sgemm, label: string) {
  for (const c of CASES) {
    const info = infoOf(c);
    assertEquals(gemmPlan(info), c.plan, `plan of ${JSON.stringify(c)}`);
    const x = lcgValues(tf.util.sizeFromShape(c.x), 3);
    const filter = lcgValues(tf.util.sizeFromShape(c.filter), 5);
    const dy = lcgValues(tf.util.sizeFromShape(info.outShape), 9);
    const expected = await cpuConv(c, x, filter, dy);
    const out = new Float32Array(expected.out.length);
    conv2dByGemm(sgemm, info, x, filter, out);
    // Blocks of 7 grid rows: every block boundary falls somewhere else in the taps' reach.
    const blocked = new Float32Array(expected.out.length);
    conv2dByGemm(sgemm, info, x, filter, blocked, undefined, 7);
    const dFilter = new Float32Array(expected.dFilter.length);
    conv2dFilterGradientByGemm(sgemm, info, x, dy, dFilter);
    const what = `${label} ${c.plan} ${JSON.stringify(c.x)} * ${JSON.stringify(c.filter)}`;
    assert(maxRelativeError(out, expected.out) < 1e-5, `${what}: forward differs from tfjs cpu`);
    assert(
      maxRelativeError(blocked, expected.out) < 1e-5,
      `${what}: forward in blocks of 7 rows differs from tfjs cpu`,
    );
    assert(
      maxRelativeError(dFilter, expected.dFilter) < 1e-5,
      `${what}: filter gradient differs from tfjs cpu`,
    );
  }
}

Deno.test("conv2dByGemm and its filter gradient agree with tfjs cpu on every layout (TS sgemm)", async () => {
  await checkLayouts(referenceSgemm, "TS sgemm");
});

Deno.test("gemmPlan leaves many-tap filters (a filter gradient's) to XNNPACK, RGB stems to im2col", () => {
  const filterGradient = tf.backend_util.computeConv2DInfo(
    [16, 56, 56, 8],
    [56, 56, 8, 64],
    1,
    1,
    "valid",
  );
  assertEquals(gemmPlan(filterGradient), "stock");
  const stem = tf.backend_util.computeConv2DInfo([8, 224, 224, 3], [7, 7, 3, 64], 2, 1, 3);
  assertEquals(gemmPlan(stem), "im2col");
});

const blas = loadOpenBlas();
const noBlas = blas === undefined;
if (noBlas) {
  console.warn(
    "blas_conv2d_test: OpenBLAS cases skipped: none of " + OPENBLAS_PATHS.join(", ") +
      " could be loaded (install libopenblas0 and run with the test task's --allow-ffi)",
  );
}

Deno.test({
  name: "OpenBLAS sgemm agrees with the TS reference, with and without transposed A and B",
  ignore: noBlas,
  fn() {
    for (
      const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]
    ) {
      const [m, n, k, lda] = [7, 5, 6, transposeA ? 9 : 8];
      const ldb = transposeB ? k + 2 : n;
      const a = lcgValues((transposeA ? k : m) * lda, 1);
      const b = lcgValues((transposeB ? n : k) * ldb, 2);
      const got = lcgValues(m * n, 3);
      const want = got.slice();
      blas!.sgemm(m, n, k, a, lda, b, ldb, 1, got, n, transposeA, transposeB);
      referenceSgemm(m, n, k, a, lda, b, ldb, 1, want, n, transposeA, transposeB);
      assert(
        maxRelativeError(got, want) < 1e-6,
        `transposeA ${transposeA}, transposeB ${transposeB}`,
      );
    }
  },
});

Deno.test({
  name: "conv2dByGemm and its filter gradient agree with tfjs cpu on every layout (OpenBLAS)",
  ignore: noBlas,
  async fn() {
    await checkLayouts(blas!.sgemm, "OpenBLAS");
  },
});

Deno.test({
  name:
    "wasm with OpenBLAS convolutions: fused convolutions, input and filter gradients match XNNPACK",
  ignore: noBlas,
  async fn() {
    assertEquals((await startBackend("wasm")).openBlas, undefined, "XNNPACK is the default");
    const choice = await startBackend("wasm", { openBlas: true });
    assertEquals(choice.openBlas, blas!.path);
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(lcgValues(2 * 10 * 10 * 16, 1), [2, 10, 10, 16]);
        const filter = tf.tensor4d(lcgValues(3 * 3 * 16 * 8, 2), [3, 3, 16, 8]);
        const bias = tf.tensor1d(lcgValues(8, 3));
        const results: Float32Array[] = [];
        for (const activation of ["linear", "relu", "relu6"] as const) {
          for (const strides of [1, 2]) {
            const f = (xx: tf.Tensor, ff: tf.Tensor) =>
              tf.fused.conv2d({
                x: xx as tf.Tensor4D,
                filter: ff as tf.Tensor4D,
                strides,
                pad: "same",
                bias,
                activation,
              })
                .mul(4).sum();
            const [dx, dFilter] = tf.grads(f)([x, filter]);
            results.push(
              tf.fused.conv2d({ x, filter, strides, pad: "same", bias, activation })
                .dataSync() as Float32Array,
              dx.dataSync() as Float32Array,
              dFilter.dataSync() as Float32Array,
            );
          }
        }
        return results;
      });
    const withBlas = run();
    unregisterBlasConvolutions();
    const stock = run();
    for (const [i, got] of withBlas.entries()) {
      assert(maxRelativeError(got, stock[i]) < 1e-5, `result ${i} differs from XNNPACK's`);
    }
  },
});

Deno.test({
  name: "wasm with OpenBLAS: a resnet18's logits and input gradients match XNNPACK's",
  ignore: noBlas,
  async fn() {
    await startBackend("wasm", { openBlas: true });
    const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 64, seed: 1 });
    const x = tf.tensor4d(lcgValues(2 * 64 * 64 * 3, 4), [2, 64, 64, 3]);
    const targets = Int32Array.of(1, 3);
    const run = async () => {
      const { logits, gradient } = inputGradients(model, x, targets);
      const out = [await logits.data() as Float32Array, await gradient.data() as Float32Array];
      tf.dispose([logits, gradient]);
      return out;
    };
    try {
      const withBlas = await run();
      unregisterBlasConvolutions();
      const stock = await run();
      assert(maxRelativeError(withBlas[0], stock[0]) < 1e-4, "logits differ");
      assert(maxRelativeError(withBlas[1], stock[1]) < 1e-4, "input gradients differ");
    } finally {
      unregisterBlasConvolutions();
      tf.dispose(x);
      model.dispose();
    }
  },
});

/** A vgg-like net: convolutions with 16 input channels (OpenBLAS's) feeding a max-pool. */
function tieModel(): tf.LayersModel {
  const input = tf.input({ shape: [20, 20, 16] });
  let h: tf.SymbolicTensor = input;
  for (const name of ["conv1", "conv2"]) {
    const conv = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", name });
    h = tf.layers.reLU({}).apply(conv.apply(h)) as tf.SymbolicTensor;
  }
  h = tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 2, name: "fc" }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

Deno.test({
  name:
    "wasm with OpenBLAS: a max-pool's ties on a flat image send the gradient where XNNPACK does",
  ignore: noBlas,
  async fn() {
    await startBackend("wasm", { openBlas: true });
    const model = tieModel();
    ["conv1", "conv2", "fc"].forEach((name, i) => {
      const layer = model.getLayer(name);
      layer.setWeights(
        layer.getWeights().map((w, j) => tf.tensor(lcgValues(w.size, 10 * i + j + 7), w.shape)),
      );
    });
    // Flat: every interior receptive field is the same, so each max-pool window is a tie.
    const x = tf.fill([1, 20, 20, 16], 0.7) as tf.Tensor4D;
    const targets = Int32Array.of(1);
    const gradientOf = async (f: () => tf.Tensor) => {
      const g = f();
      const values = await g.data() as Float32Array;
      g.dispose();
      return values;
    };
    const ours = () => {
      const { logits, gradient } = inputGradients(model, x, targets);
      logits.dispose();
      return gradient;
    };
    // tf.grad through model.apply: every convolution on OpenBLAS, ties broken by its rounding.
    const plain = () =>
      tf.tidy(() =>
        tf.grad((input: tf.Tensor) =>
          (model.apply(input, { training: false }) as tf.Tensor).slice([0, 1], [1, 1]).sum()
        )(x)
      );
    try {
      const [withBlas, plainBlas] = [await gradientOf(ours), await gradientOf(plain)];
      unregisterBlasConvolutions();
      const stock = await gradientOf(ours);
      assert(
        maxRelativeError(plainBlas, stock) > 1e-2,
        "control: OpenBLAS left this image's ties intact, so the test checks nothing",
      );
      assert(
        maxRelativeError(withBlas, stock) < 1e-4,
        `inputGradients broke ties: off by ${maxRelativeError(withBlas, stock)}`,
      );
    } finally {
      unregisterBlasConvolutions();
      tf.dispose(x);
      model.dispose();
    }
  },
});

Deno.test("the deno.json tasks that run models grant --allow-ffi for exactly OPENBLAS_PATHS", async () => {
  const tasks = JSON.parse(await Deno.readTextFile("deno.json")).tasks as Record<
    string,
    { command: string }
  >;
  const expected = `--allow-ffi=${OPENBLAS_PATHS.join(",")}`;
  for (const name of ["demo", "train", "eval", "predict", "xai", "explain", "quantus", "test"]) {
    const flag = tasks[name].command.split(" ").find((part) => part.startsWith("--allow-ffi"));
    assertEquals(flag, expected, `deno.json task ${name}`);
  }
});
