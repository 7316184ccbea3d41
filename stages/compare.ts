/**
 * `deno task compare`: which explanation method is better, do the metrics agree, and do they
 * agree with the ground truth? Rebuilds `<out>/results/quantus_comparisons.csv`,
 * `quantus_agreement.csv`, `quantus_validity.csv` (where a data set has evidence masks) and
 * `quantus_report_card.csv` from the per-image files of `quantus`, without re-scoring, and
 * prints each metric's ranking with its rank groups and each metric's report card. `plots`
 * rebuilds the files itself when they are missing or stale.
 *
 * @module
 */
import {
  finiteMean,
  type MethodComparison,
  type ModelScores,
  rankMethods,
} from "../metrics/comparisons.ts";
import type { ReportCard } from "../metrics/report_card.ts";
import {
  DEFAULT_VALIDITY_REFERENCE,
  GROUND_TRUTH_METRICS,
  validityReference,
} from "../metrics/validity.ts";
import { comparisonFiles, writeQuantusComparisons } from "../runs/quantus_comparisons.ts";
import { selectQuantusScoreFiles } from "../runs/quantus_outputs.ts";
import { OutputSelection } from "../runs/selection.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `compare`. */
export const compareSpec: StageSpec = {
  name: "compare",
  summary: "Paired tests between methods, agreement between metrics and with ground truth, " +
    "from quantus's CSVs.",
  shared: ["out"],
  flags: {
    "validity-reference": {
      type: "string",
      valueName: "METRIC",
      help: "the ground-truth metric whose ranking of the methods validity compares with " +
        `(default ${DEFAULT_VALIDITY_REFERENCE}; any of ${GROUND_TRUTH_METRICS.join(", ")})`,
    },
  },
  details: "Reads <out>/metrics/quantus_<model>_<method>.csv (and the directions in " +
    "<out>/results/quantus_summary.csv); re-scores nothing. Files of another checkpoint or of " +
    "another data set than the model's training data are left out, one line each " +
    "(docs/runs.md).\n" +
    "Writes <out>/results/quantus_comparisons.csv: per model, metric and pair of methods, the " +
    "mean paired difference with its bootstrap 95% CI, the Wilcoxon signed-rank p, Holm's " +
    "adjusted p and the better method (p_holm < 0.05, direction-aware); images where either " +
    "score is NaN are left out of that pair (n counts the rest).\n" +
    "Writes <out>/results/quantus_agreement.csv: per model and pair of metrics, Kendall's tau " +
    "between their rankings of the methods (lower-is-better metrics flipped), by mean and per " +
    "image.\n" +
    "Writes <out>/results/quantus_validity.csv where the reference metric was scored (data with " +
    "evidence masks, e.g. deno task data:synth): per model and metric, Kendall's tau between " +
    "its ranking of the methods (controls included) and the reference's, by mean with a " +
    "bootstrap 95% CI over the images and per image; elsewhere one line on stderr says why it " +
    "is absent.\n" +
    "Writes <out>/results/quantus_report_card.csv: per model and metric, validity, mean " +
    "agreement with the other metrics, and MetaQuantus's noise resilience and reactivity " +
    '(from deno task meta\'s results/meta_evaluation.csv; "not computed" for a metric it has ' +
    "not run).\n" +
    "Prints each metric's methods best first with their rank groups: methods sharing a letter " +
    "do not differ significantly, and each metric's report card. See docs/metrics.md, " +
    "'Which method? How to read the comparisons, agreement, validity and report card'.\n" +
    "Example: deno task compare --out outputs --validity-reference pointing_game",
};

/**
 * One line per model and metric: the methods best first by mean, each with its group letters.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rankingLines } from "./compare.ts";
 * const up = (...v: number[]) => Float64Array.from(v);
 * const lines = rankingLines(
 *   [{ model: "m", images: ["i"], methods: ["a", "b"], metrics: [
 *     { metric: "x", direction: "lower", scores: new Map([["a", up(2)], ["b", up(1)]]) },
 *   ] }],
 *   [{ model: "m", metric: "x", methodA: "a", methodB: "b", n: 1, meanDiff: 1, ciLow: NaN,
 *     ciHigh: NaN, p: 1, pHolm: 1, better: "" }],
 * );
 * assert(lines[0] === "m x (lower is better), best first: b [a], a [a]");
 * ```
 */
