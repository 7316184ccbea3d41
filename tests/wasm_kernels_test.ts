import { assert, assertEquals } from "./assert.ts";
import { lcgValues, maxRelativeError } from "./numbers.ts";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import {
  FAST_WASM_KERNELS,
  registerFastWasmKernels,
} from "../backends/wasm/register_wasm_kernels.ts";
import { TORCH_RELU6_GRAD } from "../backends/wasm/wasm_relu6_grad.ts";
import {
  GRADIENT_PROBES,
  type GradientProbe,
  wasmMissingGradientKernels,
} from "../backends/wasm/probe_wasm_gradients.ts";

await startBackend("wasm");

type Pad = "same" | "valid" | [number, number][];

interface ConvCase {
  x: [number, number, number, number];
  kernelPx: number;
  outChannels: number;
  stride: number;
  pad: Pad;
}

/** Runs kernel `name` on `backend` with inputs built from `shapes`; returns its values. */
async function runOn(
  backend: "cpu" | "wasm",
  name: string,
  shapes: Record<string, number[]>,
  attrs: tf.NamedAttrMap,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const inputs = Object.fromEntries(
    Object.entries(shapes).map(([key, shape], i) => [
      key,
      tf.tensor(lcgValues(shape.reduce((a, b) => a * b, 1), 7 + i), shape),
    ]),
  );
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
  const data = await out.data() as Float32Array;
  tf.dispose([out, ...Object.values(inputs)]);
  return data;
}

/** max |wasm − cpu| relative to max |cpu| (summation order differs, so not elementwise). */
async function relativeError(
  name: string,
  shapes: Record<string, number[]>,
  attrs: tf.NamedAttrMap,
): Promise<number> {
  const expected = await runOn("cpu", name, shapes, attrs);
  const actual = await runOn("wasm", name, shapes, attrs);
  assertEquals(actual.length, expected.length, `${name}: output size`);
  await tf.setBackend("wasm");
  return maxRelativeError(actual, expected);
}

function outSize(inPx: number, k: number, stride: number, pad: Pad, axis: 1 | 2): number {
  if (pad === "same") return Math.ceil(inPx / stride);
  const [before, after] = pad === "valid" ? [0, 0] : pad[axis];
  return Math.floor((inPx + before + after - k) / stride) + 1;
}

const CASES: ConvCase[] = [];
for (const kernelPx of [1, 3, 5, 7]) {
  for (const stride of [1, 2]) {
    const half = (kernelPx - 1) / 2;
    const pads: Pad[] = [
      "same",
      "valid",
      [[0, 0], [half, half], [half, half], [0, 0]],
      [[0, 0], [half + 1, half], [half, half + 1], [0, 0]],
    ];
    pads.forEach((pad, i) => {
      const odd = (kernelPx + stride + i) % 2 === 1;
      const size = odd ? 11 : 12;
      const inChannels = [1, 3, 8, 16][i];
      const outChannels = [4, 16, 5, 32][(i + kernelPx) % 4];
      CASES.push({ x: [2, size, size + 1, inChannels], kernelPx, outChannels, stride, pad });
    });
  }
}
CASES.push({ x: [1, 14, 14, 64], kernelPx: 3, outChannels: 64, stride: 2, pad: "same" });
CASES.push({ x: [3, 9, 9, 32], kernelPx: 1, outChannels: 48, stride: 1, pad: "valid" });
// ResNet's stem in small (3 channels out of the input gradient), stride 3, pads past the kernel.
CASES.push({ x: [2, 20, 18, 3], kernelPx: 7, outChannels: 16, stride: 2, pad: "valid" });
CASES.push({ x: [2, 16, 17, 5], kernelPx: 3, outChannels: 6, stride: 3, pad: "same" });
CASES.push({
  x: [1, 10, 11, 4],
  kernelPx: 3,
  outChannels: 8,
  stride: 2,
  pad: [[0, 0], [4, 0], [0, 5], [0, 0]],
});

function describe(c: ConvCase): string {
  const pad = typeof c.pad === "string" ? c.pad : JSON.stringify(c.pad.slice(1, 3));
  return `x ${c.x.join("x")} k${c.kernelPx} s${c.stride} ${pad} → ${c.outChannels}`;
}

