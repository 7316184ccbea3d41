/**
 * The wasm heap: an allocation the heap cannot take is a plain error (not a tensor at address 0),
 * our wasm kernels compute the same above 2 GiB as below, and batched paths size their chunks
 * by the model's activation footprint and the heap budget.
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import {
  DEFAULT_HEAP_BUDGET_MB,
  heapBudgetBytes,
  HeapExhaustedError,
  heapFailure,
  setHeapBudgetMb,
  withinHeap,
} from "../backends/heap.ts";
import type { WasmBackend } from "../backends/wasm/wasm_kernel_utils.ts";
import { loadOpenBlas } from "../backends/openblas/openblas.ts";
import {
  activationFootprint,
  GRADIENT_BYTES_PER_ACTIVATION_BYTE,
  rowsWithinBudget,
  WEIGHT_COPIES,
} from "../graph/footprint.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { evaluateFrom } from "../graph/graph.ts";
import { buildModel } from "../models/registry.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import type { Attribution } from "../xai/explainer.ts";
import { copiesPerPass, metricBatchSize } from "../metrics/metric_model.ts";
import { parseStageArgs } from "../stages/cli.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** The Emscripten module behind the wasm backend. */
function wasmModule() {
  return (tf.backend() as WasmBackend).wasm as unknown as {
    _malloc(bytes: number): number;
    _free(address: number): void;
    HEAPU8: Uint8Array;
  };
}

Deno.test("an allocation the wasm heap cannot take throws, and the backend goes on", async () => {
  await startBackend("wasm");
  // 4 GiB less a little: the allocator returns 0, which tfjs would take as the tensor's address
  // and fill from there over the module's own data.
  assertThrows(() => tf.fill([GiB - 64], 1), HeapExhaustedError, "the wasm heap is exhausted");
  const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
  assertEquals([...sum.dataSync()], [4, 6]);
  sum.dispose();
  // Still guarded after the allocations between (tfjs' glue swaps its lazy `_malloc` stub for
  // the wasm export on the first call, which once dropped the guard).
  assertThrows(() => tf.fill([GiB - 64], 1), HeapExhaustedError, "the wasm heap is exhausted");
});

Deno.test("heap failures become one line naming what ran out and what to do", async () => {
  const abort = new WebAssembly.RuntimeError(
    "Aborted(). Build with -sASSERTIONS for more info.",
  );
  assertEquals(heapFailure(abort), "the wasm backend aborted (Aborted())");
  assert(heapFailure(new WebAssembly.RuntimeError("table index is out of bounds")));
  assertEquals(heapFailure(new TypeError("x is undefined")), undefined);
  const error = await assertRejects(
    () =>
      withinHeap("densenet121, integrated_gradients, a batch of 8 image(s)", () => {
        throw abort;
      }),
    HeapExhaustedError,
  );
  assert(!error.message.includes("\n"), error.message);
  assert(error.message.startsWith("densenet121, integrated_gradients"), error.message);
  assert(error.message.includes("--heap-budget-mb"), error.message);
  await assertRejects(
    () => withinHeap("x", () => Promise.reject(new TypeError("a bug"))),
    TypeError,
  );
});

/**
 * Fills the heap's free space below 2 GiB with blocks, so that what is allocated next lies above
 * it (the memory grows; untouched pages cost no RAM). Returns the blocks, to free.
 */
function occupyBelow2GiB(): number[] {
  const module = wasmModule();
  const blocks: number[] = [];
  for (const size of [16 * MiB, MiB, 64 * 1024, 4096, 256, 32]) {
    for (;;) {
      const address = module._malloc(size) >>> 0;
      if (address >= 2 * GiB) {
        module._free(address);
        break;
      }
      blocks.push(address);
    }
  }
  return blocks;
}

