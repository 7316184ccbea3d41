/**
 * Quantus parity: every metric case in `$QUANTUS_PARITY_DIR` (default `../shared/quantus-parity`)
 * and `$QUANTUS_PARITY_MORE_DIR` (default `../shared/quantus-parity-more`; format in their
 * READMEs) must reproduce Quantus's per-sample scores — stochastic metrics fed the recorded draws,
 * tie-sensitive ones numpy's recorded sort orders — within the READMEs' tolerances. Cases Quantus
 * failed on must fail here too (an InputError, or NaN with a reason), except where the failure
 * came from the reference environment rather than the metric.
 *
 * The test reads whatever metrics and cases each folder holds; a metric there that is not
 * implemented here fails. A missing folder skips its tests with a warning.
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { startBackend } from "../backends/backend.ts";
import { METRICS } from "../metrics/registry.ts";
import { assert } from "./assert.ts";
import {
  caseContext,
  decodeNumber,
  explainedCaseBatch,
  loadQuantusFixtureSet,
  QUANTUS_PARITY_DIR,
  QUANTUS_PARITY_MORE_DIR,
  type QuantusCase,
  type QuantusFixtureSet,
  scoreDifferences,
  type Tolerance,
} from "./quantus_fixture.ts";
import { pathExists } from "./test_dirs.ts";

/** A fixture folder and the tolerances its README gives (`default` for the metrics it leaves out). */
interface FixtureFolder {
  /** Appended to "Quantus parity" in the test names. */
  label: string;
  dir: string;
  /** The environment variable that overrides `dir`. */
  variable: string;
  tolerances: Record<string, Tolerance>;
}

const FOLDERS: FixtureFolder[] = [
  {
    label: "",
    dir: QUANTUS_PARITY_DIR,
    variable: "QUANTUS_PARITY_DIR",
    // The default suits results built from predictions.
    tolerances: {
      default: { atol: 1e-5, rtol: 1e-5 },
      IROF: { atol: 1e-4, rtol: 1e-5 },
      Sparseness: { atol: 1e-6, rtol: 1e-4 },
    },
  },
  {
    label: " (more)",
    dir: QUANTUS_PARITY_MORE_DIR,
    variable: "QUANTUS_PARITY_MORE_DIR",
    // The default suits results computed from recorded explanations, draws and masks.
    tolerances: {
      default: { atol: 1e-9, rtol: 1e-9 },
      SensitivityN: { atol: 1e-4, rtol: 0 },
      Infidelity: { atol: 1e-4, rtol: 0 },
      Continuity: { atol: 0, rtol: 1e-4 },
      RelativeInputStability: { atol: 0, rtol: 1e-4 },
      RelativeOutputStability: { atol: 0, rtol: 1e-4 },
      // Divides by hidden activations close to zero, which amplifies float32 differences.
      RelativeRepresentationStability: { atol: 0, rtol: 2e-3 },
      NonSensitivity: { atol: 0, rtol: 0 },
      // A float32 ratio; where Quantus explained (a_batch null) our gradients differ from torch's
      // in the last bits, which moves the ratio by up to 2 float32 ulps.
      Focus: { atol: 0, rtol: 2.5e-7 },
      // Re-explains each randomised model: our float32 gradients differ from torch's in the last
      // bit, which swaps a few near-tied ranks (one swap moves a 784-pixel Spearman by ~1e-6);
      // from the recorded maps the scores are exact (1e-16).
      SmoothMPRT: { atol: 5e-5, rtol: 0 },
    },
  },
];

/** Errors raised by the reference's Python environment, not by the metric's definition. */
const ENVIRONMENT_ERRORS = ["unexpected keyword argument 'axis'"];

/**
 * Metrics whose `tie_sensitive_samples` no recorded order replays (MSTC: ties among equal grid
 * distances in its k-nearest-neighbour graph): those samples may differ.
 */
const UNREPLAYABLE_TIES = ["MSTC"];

/**
 * How far each sample's score may legitimately differ beyond the tolerance: unreplayable ties
 * (any amount) and `threshold_sensitive_samples` (NonSensitivity's counts, by at most
 * `extra.near_eps_pixels` of that sample).
 */
function sampleAllowances(metricName: string, c: QuantusCase): Map<number, number> {
  const allowances = new Map<number, number>();
  if (UNREPLAYABLE_TIES.includes(metricName)) {
    for (const i of c.tie_sensitive_samples ?? []) allowances.set(i, Infinity);
  }
  const nearEps = c.extra?.near_eps_pixels as unknown[] | undefined;
  for (const i of c.threshold_sensitive_samples ?? []) {
    allowances.set(i, nearEps ? decodeNumber(nearEps[i]) : 0);
  }
  return allowances;
}