export function rankingLines(
  models: readonly ModelScores[],
  comparisons: readonly MethodComparison[],
): string[] {
  return models.flatMap((table) =>
    table.metrics.map((metric) => {
      const ranked = rankMethods(
        [...metric.scores].map(([method, scores]) => ({ method, mean: finiteMean(scores) })),
        metric.direction,
        comparisons.filter((c) => c.model === table.model && c.metric === metric.metric),
      );
      const order = ranked.map((r) => `${r.method} [${r.letters}]`).join(", ");
      return `${table.model} ${metric.metric} (${metric.direction} is better), best first: ${order}`;
    })
  );
}

/**
 * One line per report card: the metric's validity with its interval (or why absent) and its
 * mean agreement; MetaQuantus's criteria only once computed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reportCardLines } from "./compare.ts";
 * const [line] = reportCardLines([{ model: "m", metric: "x", direction: "higher",
 *   validityReference: "pointing_game", validityTau: 0.5, validityCiLow: 0.2, validityCiHigh: 0.8,
 *   validityImages: 9, validityNote: "", agreementTau: -0.25, agreementMetrics: 3 }]);
 * assert(line === "m x report card: validity tau 0.50 [0.20, 0.80] vs pointing_game on 9 " +
 *   "image(s); agreement tau -0.25 with 3 metric(s); noise resilience, reactivity not computed");
 * ```
 */
export function reportCardLines(cards: readonly ReportCard[]): string[] {
  const two = (x: number) => Number.isNaN(x) ? "NaN" : x.toFixed(2);
  return cards.map((c) => {
    const validity = Number.isNaN(c.validityTau)
      ? `validity absent vs ${c.validityReference}`
      : `validity tau ${two(c.validityTau)} [${two(c.validityCiLow)}, ${two(c.validityCiHigh)}] ` +
        `vs ${c.validityReference} on ${c.validityImages} image(s)`;
    const criteria = [
      ["noise resilience", c.noiseResilience],
      ["reactivity", c.reactivity],
    ] as const;
    const computed = criteria.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${two(v!)}`);
    const missing = criteria.filter(([, v]) => v === undefined).map(([k]) => k);
    return `${c.model} ${c.metric} report card: ${validity}; agreement tau ` +
      `${two(c.agreementTau)} with ${c.agreementMetrics} metric(s); ` +
      [...computed, ...(missing.length > 0 ? [`${missing.join(", ")} not computed`] : [])]
        .join("; ");
  });
}

/**
 * Runs `compare` with parsed arguments: writes the tables and prints the rankings and report
 * cards; a model without validity gets one line on stderr saying why.
 *
 * @throws {InputError} when `<out>/metrics` holds no per-image file.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { compare, compareSpec } from "./compare.ts";
 * await compare((await parseStageArgs(compareSpec, ["--out", "outputs"]))!);
 * ```
 */
export async function compare({ config, flags }: StageArgs): Promise<void> {
  const reference = validityReference(flags["validity-reference"] as string | undefined);
  const selection = await OutputSelection.open(config.out);
  const { models, comparisons, agreement, validity, reportCard, validityAbsent } =
    await writeQuantusComparisons(config.out, selection, reference);
  for (const line of (await selectQuantusScoreFiles(config.out, selection)).leftOut) {
    console.log(line);
  }
  for (const line of rankingLines(models, comparisons)) console.log(line);
  for (const line of reportCardLines(reportCard)) console.log(line);
  for (const line of validityAbsent) console.error(line);
  const files = comparisonFiles(config.out);
  console.log(`${comparisons.length} pair(s) -> ${files.comparisons}`);
  console.log(`${agreement.length} pair(s) of metrics -> ${files.agreement}`);
  if (validity.length > 0) console.log(`${validity.length} metric(s) -> ${files.validity}`);
  console.log(`${reportCard.length} report card(s) -> ${files.reportCard}`);
}

if (import.meta.main) Deno.exit(await runStage(compareSpec, Deno.args, compare));