Deno.test({
  name:
    "the wasm backend with our kernels (MaxPoolGrad, backprop; Winograd with OpenBLAS) gives the same bits above 2 GiB",
  // Winograd's transforms run only with OpenBLAS; without it the stock kernels are compared.
  fn: async () => {
    await startBackend("wasm", { openBlas: loadOpenBlas() !== undefined });
    const backend = tf.backend() as WasmBackend;
    // resnet18 at 64 px: 3 x 3 convolutions on 16 x 16 x 64 (Winograd) and a max-pool; mobilenet:
    // depthwise convolutions and ReLU6, whose gradients are ours too.
    for (const arch of ["resnet18", "mobilenet_v2"]) {
      const model = buildModel(arch, { numClasses: 4, imgSizePx: 64, seed: 1 });
      const x = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      const run = () => {
        const { logits, gradient } = inputGradients(model, x, Int32Array.of(1, 2));
        const offset = backend.dataIdMap.get(gradient.dataId)!.memoryOffset as number;
        const values = [logits.dataSync(), gradient.dataSync()] as Float32Array[];
        tf.dispose([logits, gradient]);
        return { offset, values };
      };
      const below = run();
      const blocks = occupyBelow2GiB();
      try {
        const above = run();
        assert(above.offset >= 2 * GiB, `${arch}: the gradient lies at ${above.offset}`);
        for (const [i, name] of ["logits", "gradient"].entries()) {
          const [a, b] = [above.values[i], below.values[i]];
          assert(a.every((v, j) => v === b[j]), `${arch}: ${name} differ above 2 GiB`);
        }
      } finally {
        for (const block of blocks) wasmModule()._free(block);
        tf.dispose(x);
        model.dispose();
      }
    }
    await startBackend("wasm");
  },
});

Deno.test("chunk sizes follow the heap budget and the model's activation footprint", async () => {
  await startBackend("wasm");
  const model = buildModel("densenet121", { numClasses: 4, imgSizePx: 32, seed: 1 });
  try {
    const footprint = activationFootprint(model)!;
    assert(footprint.totalBytes > footprint.largestBytes && footprint.weightBytes > 0);
    const perRow = GRADIENT_BYTES_PER_ACTIVATION_BYTE * footprint.totalBytes;
    const beside = WEIGHT_COPIES * footprint.weightBytes;
    const budgetFor = (rows: number) => beside + (rows + 0.5) * perRow;
    for (const rows of [1, 2, 3, 7]) {
      assertEquals(rowsWithinBudget(model, "gradient", 16, budgetFor(rows)), rows);
    }
    assertEquals(rowsWithinBudget(model, "gradient", 16, beside / 2), 1);
    assertEquals(rowsWithinBudget(model, "gradient", 16, 100 * GiB), 16);
    // A forward pass keeps far less per row than a gradient pass.
    assert(rowsWithinBudget(model, "forward", 1000, budgetFor(3)) > 3);
    // The default budget leaves today's sizes where they fit.
    assertEquals(heapBudgetBytes(), DEFAULT_HEAP_BUDGET_MB * MiB);
    assertEquals(metricBatchSize(model), 64);
    assertEquals(copiesPerPass([8, 224, 224, 3]), 27);
    setHeapBudgetMb(budgetFor(3) / MiB);
    try {
      assertEquals(metricBatchSize(model), 3);
      // A sixteenth of 64 MiB: 6 copies of a 224 px image (602,112 bytes each).
      setHeapBudgetMb(64);
      assertEquals(copiesPerPass([1, 224, 224, 3]), 6);
    } finally {
      setHeapBudgetMb(DEFAULT_HEAP_BUDGET_MB);
    }
    assertThrows(() => setHeapBudgetMb(5000), Error, "--heap-budget-mb 5000");
  } finally {
    model.dispose();
  }
});

