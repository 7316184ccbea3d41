/**
 * Localisation metrics beyond Quantus parity: synthetic maps with known answers, empty and full
 * masks, the Quantus-compatible switches, bad parameters, inputs left untouched.
 */
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { ATTRIBUTION_LOCALISATION } from "../metrics/localisation/attribution_localisation.ts";
import { AUC, rocAuc } from "../metrics/localisation/auc.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { EMPTY_MASK_REASON } from "../metrics/functions/masks.ts";
import type { MetricBatch, MetricContext, MetricDefinition } from "../metrics/metric.ts";
import { POINTING_GAME } from "../metrics/localisation/pointing_game.ts";
import { RELEVANCE_MASS_ACCURACY } from "../metrics/localisation/relevance_mass_accuracy.ts";
import { RELEVANCE_RANK_ACCURACY } from "../metrics/localisation/relevance_rank_accuracy.ts";
import { TOP_K_INTERSECTION } from "../metrics/localisation/top_k_intersection.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";

/** Localisation metrics read no model. */
const context = { draws: new SeededDraws(0) } as unknown as MetricContext;
const raw = { abs: false, normalise: false, softmax: false, quantusCompat: false };
const compat = { ...raw, quantusCompat: true };

// deno-lint-ignore no-explicit-any
const LOCALISATION: MetricDefinition<any>[] = [
  POINTING_GAME,
  ATTRIBUTION_LOCALISATION,
  TOP_K_INTERSECTION,
  RELEVANCE_RANK_ACCURACY,
  RELEVANCE_MASS_ACCURACY,
  AUC,
];

/** 4x4 single-channel images: one map and one mask (16 values each) per image. */
function batchOf(...pairs: [number[], number[]][]): MetricBatch {
  return {
    xNHWC: new Float32Array(pairs.length * 16),
    shapeNHWC: [pairs.length, 4, 4, 1],
    targets: new Int32Array(pairs.length),
    attributionsNHW: Float32Array.from(pairs.flatMap(([map]) => map)),
    masksNHW: Uint8Array.from(pairs.flatMap(([, mask]) => mask)),
  };
}

/** A 4x4 mask with the top-left 2x2 block inside. */
const block = Array.from({ length: 16 }, (_, i) => (i % 4 < 2 && i < 8 ? 1 : 0));
const empty = Array(16).fill(0);
const full = Array(16).fill(1);
/** Relevance 16 … 1: the first pixels are the most relevant. */
const ramp = Array.from({ length: 16 }, (_, i) => 16 - i);
/** All relevance on the block. */
const onBlock = block.map((m) => 3 * m);
/** All relevance off the block. */
const offBlock = block.map((m) => 1 - m);

Deno.test("metadata: localisation, higher is better, needs masks", () => {
  for (const metric of LOCALISATION) {
    assertEquals(metric.category, "localisation");
    assertEquals(metric.direction, "higher");
    assert(metric.needs.includes("masks"), metric.name);
  }
});

Deno.test("perfect and wrong maps score at the ends of each metric's range", async () => {
  const batch = batchOf([onBlock, block], [offBlock, block]);
  const expected: Record<string, [number, number]> = {
    pointing_game: [1, 0],
    attribution_localisation: [1, 0],
    relevance_rank_accuracy: [1, 0],
    relevance_mass_accuracy: [1, 0],
    auc: [1, 0],
  };
  for (const metric of LOCALISATION) {
    if (!(metric.name in expected)) continue;
    const r = await metric.evaluate(context, batch, { ...metric.defaults, ...raw });
    assertEquals(Array.from(r.scores), expected[metric.name], metric.name);
  }
  const top = await TOP_K_INTERSECTION.evaluate(context, batch, {
    ...raw,
    k: 4,
    conceptInfluence: false,
  });
  assertEquals(Array.from(top.scores), [1, 0]);
});

