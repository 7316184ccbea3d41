import { assert, assertClose, assertEquals, assertThrows } from "./assert.ts";
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { AffinePrefix } from "../graph/affine_prefix.ts";
import { startBackend } from "../backends/backend.ts";
import { inputGradients } from "../graph/input_gradients.ts";
import { buildModel } from "../models/registry.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";
import { pathQuadrature } from "../xai/gradient/quadrature.ts";

await startBackend("wasm");

const SIZE_PX = 48;
const TARGETS = Int32Array.from([1, 0]);

/** IG by its definition: Σ_k w_k ∂F/∂x at every path point, times (x − b); no prefix. */
function definitionIg(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  baseline: tf.Tensor4D,
  nSteps: number,
): tf.Tensor4D {
  const { alphas, stepSizes } = pathQuadrature("gausslegendre", nSteps);
  return tf.tidy(() => {
    let sum = tf.zerosLike(x);
    alphas.forEach((alpha, k) => {
      const row = tf.add(baseline, tf.mul(alpha, tf.sub(x, baseline))) as tf.Tensor4D;
      const { logits, gradient } = inputGradients(model, row, TARGETS);
      logits.dispose();
      sum = tf.add(sum, tf.mul(stepSizes[k], gradient));
    });
    return tf.mul(sum, tf.sub(x, baseline)) as tf.Tensor4D;
  });
}

for (const name of ["resnet18", "mobilenet_v2", "ecgnet"]) {
  Deno.test(`${name}: the affine prefix is the stem's padding, convolution and BatchNorm`, () => {
    const model = buildModel(name, { numClasses: 3, imgSizePx: SIZE_PX, seed: 1 });
    const prefix = AffinePrefix.of(model);
    assert(prefix, `${name}: no affine prefix found`);
    const classes = prefix.layers.map((l) => model.getLayer(l).getClassName());
    assertEquals(classes.filter((c) => c !== "ZeroPadding2D"), ["Conv2D", "BatchNormalization"]);
    model.dispose();
  });
}

for (const [name, baselineKind] of [["resnet18", "zero"], ["mobilenet_v2", "noise"]] as const) {
  Deno.test(`${name}: Integrated Gradients through the affine prefix equal the definition (${baselineKind} baseline)`, async () => {
    const model = buildModel(name, { numClasses: 3, imgSizePx: SIZE_PX, seed: 3 });
    const shape = [2, SIZE_PX, SIZE_PX, 3] as const;
    const x = tf.randomUniform([...shape], 0, 1, "float32", 4) as tf.Tensor4D;
    const baseline = (baselineKind === "zero"
      ? tf.zeros([...shape])
      : tf.randomUniform([...shape], 0, 1, "float32", 5)) as tf.Tensor4D;
    const ours = await INTEGRATED_GRADIENTS.explain(model, x, TARGETS, {
      nSteps: 6,
      baseline: baselineKind === "zero" ? "zero" : baseline.dataSync() as Float32Array,
      keepChannels: true,
    });
    const expected = definitionIg(model, x, baseline, 6);
    // Only the rounding differs: P(b) + α (P(x) − P(b)) for P(b + α (x − b)), and one transposed
    // pass of the summed gradient for the sum of transposed passes.
    assertClose(ours.attributionsNHWC!, await expected.data(), 1e-5, `${name} IG`);
    tf.dispose([x, baseline, expected]);
    model.dispose();
  });
}

Deno.test("no affine prefix without a leading linear convolution, or when a tensor has two readers", () => {
  const input = tf.input({ shape: [8, 8, 3] });
  const relu = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: "relu" }).apply(input);
  const head = (h: tf.SymbolicTensor) =>
    tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
  const fused = tf.model({ inputs: input, outputs: head(relu as tf.SymbolicTensor) });
  assertEquals(AffinePrefix.of(fused), undefined);

  const linear = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "lin" })
    .apply(input) as tf.SymbolicTensor;
  const skip = tf.layers.add().apply([linear, input]) as tf.SymbolicTensor;
  const branched = tf.model({
    inputs: input,
    outputs: head(tf.layers.reLU().apply(skip) as tf.SymbolicTensor),
  });
  assertEquals(AffinePrefix.of(branched), undefined);
  // Starting the gradient at `lin` would need the input too: a clear error, not a wrong result.
  const rows = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
  assertThrows(
    () => inputGradients(branched, rows, Int32Array.of(0), { from: linear }),
    Error,
    "not computed from",
  );
  assertThrows(
    () => inputGradients(branched, rows, Int32Array.of(0), { from: linear, layer: "lin" }),
    InputError,
    "either",
  );
  rows.dispose();
});
