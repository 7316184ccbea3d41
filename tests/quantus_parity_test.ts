/**
 * Quantus parity: every metric case in `$QUANTUS_PARITY_DIR` (default `../shared/quantus-parity`;
 * format in its README) must reproduce Quantus 0.6.0's per-sample scores — stochastic metrics fed
 * the recorded draws, tie-sensitive ones numpy's recorded sort orders — within the README's
 * tolerances. Cases Quantus failed on must fail here too (an InputError, or NaN with a reason),
 * except where the failure came from the reference environment rather than the metric.
 *
 * The test reads whatever metrics and cases the folder holds; a metric there that is not
 * implemented here fails.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { METRICS } from "../metrics/registry.ts";
import { assert } from "./assert.ts";
import {
  caseBatch,
  caseContext,
  loadQuantusFixtureSet,
  QUANTUS_PARITY_DIR,
  type QuantusCase,
  scoreDifferences,
  type Tolerance,
} from "./quantus_fixture.ts";
import { pathExists } from "./test_dirs.ts";

/** The fixture README's tolerances; the default suits results built from predictions. */
const TOLERANCES: Record<string, Tolerance> = {
  default: { atol: 1e-5, rtol: 1e-5 },
  IROF: { atol: 1e-4, rtol: 1e-5 },
  Sparseness: { atol: 1e-6, rtol: 1e-4 },
};

/** Errors raised by the reference's Python environment, not by the metric's definition. */
const ENVIRONMENT_ERRORS = ["unexpected keyword argument 'axis'"];

const available = await pathExists(`${QUANTUS_PARITY_DIR}/index.json`);
if (!available) {
  console.warn(
    `quantus parity: skipped, no fixture set at ${QUANTUS_PARITY_DIR} ` +
      "(set QUANTUS_PARITY_DIR to a folder in the quantus-parity format)",
  );
}

await startBackend("cpu");
const set = available ? await loadQuantusFixtureSet(QUANTUS_PARITY_DIR) : undefined;

async function runCase(metricName: string, c: QuantusCase): Promise<void> {
  const metric = METRICS.find((m) => m.quantusName === metricName);
  assert(metric, `${metricName} is in the fixture set but not implemented (metrics/registry.ts)`);
  const context = caseContext(set!, c);
  const batch = caseBatch(set!, c);
  try {
    if (c.status === "error") {
      let result;
      try {
        result = await metric.evaluate(
          context,
          batch,
          metric.fromQuantus(c.init_effective, c.call_effective),
        );
      } catch (e) {
        assert(
          e instanceof InputError,
          `expected an InputError like Quantus's "${c.error}", got ${e}`,
        );
        return;
      }
      assert(
        result.scores.every((s) => Number.isNaN(s)) && result.reasons.every((r) => r),
        `Quantus raised "${c.error}"; expected an InputError or NaN with reasons, got ${result.scores}`,
      );
      return;
    }
    const params = metric.fromQuantus(c.init_effective, c.call_effective);
    const result = await metric.evaluate(context, batch, params);
    const tolerance = TOLERANCES[metricName] ?? TOLERANCES.default;
    const differences = scoreDifferences(metric.toQuantus(result, params), c.scores, tolerance);
    assert(
      differences.length === 0,
      `${differences.length} differences from Quantus:\n  ${differences.slice(0, 12).join("\n  ")}`,
    );
    assert(
      context.draws.remaining === 0,
      `${context.draws.remaining} recorded draws were not used: the draw order differs from Quantus's`,
    );
    result.scores.forEach((s, i) =>
      assert(!Number.isNaN(s) || result.reasons[i], `image ${i}: NaN without a reason`)
    );
  } finally {
    context.model.dispose();
  }
}

for (const metricName of Object.keys(set?.metrics ?? { fixtures: "" })) {
  const file = set ? await set.readMetric(metricName) : undefined;
  for (const c of file?.cases ?? [undefined]) {
    const environmental = c?.status === "error" &&
      ENVIRONMENT_ERRORS.some((e) => c.error?.includes(e));
    Deno.test({
      name: `Quantus parity: ${metricName} ${c?.case ?? ""}`.trim(),
      ignore: !set || environmental,
      sanitizeResources: false,
      fn: () => runCase(metricName, c!),
    });
    if (environmental) {
      console.warn(
        `quantus parity: ${metricName} ${c!.case} skipped: Quantus failed in its environment ` +
          `("${c!.error}"), not in the metric; no reference scores exist`,
      );
    }
  }
}

Deno.test("Quantus parity: the fixture model reproduces the recorded logits", {
  ignore: !set,
}, async () => {
  const raw = JSON.parse(await Deno.readTextFile(`${QUANTUS_PARITY_DIR}/model_and_inputs.json`));
  const expected: number[] = raw.inputs.logits.data;
  const logits = set!.model.predict(tf.tensor4d(set!.xNHWC, set!.shapeNHWC)) as tf.Tensor;
  const actual = await logits.data();
  logits.dispose();
  const worst = Math.max(...expected.map((e, i) => Math.abs(actual[i] - e)));
  assert(worst < 1e-5, `largest logit difference ${worst}`);
});