function geometry(c: ConvCase) {
  const [n, h, w] = c.x;
  const dy = [
    n,
    outSize(h, c.kernelPx, c.stride, c.pad, 1),
    outSize(w, c.kernelPx, c.stride, c.pad, 2),
  ];
  return { dy, attrs: { strides: [c.stride, c.stride], pad: c.pad } };
}

const TOLERANCE = 1e-5;

Deno.test("wasm Conv2DBackpropInput and Conv2DBackpropFilter match the cpu kernels", async () => {
  for (const c of CASES) {
    const { dy, attrs } = geometry(c);
    const filterShape = [c.kernelPx, c.kernelPx, c.x[3], c.outChannels];
    const dyShape = [...dy, c.outChannels];
    const dx = await relativeError(tf.Conv2DBackpropInput, { dy: dyShape, filter: filterShape }, {
      ...attrs,
      inputShape: c.x,
      dataFormat: "NHWC",
    });
    const df = await relativeError(tf.Conv2DBackpropFilter, { x: c.x, dy: dyShape }, {
      ...attrs,
      filterShape,
      dataFormat: "NHWC",
    });
    assert(dx <= TOLERANCE, `${describe(c)}: backprop input off by ${dx}`);
    assert(df <= TOLERANCE, `${describe(c)}: backprop filter off by ${df}`);
  }
});

Deno.test("wasm depthwise backprop kernels match the cpu kernels", async () => {
  const cases = [...CASES, { ...CASES[5], outChannels: 2 * CASES[5].x[3] }];
  for (const c of cases) {
    const { dy, attrs } = geometry(c);
    const multiplier = c.outChannels === 2 * c.x[3] ? 2 : 1;
    const filterShape = [c.kernelPx, c.kernelPx, c.x[3], multiplier];
    const dyShape = [...dy, c.x[3] * multiplier];
    const withDilations = { ...attrs, dilations: [1, 1] };
    const dx = await relativeError(
      tf.DepthwiseConv2dNativeBackpropInput,
      { dy: dyShape, filter: filterShape },
      { ...withDilations, inputShape: c.x },
    );
    const df = await relativeError(
      tf.DepthwiseConv2dNativeBackpropFilter,
      { x: c.x, dy: dyShape },
      { ...withDilations, filterShape },
    );
    const label = `${describe(c)} depthwise multiplier ${multiplier}`;
    assert(dx <= TOLERANCE, `${label}: backprop input off by ${dx}`);
    assert(df <= TOLERANCE, `${label}: backprop filter off by ${df}`);
  }
});

Deno.test("wasm depthwise backprop input with dilation equals it with a zero-dilated filter", () => {
  // tfjs' cpu kernel ignores the dilation, so the reference is the dilation-1 gradient with
  // zeros between the taps, which is the same convolution.
  for (
    const [dilation, pad] of [[2, "same"], [3, "valid"], [2, [[0, 0], [3, 1], [0, 4], [
      0,
      0,
    ]]]] as const
  ) {
    const x: [number, number, number, number] = [2, 13, 12, 3];
    const filter = tf.tensor4d(lcgValues(3 * 3 * 3 * 2, 5), [3, 3, 3, 2]);
    const span = 2 * dilation + 1;
    const spread = tf.tidy(() => {
      const taps = tf.unstack(tf.reshape(filter, [9, 3, 2]));
      const zero = tf.zerosLike(taps[0]);
      const grid = Array.from({ length: span * span }, (_, i) => {
        const [r, c] = [Math.floor(i / span), i % span];
        return r % dilation === 0 && c % dilation === 0
          ? taps[(r / dilation) * 3 + c / dilation]
          : zero;
      });
      return tf.reshape(tf.stack(grid), [span, span, 3, 2]) as tf.Tensor4D;
    });
    const probe = tf.tidy(() =>
      tf.depthwiseConv2d(tf.zeros(x) as tf.Tensor4D, spread, 1, pad as "same")
    );
    const dy = tf.tensor(lcgValues(probe.size, 6), probe.shape);
    const gradient = (f: tf.Tensor, d: number) =>
      tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: f }, {
        strides: [1, 1],
        pad,
        dilations: [d, d],
        inputShape: x,
      }) as tf.Tensor;
    const actual = gradient(filter, dilation);
    const expected = gradient(spread, 1);
    const diff = tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0];
    const scale = tf.max(tf.abs(expected)).dataSync()[0];
    assert(
      diff <= TOLERANCE * scale,
      `dilation ${dilation} ${JSON.stringify(pad)}: off by ${diff}`,
    );
    tf.dispose([filter, spread, probe, dy, actual, expected]);
  }
});