Deno.test("Integrated Gradients on densenet121 goes through the model in budget-sized chunks", async () => {
  await startBackend("wasm");
  const model = buildModel("densenet121", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const targets = Int32Array.of(2);
  const footprint = activationFootprint(model)!;
  const budget = WEIGHT_COPIES * footprint.weightBytes +
    3.5 * GRADIENT_BYTES_PER_ACTIVATION_BYTE * footprint.totalBytes;
  try {
    setHeapBudgetMb(budget / MiB);
    assertEquals(rowsWithinBudget(model, "gradient", 16), 3);
    const sized = await INTEGRATED_GRADIENTS.explain(model, x, targets, { nSteps: 8 });
    setHeapBudgetMb(DEFAULT_HEAP_BUDGET_MB);
    // Chunks of 3 rows (3 + 3 + 2 path points): the same sums, in the same order, as asking
    // for 3; the default budget takes all 8 at once, which only reorders the sum.
    const three = await INTEGRATED_GRADIENTS.explain(model, x, targets, {
      nSteps: 8,
      internalBatchSize: 3,
    });
    const whole = await INTEGRATED_GRADIENTS.explain(model, x, targets, { nSteps: 8 });
    assert(sized.mapsNHW.every(Number.isFinite), "non-finite attributions");
    assert(sized.mapsNHW.every((v, i) => v === three.mapsNHW[i]), "not the chunks of 3");
    const scale = Math.max(...whole.mapsNHW.map(Math.abs));
    assert(sized.mapsNHW.every((v, i) => Math.abs(v - whole.mapsNHW[i]) <= 1e-4 * scale));
  } finally {
    setHeapBudgetMb(DEFAULT_HEAP_BUDGET_MB);
    x.dispose();
    model.dispose();
  }
});

Deno.test("Grad-CAM explains a batch that does not fit in groups, each as a batch of its own", async () => {
  await startBackend("wasm");
  const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 64, seed: 1 });
  const x = tf.randomNormal([3, 64, 64, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const targets = Int32Array.of(0, 3, 1);
  const footprint = activationFootprint(model)!;
  try {
    const alone: Attribution[] = [];
    for (let i = 0; i < 3; i++) {
      const image = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
      alone.push(await GRADCAM.explain(model, image, targets.subarray(i, i + 1)));
      image.dispose();
    }
    // Room for one image's gradient pass: three groups of one.
    setHeapBudgetMb(
      (WEIGHT_COPIES * footprint.weightBytes +
        1.5 * GRADIENT_BYTES_PER_ACTIVATION_BYTE * footprint.totalBytes) / MiB,
    );
    const grouped = await GRADCAM.explain(model, x, targets);
    assertEquals(grouped.shapeNHW, [3, 64, 64]);
    assertEquals(grouped.layer!.shapeNHWC[0], 3);
    const pieces = (pick: (a: Attribution) => Float32Array) => alone.flatMap((a) => [...pick(a)]);
    assertEquals([...grouped.mapsNHW], pieces((a) => a.mapsNHW));
    assertEquals([...grouped.layer!.weightsNC!], pieces((a) => a.layer!.weightsNC!));
    assertEquals([...grouped.layer!.layerMapsNhw], pieces((a) => a.layer!.layerMapsNhw));
  } finally {
    setHeapBudgetMb(DEFAULT_HEAP_BUDGET_MB);
    x.dispose();
    model.dispose();
  }
});

Deno.test("--heap-budget-mb reaches the budget through startBackend", async () => {
  const spec = { name: "explain", summary: "", shared: ["heap-budget-mb"] as const };
  const { config } = (await parseStageArgs(spec, ["--heap-budget-mb", "1024"]))!;
  assertEquals(config.heapBudgetMb, 1024);
  try {
    await startBackend("wasm", { heapBudgetMb: config.heapBudgetMb });
    assertEquals(heapBudgetBytes(), GiB);
    await assertRejects(() => startBackend("wasm", { heapBudgetMb: 8192 }), Error, "4095");
  } finally {
    await startBackend("wasm");
  }
  assertEquals(heapBudgetBytes(), DEFAULT_HEAP_BUDGET_MB * MiB);
});

Deno.test("a forward pass from an inner tensor frees each layer's output once it is read", async () => {
  await startBackend("wasm");
  // Twelve layers of 512 x 256 values (512 KiB each; a dense layer's kernel is 256 KiB) after a
  // dense layer's output.
  const input = tf.input({ shape: [256] });
  const first = tf.layers.dense({ units: 256 }).apply(input) as tf.SymbolicTensor;
  let h = first;
  for (let i = 0; i < 6; i++) {
    h = tf.layers.dense({ units: 256 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  }
  const model = tf.model({ inputs: input, outputs: h });
  const x = tf.randomNormal([512, 256], 0, 1, "float32", 5);
  try {
    const start = tf.tidy(() => model.layers[1].apply(x) as tf.Tensor);
    const [before, bytesBefore] = [tf.memory().numTensors, tf.memory().numBytes];
    let out: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      out = tf.tidy(() => evaluateFrom(model, first, start));
    });
    const layerBytes = 512 * 256 * 4;
    // A few layers' outputs at a time (4.5 measured), not all twelve and the dense layers'
    // products (13.5 before outputs were freed).
    const peak = profile.peakBytes - bytesBefore;
    assert(peak <= 6 * layerBytes, `${peak / layerBytes} layers' outputs at once`);
    assert(profile.newBytes === layerBytes, `${profile.newBytes} bytes left behind`);
    assertEquals(tf.memory().numTensors, before + 1);
    const expected = model.predict(x) as tf.Tensor;
    assertEquals([...out!.dataSync()], [...expected.dataSync()]);
    tf.dispose([start, out!, expected]);
  } finally {
    x.dispose();
    model.dispose();
  }
});
