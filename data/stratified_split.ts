/**
 * Seeded, stratified train/val/test assignment: the same for the `data:split` tool and for a
 * `labels.csv` without a split column, so both give the same split for the same seed.
 *
 * @module
 */
import { type Random, SeededRandom, shuffle } from "../core/random.ts";
import { InputError } from "../core/errors.ts";

/** The three splits, in the order ImageFolder roots hold them. */
export const SPLITS = ["train", "val", "test"] as const;

/** A split name. */
export type Split = typeof SPLITS[number];

/** Fractions of each class that go to each split; they sum to 1. */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** The reference split: 70/15/15. */
export const DEFAULT_SPLIT_FRACTIONS: Readonly<SplitFractions> = Object.freeze({
  train: 0.7,
  val: 0.15,
  test: 0.15,
});

/**
 * Parses `"0.7,0.15,0.15"` into fractions, checking they are non-negative and sum to 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseSplitFractions } from "./stratified_split.ts";
 * assert(parseSplitFractions("0.8,0.1,0.1").train === 0.8);
 * ```
 */
export function parseSplitFractions(text: string): SplitFractions {
  const parts = text.split(",").map((s) => Number(s.trim()));
  const sum = parts.reduce((a, b) => a + b, 0);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) {
    throw new InputError(`--ratios "${text}": expected three non-negative numbers train,val,test`);
  }
  if (Math.abs(sum - 1) > 1e-6) {
    throw new InputError(`--ratios "${text}": the fractions sum to ${sum}; they must sum to 1`);
  }
  return { train: parts[0], val: parts[1], test: parts[2] };
}

/**
 * How many of `n` items go to each split: the largest-remainder apportionment of
 * `n * fraction` (ties go to the earlier split), so 10 items at 70/15/15 give 7/2/1; with at
 * least 3 items, every split with a non-zero fraction gets one item or more (taken from train).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitCounts } from "./stratified_split.ts";
 * const c = splitCounts(10, { train: 0.7, val: 0.15, test: 0.15 });
 * assert(c.train === 7 && c.val === 2 && c.test === 1);
 * ```
 */
export function splitCounts(n: number, fractions: SplitFractions): Record<Split, number> {
  const counts = { train: 0, val: 0, test: 0 };
  const remainders = SPLITS.map((split) => {
    const quota = n * fractions[split];
    counts[split] = Math.floor(quota + 1e-9);
    return { split, remainder: quota - counts[split] };
  });
  let left = n - counts.train - counts.val - counts.test;
  for (const { split } of remainders.sort((a, b) => b.remainder - a.remainder)) {
    if (left-- > 0) counts[split]++;
  }
  for (const split of ["val", "test"] as const) {
    if (n >= 3 && fractions[split] > 0 && counts[split] === 0) {
      counts[split] = 1;
      counts.train--;
    }
  }
  return counts;
}

/**
 * Assigns every key to a split, stratified by its class: within each class the keys are
 * sorted, shuffled with a stream forked by class name, then cut by {@link splitCounts}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stratifiedSplit } from "./stratified_split.ts";
 * const items = Array.from({ length: 20 }, (_, i) => ({ key: `a${i}.jpg`, className: "A" }));
 * const splits = stratifiedSplit(items, 42);
 * assert([...splits.values()].filter((s) => s === "train").length === 14);
 * ```
 */
export function stratifiedSplit(
  items: readonly { key: string; className: string }[],
  seed: number,
  fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS,
): Map<string, Split> {
  const byClass = new Map<string, string[]>();
  for (const { key, className } of items) {
    const keys = byClass.get(className) ?? [];
    keys.push(key);
    byClass.set(className, keys);
  }
  const root: Random = new SeededRandom(seed).fork("stratified-split");
  const result = new Map<string, Split>();
  for (const className of [...byClass.keys()].sort()) {
    const keys = shuffle(root.fork(className), byClass.get(className)!.sort());
    const counts = splitCounts(keys.length, fractions);
    keys.forEach((key, i) => {
      result.set(key, i < counts.train ? "train" : i < counts.train + counts.val ? "val" : "test");
    });
  }
  return result;
}