/** Values from {-1, 0, 0.5, 1}: most pooling windows hold a tied maximum. */
function tiedValues(size: number, seed: number): Float32Array {
  return lcgValues(size, seed).map((v) => [-1, 0, 0.5, 1][Math.floor((v + 0.5) * 4)]);
}

Deno.test("wasm MaxPoolGrad routes a tie to the first maximum, as the cpu kernel (torch)", async () => {
  const cases: {
    x: [number, number, number, number];
    filterSize: number;
    strides: number;
    pad: Pad;
  }[] = [
    { x: [2, 11, 12, 5], filterSize: 3, strides: 2, pad: "valid" },
    { x: [2, 11, 12, 5], filterSize: 3, strides: 1, pad: "same" },
    { x: [1, 8, 9, 17], filterSize: 2, strides: 2, pad: "same" },
    { x: [1, 9, 9, 3], filterSize: 3, strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
    // Channels in multiples of 4 take the SIMD kernel: resnet's stem pool, a 2 x 2 pool, and
    // windows cut by the border.
    { x: [2, 13, 13, 64], filterSize: 3, strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
    { x: [1, 8, 9, 16], filterSize: 2, strides: 2, pad: "same" },
    { x: [2, 11, 12, 8], filterSize: 3, strides: 1, pad: "same" },
  ];
  for (const { x, filterSize, strides, pad } of cases) {
    const gradient = async (backend: "cpu" | "wasm") => {
      await tf.setBackend(backend);
      const input = tf.tensor4d(tiedValues(x.reduce((a, b) => a * b, 1), 11), x);
      const output = tf.maxPool(input, filterSize, strides, pad as "same");
      const dy = tf.tensor(lcgValues(output.size, 12), output.shape);
      const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, {
        filterSize,
        strides,
        pad,
      }) as tf.Tensor;
      const data = await dx.data() as Float32Array;
      tf.dispose([input, output, dy, dx]);
      return data;
    };
    const expected = await gradient("cpu");
    const actual = await gradient("wasm");
    // Overlapping windows add in another order, so equal up to rounding; a tie sent elsewhere
    // would be off by a whole dy value (up to 0.5).
    const diff = expected.reduce((worst, v, i) => Math.max(worst, Math.abs(v - actual[i])), 0);
    assert(diff <= 1e-6, `${x} pool ${filterSize} s${strides} ${JSON.stringify(pad)}: ${diff}`);
  }
  await tf.setBackend("wasm");
});

Deno.test("wasm Slice equals the cpu kernel bit for bit", async () => {
  const cases: [number[], number[], number[]][] = [
    [[2, 6, 7, 3], [0, 1, 1, 0], [2, 4, 5, 3]],
    [[2, 6, 7, 3], [1, 0, 0, 0], [1, 6, 7, 3]],
    [[2, 6, 7, 3], [0, 2, 3, 1], [-1, -1, 2, 2]],
    [[3, 5], [1, 2], [2, 3]],
    [[7], [2], [0]],
    [[2, 3, 4, 5, 6], [1, 0, 1, 2, 0], [1, 3, 2, 3, 6]],
  ];
  for (const [shape, begin, size] of cases) {
    for (const dtype of ["float32", "int32", "bool", "string"] as const) {
      const sliced = async (backend: "cpu" | "wasm") => {
        await tf.setBackend(backend);
        const ints = tf.tensor(lcgValues(shape.reduce((a, b) => a * b, 1), 4), shape).mul(10)
          .toInt();
        const x = dtype === "bool"
          ? tf.greater(ints, 0)
          : dtype === "string"
          ? tf.tensor([...ints.dataSync()].map(String), shape)
          : ints.cast(dtype);
        const y = tf.slice(x, begin, size);
        const data = [...await y.data()];
        tf.dispose([ints, x, y]);
        return data;
      };
      assertEquals(await sliced("wasm"), await sliced("cpu"), `${shape} ${begin} ${size} ${dtype}`);
    }
  }
});

Deno.test("wasm TorchRelu6Grad equals the composite mask on the cpu backend", async () => {
  const edges = [-1, -0, 0, 1e-38, 1e-7, 3, 5.9999995, 6, 6.0000005, 7, NaN, -Infinity, Infinity];
  const xs = Float32Array.from([...edges, ...lcgValues(500, 9).map((v) => v * 16)]);
  const dys = lcgValues(xs.length, 10);
  await tf.setBackend("cpu");
  const expected = tf.tidy(() => {
    const x = tf.tensor1d(xs);
    return tf.mul(
      tf.tensor1d(dys),
      tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), "float32"),
    )
      .dataSync();
  });
  await tf.setBackend("wasm");
  const dy = tf.tensor1d(dys);
  const x = tf.tensor1d(xs);
  const dx = tf.engine().runKernel(TORCH_RELU6_GRAD, { dy, x }) as tf.Tensor;
  assertEquals([...await dx.data()], [...expected]);
  tf.dispose([dy, x, dx]);
});

