/**
 * Occlusion: hand-computed maps of a linear model, Captum's window placement, batching, an
 * ecgnet smoke run and bad options.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { OCCLUSION, windowStarts } from "../xai/perturbation/occlusion.ts";
import { getExplainer } from "../xai/registry.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { linearModel } from "./linear_model.ts";

await startBackend("wasm");

/** The 3 x 3 single-channel image 1..9 and logit_0 = its sum. */
const IMAGE_1_TO_9 = [1, 2, 3, 4, 5, 6, 7, 8, 9];

async function occlusionMap(
  options: Parameters<typeof OCCLUSION.explain>[3],
  image = IMAGE_1_TO_9,
): Promise<number[]> {
  const model = linearModel([3, 3, 1], Array(9).fill(1));
  const x = tf.tensor4d(image, [1, 3, 3, 1]);
  try {
    const { mapsNHW } = await OCCLUSION.explain(model, x, Int32Array.of(0), options);
    return Array.from(mapsNHW);
  } finally {
    x.dispose();
    model.dispose();
  }
}

function assertMapClose(actual: number[], expected: number[]) {
  assertEquals(actual.length, expected.length);
  actual.forEach((v, i) => assertAlmostEquals(v, expected[i], 1e-4));
}

Deno.test("occlusion: 2 x 2 window, stride 1, on a linear model equals the hand computation", async () => {
  // Window sums: top-left 1+2+4+5 = 12, top-right 16, bottom-left 24, bottom-right 28; the
  // centre is covered by all four windows: (12+16+24+28)/4 = 20.
  const map = await occlusionMap({ slidingWindowShapes: [2, 2], strides: 1 });
  assertMapClose(map, [12, 14, 16, 18, 20, 22, 24, 26, 28]);
});

Deno.test("occlusion: stride 2 places Captum's last window cut at the edge", async () => {
  // Starts 0 and 2 per axis: windows {1,2,4,5} = 12, {3,6} = 9, {7,8} = 15, {9} = 9.
  assertEquals(windowStarts(3, 2, 2), [0, 2]);
  assertEquals(windowStarts(224, 15, 8).length, 28);
  const map = await occlusionMap({ slidingWindowShapes: [2, 2], strides: [2, 2] });
  assertMapClose(map, [12, 12, 9, 12, 12, 9, 15, 15, 9]);
});

Deno.test("occlusion: baselines replace the window; uncovered pixels get 0, not NaN", async () => {
  // Baseline 1: each window's drop is the sum of (x − 1) over it.
  const map = await occlusionMap({ slidingWindowShapes: [2, 2], strides: 2, baselines: 1 });
  assertMapClose(map, [8, 8, 7, 8, 8, 7, 13, 13, 8]);
  // 1 x 1 windows at rows/columns 0 and 2: the middle row and column are never occluded.
  const sparse = await occlusionMap({ slidingWindowShapes: [1, 1], strides: 2 });
  assertMapClose(sparse, [1, 0, 3, 0, 0, 0, 7, 0, 9]);
});

Deno.test("occlusion: every channel gets the window's value; the map is their sum", async () => {
  const model = linearModel([2, 2, 3], Array.from({ length: 12 }, (_, i) => i));
  const x = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
  try {
    const attr = await OCCLUSION.explain(model, x, Int32Array.of(0), {
      slidingWindowShapes: [1, 1],
      strides: 1,
      keepChannels: true,
    });
    // Pixel p holds weights 3p, 3p+1, 3p+2: occluding it drops the logit by 9p + 3.
    const perValue = [0, 1, 2, 3].flatMap((p) => Array(3).fill(9 * p + 3));
    assertMapClose(Array.from(attr.attributionsNHWC!), perValue);
    assertMapClose(Array.from(attr.mapsNHW), [0, 1, 2, 3].map((p) => 3 * (9 * p + 3)));
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("occlusion: ecgnet at 32 px, the batch size changes nothing", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  try {
    const targets = Int32Array.of(1, 3);
    const options = { slidingWindowShapes: [8, 8] as const, strides: 4 };
    const one = await getExplainer("occlusion").explain(model, x, targets, {
      ...options,
      perturbationsPerEval: 1,
    });
    const many = await OCCLUSION.explain(model, x, targets, {
      ...options,
      perturbationsPerEval: 50,
    });
    assertEquals(one.shapeNHW, [2, 32, 32]);
    assert(one.mapsNHW.every(Number.isFinite), "finite map");
    assert(one.mapsNHW.some((v) => v !== 0), "not all zero");
    let scale = 0;
    for (const v of many.mapsNHW) scale = Math.max(scale, Math.abs(v));
    one.mapsNHW.forEach((v, i) => assertAlmostEquals(v, many.mapsNHW[i], 1e-5 * scale));
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("occlusion: bad options are InputErrors naming the option", async () => {
  const model = linearModel([3, 3, 1], Array(9).fill(1));
  const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
  const targets = Int32Array.of(0);
  try {
    const explain = (options: Parameters<typeof OCCLUSION.explain>[3]) => () =>
      OCCLUSION.explain(model, x, targets, options);
    await assertRejects(explain({ slidingWindowShapes: [4, 2] }), InputError, "exceeds");
    await assertRejects(
      explain({ slidingWindowShapes: [0, 2] }),
      InputError,
      "slidingWindowShapes[0]",
    );
    await assertRejects(
      explain({ slidingWindowShapes: [2, 2], strides: 0 }),
      InputError,
      "strides[0]",
    );
    await assertRejects(
      explain({ slidingWindowShapes: [2, 2], baselines: NaN }),
      InputError,
      "baselines",
    );
    await assertRejects(
      explain({ slidingWindowShapes: [2, 2], perturbationsPerEval: 0 }),
      InputError,
      "perturbationsPerEval",
    );
    await assertRejects(
      () => OCCLUSION.explain(model, x, Int32Array.of(5), { slidingWindowShapes: [2, 2] }),
      InputError,
      "out of range",
    );
  } finally {
    x.dispose();
    model.dispose();
  }
});
