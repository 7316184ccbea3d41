/**
 * The sanity checks' summary per model, method and similarity: the mean similarity of the
 * permuted-label model's maps to the real model's, the mean similarity between the seeds' maps,
 * each with its percentile bootstrap 95 % interval, and the verdict.
 *
 * How to read it (Adebayo et al. 2018): maps that explain what the model learned must change
 * when the model learned nothing true. Models that differ only in their seed set the yardstick
 * of "unchanged": a method whose maps for the permuted-label model are as similar to the real
 * model's as the seeds' maps are to each other fails.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import { type Random, SeededRandom } from "../core/random.ts";
import { type ScoreSummary, summariseScores } from "../metrics/summary.ts";
import type { SimilarityRow } from "./similarity_table.ts";

/** What the summary says of one method. */
export type SanityVerdict = "passes" | "fails" | "inconclusive";

/** The similarities the summary covers. */
export const SANITY_STATISTICS = ["spearman", "ssim"] as const;

/** One of {@link SANITY_STATISTICS}. */
export type SanityStatistic = (typeof SANITY_STATISTICS)[number];

/** One row of `sanity_summary.csv`. */
export interface SanitySummaryRow {
  model: string;
  method: string;
  statistic: SanityStatistic;
  /** Permuted-label model vs real model, one value per image. */
  permuted: ScoreSummary;
  /** Between seeds: per image the mean over the seed pairs. */
  seeds: ScoreSummary;
  verdict: SanityVerdict;
}

/** Columns of `sanity_summary.csv`. */
export const SUMMARY_COLUMNS = [
  "model",
  "method",
  "statistic",
  "permuted_n",
  "permuted_mean",
  "permuted_ci95_low",
  "permuted_ci95_high",
  "seeds_n",
  "seeds_mean",
  "seeds_ci95_low",
  "seeds_ci95_high",
  "verdict",
] as const;

/**
 * The verdict from the two summaries: `passes` when the permuted-label similarity's interval
 * lies wholly below the seeds' interval (the maps changed more than a new seed changes them),
 * `fails` when its mean reaches the seeds' interval (as similar as a retrained real model),
 * `inconclusive` between the two or when an interval is undefined (fewer than two values).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sanityVerdict } from "./summary.ts";
 * const s = (mean: number, ci95Low: number, ci95High: number) =>
 *   ({ n: 10, mean, std: 0.1, ci95Low, ci95High, nanCount: 0 });
 * assert(sanityVerdict(s(0.1, 0.05, 0.15), s(0.8, 0.7, 0.9)) === "passes");
 * assert(sanityVerdict(s(0.75, 0.7, 0.8), s(0.8, 0.7, 0.9)) === "fails");
 * assert(sanityVerdict(s(0.65, 0.6, 0.72), s(0.8, 0.7, 0.9)) === "inconclusive");
 * ```
 */
export function sanityVerdict(permuted: ScoreSummary, seeds: ScoreSummary): SanityVerdict {
  if ([permuted.ci95High, seeds.ci95Low].some(Number.isNaN)) return "inconclusive";
  if (permuted.ci95High < seeds.ci95Low) return "passes";
  if (permuted.mean >= seeds.ci95Low) return "fails";
  return "inconclusive";
}

/** Per image, the mean of the finite values (NaN when none). */
function meanPerImage(rows: readonly SimilarityRow[], statistic: SanityStatistic): number[] {
  const byImage = new Map<string, number[]>();
  for (const r of rows) byImage.set(r.image, [...byImage.get(r.image) ?? [], r[statistic]]);
  return [...byImage.values()].map((values) => {
    const finite = values.filter((v) => !Number.isNaN(v));
    return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
  });
}

/**
 * Summarises the rows per model, method and statistic. The bootstrap of each summary draws
 * from `SeededRandom(seed)` forked by model, method, statistic and comparison, so the intervals
 * do not depend on which other methods ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { summariseSanity } from "./summary.ts";
 * const row = (comparison: "seeds" | "data_randomisation", image: string, v: number) =>
 *   ({ model: "m", method: "x", comparison, seedA: 1, seedB: 2, image, spearman: v, ssim: v });
 * const rows = ["a", "b", "c"].flatMap((image, i) => [
 *   row("data_randomisation", image, 0.1 * i),
 *   row("seeds", image, 0.9), row("seeds", image, 0.7),
 * ]);
 * const [spearman] = summariseSanity(rows, 1);
 * assert(spearman.statistic === "spearman" && Math.abs(spearman.permuted.mean - 0.1) < 1e-12);
 * assert(Math.abs(spearman.seeds.mean - 0.8) < 1e-12 && spearman.verdict === "passes");
 * ```
 */
export function summariseSanity(rows: readonly SimilarityRow[], seed: number): SanitySummaryRow[] {
  const root = new SeededRandom(seed).fork("sanity-summary");
  const keys = [...new Set(rows.map((r) => `${r.model}\t${r.method}`))];
  return keys.flatMap((key) => {
    const [model, method] = key.split("\t");
    const mine = rows.filter((r) => r.model === model && r.method === method);
    return SANITY_STATISTICS.map((statistic): SanitySummaryRow => {
      const summary = (comparison: SimilarityRow["comparison"]) => {
        const random: Random = root.fork(`${model}/${method}/${statistic}/${comparison}`);
        const values = meanPerImage(mine.filter((r) => r.comparison === comparison), statistic);
        return summariseScores(values, random);
      };
      const permuted = summary("data_randomisation"), seeds = summary("seeds");
      return {
        model,
        method,
        statistic,
        permuted,
        seeds,
        verdict: sanityVerdict(permuted, seeds),
      };
    });
  });
}

/**
 * `sanity_summary.csv` ({@link SUMMARY_COLUMNS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { summaryCsv } from "./summary.ts";
 * const s = { n: 2, mean: 0.5, std: 0, ci95Low: 0.5, ci95High: 0.5, nanCount: 0 };
 * const csv = summaryCsv([{ model: "m", method: "x", statistic: "ssim", permuted: s, seeds: s, verdict: "fails" }]);
 * assert(csv.split("\n")[1] === "m,x,ssim,2,0.5,0.5,0.5,2,0.5,0.5,0.5,fails");
 * ```
 */
export function summaryCsv(rows: readonly SanitySummaryRow[]): string {
  const parts = (s: ScoreSummary) => [s.n, s.mean, s.ci95Low, s.ci95High];
  return stringifyCsv([
    [...SUMMARY_COLUMNS],
    ...rows.map((r) =>
      [r.model, r.method, r.statistic, ...parts(r.permuted), ...parts(r.seeds), r.verdict].map(
        String,
      )
    ),
  ]);
}