Deno.test("wasm Tile equals the cpu kernel bit for bit", async () => {
  const cases: [number[], number[]][] = [
    [[1, 1, 1, 5], [2, 3, 4, 1]],
    [[2, 1, 3, 1], [1, 4, 2, 3]],
    [[3, 2], [2, 2]],
    [[4], [3]],
    [[2, 3, 1], [1, 1, 1]],
  ];
  for (const [shape, reps] of cases) {
    for (const dtype of ["float32", "int32", "bool"] as const) {
      const tiled = async (backend: "cpu" | "wasm") => {
        await tf.setBackend(backend);
        const ints = tf.tensor(lcgValues(shape.reduce((a, b) => a * b, 1), 3), shape).mul(10)
          .toInt();
        // A comparison, not a cast: wasm's int32 → bool cast keeps the low byte (e.g. 253).
        const x = dtype === "bool" ? tf.greater(ints, 0) : ints.cast(dtype);
        const y = tf.tile(x, reps);
        const data = [...await y.data()];
        tf.dispose([ints, x, y]);
        return data;
      };
      assertEquals(await tiled("wasm"), await tiled("cpu"), `${shape} x ${reps} ${dtype}`);
    }
  }
});

Deno.test("the wasm gradient kernels free every intermediate", () => {
  const x = tf.tensor4d(lcgValues(2 * 10 * 10 * 8, 1), [2, 10, 10, 8]);
  const w = tf.tensor4d(lcgValues(3 * 3 * 8 * 8, 2), [3, 3, 8, 8]);
  const dw = tf.tensor4d(lcgValues(3 * 3 * 8, 3), [3, 3, 8, 1]);
  const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(
      tf.depthwiseConv2d(
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"),
        c as tf.Tensor4D,
        1,
        "same",
      ),
    );
  const step = () => tf.tidy(() => void tf.grads(loss)([x, w, dw]));
  step();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) step();
  const after = tf.memory();
  assertEquals(after.numTensors, before.numTensors);
  assertEquals(after.numBytes, before.numBytes);
  assertEquals(
    (after as { numDataBuffers: number }).numDataBuffers,
    (before as { numDataBuffers: number }).numDataBuffers,
  );
  tf.dispose([x, w, dw]);
});

Deno.test("registerFastWasmKernels is idempotent and startBackend('wasm') installs it", () => {
  registerFastWasmKernels();
  for (const config of FAST_WASM_KERNELS) {
    assert(tf.getKernel(config.kernelName, "wasm")?.kernelFunc === config.kernelFunc);
  }
});

Deno.test("no gradient kernel that training or explaining needs is missing on wasm", async () => {
  const modelProbes: GradientProbe[] = ["resnet18", "mobilenet_v2"].map((name) => {
    const model = buildModel(name, { numClasses: 4, imgSizePx: 32, seed: 1 });
    return {
      name,
      shapes: [[2, 32, 32, 3]],
      loss: (x) => tf.sum(model.apply(x, { training: true }) as tf.Tensor),
    };
  });
  const results = await wasmMissingGradientKernels([...GRADIENT_PROBES, ...modelProbes]);
  assertEquals(results.filter((r) => r.missing.length > 0), []);
});
