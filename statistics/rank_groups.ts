/**
 * Rank groups from all-pairwise tests, as a compact letter display (Piepho 2004, "An algorithm
 * for a letter-based representation of all-pairwise comparisons"): items that share a letter
 * are not significantly different; two items that differ significantly share none. Because "not
 * significantly different" is not transitive (A ~ B and B ~ C while A differs from C), an item
 * can carry several letters: A "a", B "ab", C "b".
 *
 * @module
 */

/**
 * The letters naming groups `groups` (0-based): a..z, then a2..z2, and so on, run together.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { groupLetters } from "./rank_groups.ts";
 * assert(groupLetters([0, 1]) === "ab" && groupLetters([25, 26]) === "za2");
 * ```
 */
export function groupLetters(groups: readonly number[]): string {
  const name = (k: number) =>
    String.fromCharCode(97 + (k % 26)) + (k < 26 ? "" : String(Math.floor(k / 26) + 1));
  return groups.map(name).join("");
}

/**
 * The groups of `count` items ordered best first (item 0 the best), given the pairs of items
 * that differ significantly. Piepho's insert-and-absorb: start with one group holding every
 * item; for each differing pair, split every group holding both into a copy without the one and
 * a copy without the other; drop groups contained in another. Groups are then lettered in the
 * order of their best item, so group 0 ("a") always holds item 0 and groups read best to worst.
 *
 * @returns for each item, the 0-based numbers of its groups in order, e.g. `[0, 1]` ("ab").
 * @throws {RangeError} for a pair naming an item outside 0..count−1 or an item with itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { groupLetters, rankGroups } from "./rank_groups.ts";
 * // best to worst A, B, C; only A and C differ: B is in both groups.
 * assert(rankGroups(3, [[0, 2]]).map(groupLetters).join() === "a,ab,b");
 * assert(rankGroups(3, []).map(groupLetters).join() === "a,a,a");
 * ```
 */
export function rankGroups(
  count: number,
  differing: readonly (readonly [number, number])[],
): number[][] {
  let groups: Set<number>[] = [new Set(Array.from({ length: count }, (_, i) => i))];
  for (const [i, j] of differing) {
    if (i === j || ![i, j].every((k) => Number.isInteger(k) && k >= 0 && k < count)) {
      throw new RangeError(`rankGroups: pair (${i}, ${j}) is not two items of 0..${count - 1}`);
    }
    groups = absorb(groups.flatMap((g) => {
      if (!g.has(i) || !g.has(j)) return [g];
      const withoutI = new Set(g), withoutJ = new Set(g);
      withoutI.delete(i);
      withoutJ.delete(j);
      return [withoutI, withoutJ];
    }));
  }
  const ordered = groups.map((g) => [...g].sort((a, b) => a - b)).sort(lexicographic);
  return Array.from(
    { length: count },
    (_, item) => ordered.flatMap((g, k) => g.includes(item) ? [k] : []),
  );
}

/** The groups that are not contained in another (of equal groups, the first is kept). */
function absorb(groups: Set<number>[]): Set<number>[] {
  const within = (a: Set<number>, b: Set<number>) => [...a].every((x) => b.has(x));
  return groups.filter((g, k) =>
    !groups.some((other, l) => l !== k && within(g, other) && (g.size < other.size || l < k))
  );
}

/** Compares sorted number lists element by element, a shorter prefix first. */
function lexicographic(a: number[], b: number[]): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k] - b[k];
  return a.length - b.length;
}