Deno.test("known answers on a ramp map with the 2x2 block mask (pixels 0, 1, 4, 5)", async () => {
  const batch = batchOf([ramp, block]);
  const score = async (metric: MetricDefinition, extra = {}) =>
    (await metric.evaluate(context, batch, { ...metric.defaults, ...raw, ...extra })).scores[0];
  assertEquals(await score(POINTING_GAME), 1); // the maximum, 16, is pixel 0
  // Inside: 16 + 15 + 12 + 11 = 54 of 136.
  assertAlmostEquals(await score(RELEVANCE_MASS_ACCURACY), 54 / 136, 1e-12);
  assertAlmostEquals(await score(ATTRIBUTION_LOCALISATION), 54 / 136, 1e-12);
  assertAlmostEquals(
    await score(ATTRIBUTION_LOCALISATION, { weighted: true }),
    54 / 136 / 4,
    1e-12,
  );
  // Top 4 = pixels 0..3, of which 0 and 1 are inside.
  assertEquals(await score(RELEVANCE_RANK_ACCURACY), 0.5);
  assertEquals(await score(TOP_K_INTERSECTION, { k: 4 }), 0.5);
  assertEquals(await score(TOP_K_INTERSECTION, { k: 4, conceptInfluence: true }), 0.5 * 16 / 4);
  // Inside 16, 15, 12, 11 against outside 14, 13, 10, 9, …, 1: 12 + 12 + 10 + 10 of 48 pairs.
  assertAlmostEquals(await score(AUC), 44 / 48, 1e-12);
});

Deno.test("empty masks: NaN with a reason; Quantus's PointingGame scores true with compat", async () => {
  const batch = batchOf([ramp, empty], [ramp, block]);
  for (const metric of LOCALISATION) {
    const r = await metric.evaluate(context, batch, { ...metric.defaults, k: 4 });
    assert(Number.isNaN(r.scores[0]), metric.name);
    assertEquals(r.reasons[0], EMPTY_MASK_REASON);
    assert(!Number.isNaN(r.scores[1]), metric.name);
  }
  const quantus = await POINTING_GAME.evaluate(context, batch, { ...compat, weighted: false });
  assertEquals(POINTING_GAME.toQuantus(quantus, { ...compat, weighted: false }), [true, true]);
});

Deno.test("a mask covering the whole image: AUC NaN with a reason, the others defined", async () => {
  const batch = batchOf([ramp, full]);
  const auc = await AUC.evaluate(context, batch, raw);
  assert(Number.isNaN(auc.scores[0]) && auc.reasons[0]!.includes("whole image"));
  const rra = await RELEVANCE_RANK_ACCURACY.evaluate(context, batch, raw);
  assertEquals(rra.scores[0], 1);
});

Deno.test("pointing game: ties at the maximum count; weighted by the mask's share; compat raises", async () => {
  const tied = [...ramp];
  tied[15] = 16; // pixel 15 (outside) ties pixel 0 (inside)
  const batch = batchOf([tied, block]);
  const r = await POINTING_GAME.evaluate(context, batch, { ...raw, weighted: false });
  assertEquals(r.scores[0], 1);
  const weighted = await POINTING_GAME.evaluate(context, batch, { ...raw, weighted: true });
  assertEquals(weighted.scores[0], 1 - 4 / 16);
  assertEquals(POINTING_GAME.toQuantus(weighted, { ...raw, weighted: true }), [0.75]);
  await assertRejects(
    () => POINTING_GAME.evaluate(context, batch, { ...compat, weighted: true }),
    InputError,
    "weighted",
  );
});

Deno.test("attribution localisation: NaN reasons; Quantus's size defect and max_size only with compat", async () => {
  const p = { ...ATTRIBUTION_LOCALISATION.defaults, ...raw };
  // Negative mass outside the mask makes the inside share exceed 1.
  const negativeOutside = block.map((m) => (m ? 1 : -0.1));
  const r = await ATTRIBUTION_LOCALISATION.evaluate(
    context,
    batchOf([negativeOutside, block], [empty.map(() => 0), block]),
    p,
  );
  assert(Number.isNaN(r.scores[0]) && r.reasons[0]!.includes("exceeds"));
  assert(Number.isNaN(r.scores[1]) && r.reasons[1]!.includes("sum to 0"));
  const big = batchOf([ramp, block], [ramp, block], [ramp, block]);
  const tooBig = await ATTRIBUTION_LOCALISATION.evaluate(context, big, { ...p, maxSize: 0.2 });
  assert(tooBig.reasons.every((reason) => reason?.includes("maxSize")));
  const warnsOnly = await ATTRIBUTION_LOCALISATION.evaluate(context, big, {
    ...p,
    ...compat,
    maxSize: 0.2,
  });
  assert(warnsOnly.scores.every(Number.isFinite));
  // Quantus weights by |mask| / size(x_batch[2:]) = 4 / ((3 - 2) * 16): the same here as 4 / 16,
  // but with 4 images it divides by 32.
  const four = batchOf([ramp, block], [ramp, block], [ramp, block], [ramp, block]);
  const ours = await ATTRIBUTION_LOCALISATION.evaluate(context, four, { ...p, weighted: true });
  const quantus = await ATTRIBUTION_LOCALISATION.evaluate(context, four, {
    ...p,
    ...compat,
    weighted: true,
  });
  assertAlmostEquals(ours.scores[0] / quantus.scores[0], 2, 1e-6);
  const clipped = await ATTRIBUTION_LOCALISATION.evaluate(
    context,
    batchOf([negativeOutside, block]),
    { ...p, positiveAttributions: true },
  );
  assertEquals(clipped.scores[0], 1);
  await assertRejects(
    () => ATTRIBUTION_LOCALISATION.evaluate(context, big, { ...p, maxSize: 0 }),
    InputError,
    "maxSize",
  );
});

