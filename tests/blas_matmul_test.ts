import { assert } from "./assert.ts";
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { loadOpenBlas } from "../backends/openblas/openblas.ts";
import { lcgValues, maxRelativeError } from "./numbers.ts";

interface Case {
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

/** Matrices, batches, a broadcast batch, each transpose and both (a Dense layer's input gradient). */
const CASES: Case[] = [
  { a: [1, 16], b: [16, 300] },
  { a: [5, 7], b: [7, 3] },
  { a: [7, 5], b: [7, 3], transposeA: true },
  { a: [3, 4, 6], b: [3, 6, 2] },
  { a: [1, 4, 6], b: [3, 6, 2] },
  { a: [3, 6, 4], b: [1, 6, 2], transposeA: true },
  { a: [4, 6], b: [2, 6], transposeB: true },
  { a: [16, 40], b: [64, 40], transposeB: true },
  { a: [3, 6, 4], b: [1, 2, 6], transposeA: true, transposeB: true },
];

function operand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(lcgValues(tf.util.sizeFromShape(shape), seed), shape);
}

/** Runs `product` on every case on the cpu backend and on wasm with OpenBLAS; requires them equal. */
async function assertMatchesCpu<C>(cases: readonly C[], product: (c: C, i: number) => tf.Tensor) {
  const run = () => cases.map((c, i) => tf.tidy(() => product(c, i).dataSync() as Float32Array));
  await startBackend("cpu");
  const expected = run();
  await startBackend("wasm", { openBlas: true });
  const actual = run();
  cases.forEach((c, i) => {
    const error = maxRelativeError(actual[i], expected[i]);
    assert(error < 1e-6, `${JSON.stringify(c)}: max relative error ${error}`);
  });
  await startBackend("wasm");
}

Deno.test({
  name: "BatchMatMul on OpenBLAS matches the cpu backend for matrices, batches and transposes",
  ignore: !loadOpenBlas(),
  fn: () =>
    assertMatchesCpu(CASES, ({ a, b, transposeA = false, transposeB = false }, i) =>
      tf.matMul(
        operand(a, 2 * i + 1) as tf.Tensor3D,
        operand(b, 2 * i + 2) as tf.Tensor3D,
        transposeA,
        transposeB,
      )),
});

/**
 * Dense layers' products: bias and activation fused; PReLU, leaky relu and sigmoid go to the stock
 * kernel.
 */
const FUSED_CASES: (Case & { bias?: number[]; activation: tf.fused.Activation })[] = [
  { a: [16, 64], b: [64, 40], bias: [40], activation: "linear" },
  { a: [3, 9], b: [9, 5], bias: [5], activation: "relu" },
  { a: [3, 9], b: [9, 5], bias: [5], activation: "relu6" },
  { a: [2, 3, 9], b: [2, 9, 5], activation: "relu" },
  { a: [9, 3], b: [9, 5], bias: [5], activation: "linear", transposeA: true },
  { a: [3, 9], b: [9, 5], bias: [5], activation: "prelu" },
  { a: [3, 9], b: [9, 5], bias: [5], activation: "leakyrelu" },
  { a: [3, 9], b: [9, 5], bias: [5], activation: "sigmoid" },
];

Deno.test({
  name: "_FusedMatMul on OpenBLAS matches the cpu backend with bias and activations",
  ignore: !loadOpenBlas(),
  fn: () =>
    assertMatchesCpu(
      FUSED_CASES,
      ({ a, b, bias, activation, transposeA = false }, i) =>
        tf.fused.matMul({
          a: operand(a, 3 * i + 1),
          b: operand(b, 3 * i + 2),
          transposeA,
          // From -4 to 4, so that relu and relu6 clip on both sides.
          bias: bias && tf.mul(operand(bias, 3 * i + 3), 8),
          activation,
          preluActivationWeights: activation === "prelu" ? operand([b.at(-1)!], 7) : undefined,
        }),
    ),
});
