/**
 * `deno task compare`: which explanation method is better, and do the metrics agree? Rebuilds
 * `<out>/results/quantus_comparisons.csv` and `<out>/results/quantus_agreement.csv` from the
 * per-image files of `quantus`, without re-scoring, and prints each metric's ranking with its
 * rank groups. `plots` rebuilds the two files itself when they are missing or stale.
 *
 * @module
 */
import {
  finiteMean,
  type MethodComparison,
  type ModelScores,
  rankMethods,
} from "../metrics/comparisons.ts";
import { comparisonFiles, writeQuantusComparisons } from "../runs/quantus_comparisons.ts";
import { selectQuantusScoreFiles } from "../runs/quantus_outputs.ts";
import { OutputSelection } from "../runs/selection.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/** Command-line description of `compare`. */
export const compareSpec: StageSpec = {
  name: "compare",
  summary: "Paired tests between methods and agreement between metrics, from quantus's CSVs.",
  shared: ["out"],
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
    "Prints each metric's methods best first with their rank groups: methods sharing a letter " +
    "do not differ significantly. See docs/metrics.md, 'Which method is better? Comparisons " +
    "and agreement'.\n" +
    "Example: deno task compare --out outputs",
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
 * Runs `compare` with parsed arguments: writes both tables and prints the rankings.
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
export async function compare({ config }: StageArgs): Promise<void> {
  const selection = await OutputSelection.open(config.out);
  const { models, comparisons, agreement } = await writeQuantusComparisons(config.out, selection);
  for (const line of (await selectQuantusScoreFiles(config.out, selection)).leftOut) {
    console.log(line);
  }
  for (const line of rankingLines(models, comparisons)) console.log(line);
  const files = comparisonFiles(config.out);
  console.log(`${comparisons.length} pair(s) -> ${files.comparisons}`);
  console.log(`${agreement.length} pair(s) of metrics -> ${files.agreement}`);
}

if (import.meta.main) Deno.exit(await runStage(compareSpec, Deno.args, compare));
