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

/** Matrices, batches, a broadcast batch, both transposes (transposeB goes to the stock kernel). */
const CASES: Case[] = [
  { a: [1, 16], b: [16, 300] },
  { a: [5, 7], b: [7, 3] },
  { a: [7, 5], b: [7, 3], transposeA: true },
  { a: [3, 4, 6], b: [3, 6, 2] },
  { a: [1, 4, 6], b: [3, 6, 2] },
  { a: [3, 6, 4], b: [1, 6, 2], transposeA: true },
  { a: [4, 6], b: [2, 6], transposeB: true },
];

function operand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(lcgValues(tf.util.sizeFromShape(shape), seed), shape);
}

Deno.test({
  name: "BatchMatMul on OpenBLAS matches the cpu backend for matrices, batches and transposes",
  ignore: !loadOpenBlas(),
  fn: async () => {
    const run = () =>
      CASES.map(({ a, b, transposeA = false, transposeB = false }, i) =>
        tf.tidy(() =>
          tf.matMul(
            operand(a, 2 * i + 1) as tf.Tensor3D,
            operand(b, 2 * i + 2) as tf.Tensor3D,
            transposeA,
            transposeB,
          ).dataSync() as Float32Array
        )
      );
    await startBackend("cpu");
    const expected = run();
    await startBackend("wasm", { openBlas: true });
    const actual = run();
    CASES.forEach((c, i) => {
      const error = maxRelativeError(actual[i], expected[i]);
      assert(error < 1e-6, `${JSON.stringify(c)}: max relative error ${error}`);
    });
    await startBackend("wasm");
  },
});