/** Where the scores differ from the case's, within the tolerance and each sample's allowance. */
function caseDifferences(
  metricName: string,
  c: QuantusCase,
  actual: unknown,
  tolerance: Tolerance,
): string[] {
  const allowances = sampleAllowances(metricName, c);
  if (!allowances.size || !Array.isArray(c.scores) || !Array.isArray(actual)) {
    return scoreDifferences(actual, c.scores, tolerance);
  }
  if (actual.length !== c.scores.length) {
    return [`scores: expected a list of ${c.scores.length}, got ${actual.length} values`];
  }
  return c.scores.flatMap((expected, i) =>
    scoreDifferences(
      actual[i],
      expected,
      { ...tolerance, atol: tolerance.atol + (allowances.get(i) ?? 0) },
      `scores[${i}]`,
    )
  );
}

/**
 * The case's Quantus settings as `fromQuantus` reads them, with `quantus_version: "main"` for a
 * case computed on Quantus's main branch (its `source_tree`), where some 0.6.0 defects are fixed.
 */
function quantusInit(c: QuantusCase): Record<string, unknown> {
  const main = c.source_tree?.startsWith("Quantus main") ?? false;
  return main ? { ...c.init_effective, quantus_version: "main" } : c.init_effective;
}

await startBackend("cpu");

async function runCase(
  folder: FixtureFolder,
  set: QuantusFixtureSet,
  metricName: string,
  c: QuantusCase,
): Promise<void> {
  const metric = METRICS.find((m) => m.quantusName === metricName);
  assert(metric, `${metricName} is in the fixture set but not implemented (metrics/registry.ts)`);
  const context = caseContext(set, c);
  try {
    const batch = await explainedCaseBatch(set, c, context);
    if (c.status === "error") {
      let result;
      try {
        result = await metric.evaluate(
          context,
          batch,
          metric.fromQuantus(quantusInit(c), c.call_effective),
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
    const params = metric.fromQuantus(quantusInit(c), c.call_effective);
    const result = await metric.evaluate(context, batch, params);
    const tolerance = folder.tolerances[metricName] ?? folder.tolerances.default;
    const differences = caseDifferences(
      metricName,
      c,
      metric.toQuantus(result, params),
      tolerance,
    );
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

for (const folder of FOLDERS) {
  const available = await pathExists(`${folder.dir}/index.json`);
  if (!available) {
    console.warn(
      `quantus parity${folder.label}: skipped, no fixture set at ${folder.dir} ` +
        `(set ${folder.variable} to a folder in the quantus-parity format)`,
    );
  }
  const set = available ? await loadQuantusFixtureSet(folder.dir) : undefined;
  for (const metricName of Object.keys(set?.metrics ?? { fixtures: "" })) {
    const file = set ? await set.readMetric(metricName) : undefined;
    for (const c of file?.cases ?? [undefined]) {
      const environmental = c?.status === "error" &&
        ENVIRONMENT_ERRORS.some((e) => c.error?.includes(e));
      Deno.test({
        name: `Quantus parity${folder.label}: ${metricName} ${c?.case ?? ""}`.trim(),
        ignore: !set || environmental,
        sanitizeResources: false,
        fn: () => runCase(folder, set!, metricName, c!),
      });
      if (environmental) {
        console.warn(
          `quantus parity${folder.label}: ${metricName} ${
            c!.case
          } skipped: Quantus failed in its ` +
            `environment ("${c!.error}"), not in the metric; no reference scores exist`,
        );
      }
    }
  }

  Deno.test(`Quantus parity${folder.label}: the fixture model reproduces the recorded logits`, {
    ignore: !set,
  }, async () => {
    const raw = JSON.parse(await Deno.readTextFile(`${folder.dir}/model_and_inputs.json`));
    const expected: number[] = raw.inputs.logits.data;
    const logits = set!.model.predict(tf.tensor4d(set!.xNHWC, set!.shapeNHWC)) as tf.Tensor;
    const actual = await logits.data();
    logits.dispose();
    const worst = Math.max(...expected.map((e, i) => Math.abs(actual[i] - e)));
    assert(worst < 1e-5, `largest logit difference ${worst}`);
  });

  Deno.test(`Quantus parity${folder.label}: the mosaic model sums the quadrants' logits`, {
    ignore: !set?.mosaics,
  }, async () => {
    const raw = JSON.parse(await Deno.readTextFile(`${folder.dir}/model_and_inputs.json`));
    const logits: number[] = raw.inputs.logits.data;
    const k = set!.numClasses;
    const { model, xNHWC, shapeNHWC } = set!.mosaics!;
    const out = model.predict(tf.tensor4d(xNHWC, shapeNHWC)) as tf.Tensor;
    const actual = await out.data();
    out.dispose();
    (raw.mosaics.indices as number[][]).forEach((quadrants, m) => {
      for (let j = 0; j < k; j++) {
        const expected = quadrants.reduce((sum, i) => sum + logits[i * k + j], 0);
        const difference = Math.abs(actual[m * k + j] - expected);
        assert(difference < 1e-4, `mosaic ${m} class ${j}: difference ${difference}`);
      }
    });
  });
}