Deno.test("relevance mass accuracy: a map summing to 0 is NaN by default, Quantus divides by 0", async () => {
  const balanced = block.map((m) => (m ? 3 : -1)); // 4 * 3 - 12 * 1 = 0
  const batch = batchOf([balanced, block]);
  const r = await RELEVANCE_MASS_ACCURACY.evaluate(context, batch, raw);
  assert(Number.isNaN(r.scores[0]) && r.reasons[0]!.includes("sum to 0"));
  const q = await RELEVANCE_MASS_ACCURACY.evaluate(context, batch, compat);
  assertEquals(q.scores[0], Infinity);
});

Deno.test("top-k: k outside 1..H*W is an InputError; ties keep pixel order", async () => {
  const batch = batchOf([ramp, block]);
  for (const k of [0, 17, 2.5]) {
    await assertRejects(
      () => TOP_K_INTERSECTION.evaluate(context, batch, { ...raw, k, conceptInfluence: false }),
      InputError,
      "k",
    );
  }
  // All equal: the stable order takes pixels 0 and 1, both inside.
  const flat = batchOf([Array(16).fill(1), block]);
  const r = await TOP_K_INTERSECTION.evaluate(context, flat, {
    ...raw,
    k: 2,
    conceptInfluence: false,
  });
  assertEquals(r.scores[0], 1);
});

Deno.test("rocAuc equals the Mann-Whitney statistic (ties count one half)", () => {
  const random = new SeededRandom(3);
  for (let trial = 0; trial < 5; trial++) {
    // Values on a coarse grid so that ties occur.
    const scores = Float32Array.from({ length: 40 }, () => Math.floor(random.uniform() * 8));
    const labels = Uint8Array.from({ length: 40 }, () => (random.uniform() < 0.3 ? 1 : 0));
    let wins = 0, pairs = 0;
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 40; j++) {
        if (labels[i] !== 1 || labels[j] !== 0) continue;
        pairs++;
        wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    assertAlmostEquals(rocAuc(scores, labels), wins / pairs, 1e-12);
  }
});

Deno.test("bad input: missing or mis-sized masks are InputErrors", async () => {
  const batch = batchOf([ramp, block]);
  const noMasks = { ...batch, masksNHW: undefined };
  const shortMasks = { ...batch, masksNHW: new Uint8Array(15) };
  for (const metric of LOCALISATION) {
    const p = { ...metric.defaults, k: 4 };
    await assertRejects(() => metric.evaluate(context, noMasks, p), InputError, "masks");
    await assertRejects(() => metric.evaluate(context, shortMasks, p), InputError, "masksNHW");
  }
});

Deno.test("inputs are never modified", async () => {
  const batch = batchOf([ramp.map((v) => v - 8), block], [offBlock, block]);
  const attributions = batch.attributionsNHW.slice();
  const masks = batch.masksNHW!.slice();
  for (const metric of LOCALISATION) {
    for (const params of [raw, compat, metric.defaults]) {
      await metric.evaluate(context, batch, {
        ...metric.defaults,
        ...params,
        k: 4,
        positiveAttributions: true,
      });
      assertEquals(batch.attributionsNHW, attributions, metric.name);
      assertEquals(batch.masksNHW, masks, metric.name);
    }
  }
});
