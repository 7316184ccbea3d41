/**
 * Complexity metrics beyond Quantus parity: known answers, invariances, NaN reasons, the
 * Quantus-compatible switches, bad parameters, inputs left untouched.
 */
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { COMPLEXITY, contributionEntropy } from "../metrics/complexity/complexity.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { EFFECTIVE_COMPLEXITY } from "../metrics/complexity/effective_complexity.ts";
import type { MetricBatch, MetricContext, MetricDefinition } from "../metrics/metric.ts";
import { giniIndex, SPARSENESS } from "../metrics/complexity/sparseness.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";

/** Complexity metrics read no model. */
const context = { draws: new SeededDraws(0) } as unknown as MetricContext;
const raw = { abs: false, normalise: false, softmax: false, quantusCompat: false };

/** A batch of 4x4 single-channel images holding `maps` (one 16-value map per image). */
function batchOf(...maps: number[][]): MetricBatch {
  return {
    xNHWC: new Float32Array(maps.length * 16),
    shapeNHWC: [maps.length, 4, 4, 1],
    targets: new Int32Array(maps.length),
    attributionsNHW: Float32Array.from(maps.flat()),
  };
}

const oneHot = Array.from({ length: 16 }, (_, i) => (i === 5 ? 2 : 0));
const constant = Array(16).fill(0.5);
const zeros = Array(16).fill(0);
const random = new SeededRandom(7);
const positive = Array.from({ length: 16 }, () => random.uniform());
const signed = Array.from({ length: 16 }, () => random.uniform() - 0.5);

Deno.test("metadata: categories and directions as Quantus declares them", () => {
  const expected: [MetricDefinition, string][] = [
    [SPARSENESS, "higher"],
    [COMPLEXITY, "lower"],
    [EFFECTIVE_COMPLEXITY, "lower"],
  ];
  for (const [metric, direction] of expected) {
    assertEquals(metric.category, "complexity");
    assertEquals(metric.direction, direction, metric.name);
    assertEquals([metric.defaults.abs, metric.defaults.normalise], [true, true], metric.name);
  }
});

Deno.test("sparseness: 0 for a constant map, (n-1)/n for a single pixel", async () => {
  const r = await SPARSENESS.evaluate(context, batchOf(constant, oneHot), SPARSENESS.defaults);
  assertAlmostEquals(r.scores[0], 0, 1e-12);
  assertAlmostEquals(r.scores[1], 15 / 16, 1e-12);
});

Deno.test("sparseness: invariant to scale and pixel order", () => {
  const v = Float32Array.from(positive);
  const scaled = Float32Array.from(positive, (x) => 4 * x);
  const reversed = Float32Array.from(positive).reverse();
  assertAlmostEquals(giniIndex(scaled), giniIndex(v), 1e-7);
  assertAlmostEquals(giniIndex(reversed), giniIndex(v), 1e-12);
  assert(giniIndex(v) > 0 && giniIndex(v) < 1);
});

Deno.test("sparseness: NaN with reasons for all-zero and signed maps; Quantus values with compat", async () => {
  const batch = batchOf(zeros, signed);
  const r = await SPARSENESS.evaluate(context, batch, raw);
  assert(r.scores.every(Number.isNaN));
  assert(r.reasons[0]!.includes("all zero"), r.reasons[0]);
  assert(r.reasons[1]!.includes("negative"), r.reasons[1]);
  const compat = await SPARSENESS.evaluate(context, batch, { ...raw, quantusCompat: true });
  assertEquals(compat.scores[0], 0); // 1e-7 everywhere: a constant map
  assert(Number.isFinite(compat.scores[1]));
});

Deno.test("complexity: ln(n) for a constant map, 0 for a single pixel", async () => {
  const r = await COMPLEXITY.evaluate(context, batchOf(constant, oneHot), COMPLEXITY.defaults);
  assertAlmostEquals(r.scores[0], Math.log(16), 1e-12);
  assertEquals(r.scores[1], 0);
});

Deno.test("complexity: signed maps use |a| (Bhatt et al.); Quantus's NaN only with compat", async () => {
  const magnitudes = signed.map(Math.abs);
  const r = await COMPLEXITY.evaluate(context, batchOf(signed, magnitudes), raw);
  assertAlmostEquals(r.scores[0], r.scores[1], 1e-12);
  assertAlmostEquals(r.scores[0], contributionEntropy(Float32Array.from(magnitudes)), 1e-12);
  const compat = await COMPLEXITY.evaluate(context, batchOf(signed, magnitudes), {
    ...raw,
    quantusCompat: true,
  });
  assert(Number.isNaN(compat.scores[0]) && compat.reasons[0]!.includes("signed"));
  assertAlmostEquals(compat.scores[1], r.scores[1], 1e-5);
});

Deno.test("complexity: an all-zero map is NaN with a reason", async () => {
  for (const quantusCompat of [false, true]) {
    const r = await COMPLEXITY.evaluate(context, batchOf(zeros), { ...raw, quantusCompat });
    assert(Number.isNaN(r.scores[0]) && r.reasons[0]!.includes("all zero"));
  }
});

Deno.test("effective complexity: counts values above eps; signed comparison without abs", async () => {
  const map = [...Array(12).fill(0), 1e-6, 0.1, -0.5, 2];
  const p = { ...EFFECTIVE_COMPLEXITY.defaults, normalise: false };
  const withAbs = await EFFECTIVE_COMPLEXITY.evaluate(context, batchOf(map, zeros), p);
  assertEquals(Array.from(withAbs.scores), [3, 0]);
  const signedOnly = await EFFECTIVE_COMPLEXITY.evaluate(context, batchOf(map), {
    ...p,
    abs: false,
  });
  assertEquals(signedOnly.scores[0], 2);
  const strict = await EFFECTIVE_COMPLEXITY.evaluate(context, batchOf(map), { ...p, eps: 1 });
  assertEquals(strict.scores[0], 1);
});

Deno.test("bad input: wrong attribution size and a non-finite eps are InputErrors", async () => {
  const batch = { ...batchOf(constant), attributionsNHW: new Float32Array(15) };
  for (const metric of [SPARSENESS, COMPLEXITY, EFFECTIVE_COMPLEXITY] as MetricDefinition[]) {
    await assertRejects(
      () => metric.evaluate(context, batch, metric.defaults),
      InputError,
      "attributionsNHW",
    );
  }
  await assertRejects(
    () =>
      EFFECTIVE_COMPLEXITY.evaluate(context, batchOf(constant), {
        ...EFFECTIVE_COMPLEXITY.defaults,
        eps: NaN,
      }),
    InputError,
    "eps",
  );
});

Deno.test("inputs are never modified (Quantus modifies them with abs and normalise off)", async () => {
  const batch = batchOf(signed, positive);
  const before = batch.attributionsNHW.slice();
  for (const metric of [SPARSENESS, COMPLEXITY, EFFECTIVE_COMPLEXITY] as MetricDefinition[]) {
    for (const params of [raw, { ...raw, quantusCompat: true }, metric.defaults]) {
      await metric.evaluate(context, batch, { ...metric.defaults, ...params });
      assertEquals(batch.attributionsNHW, before, metric.name);
    }
  }
});
