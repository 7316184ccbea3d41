/**
 * `--limit N`: at most N samples per split, taken round-robin over the classes so a small
 * limit still covers every class (and the same N always picks the same files).
 *
 * @module
 */
import type { Sample } from "./dataset.ts";

/**
 * Keeps at most `limit` samples of each split; `undefined` keeps all.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { limitPerSplit } from "./limit.ts";
 * const s = (id: string, className: string) => ({ id, file: id, label: 0, className, split: "test" as const });
 * const kept = limitPerSplit([s("a1", "A"), s("a2", "A"), s("b1", "B")], 2);
 * assert(kept.map((x) => x.id).join() === "a1,b1");
 * ```
 */
export function limitPerSplit(samples: readonly Sample[], limit: number | undefined): Sample[] {
  if (limit === undefined) return [...samples];
  const kept = new Set<Sample>();
  for (const split of new Set(samples.map((s) => s.split))) {
    const byClass = new Map<string, Sample[]>();
    for (const s of samples) {
      if (s.split === split) byClass.set(s.className, [...(byClass.get(s.className) ?? []), s]);
    }
    const queues = [...byClass.values()];
    let taken = 0;
    for (let round = 0; taken < limit && queues.some((q) => round < q.length); round++) {
      for (const queue of queues) {
        if (taken < limit && round < queue.length) {
          kept.add(queue[round]);
          taken++;
        }
      }
    }
  }
  // Keep the data set's own order, so ids stay in file order within a split.
  return samples.filter((s) => kept.has(s));
}
