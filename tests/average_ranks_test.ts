/** The comparator-free rank path for float32 maps gives the same ranks as sorting indices. */
import { SeededRandom } from "../core/random.ts";
import { averageRanks } from "../statistics/ranks.ts";
import { assertEquals } from "./assert.ts";

Deno.test("averageRanks: float32 fast path equals the general path, ties and signed zeros included", () => {
  const random = new SeededRandom(11);
  for (const size of [1, 7, 1000, 50176]) {
    // Few distinct values (many ties), negatives, -0 and +0, infinities.
    const pool = [-Infinity, -3.5, -1e-30, -0, 0, 1e-30, 2, 2.5, 1e20, Infinity];
    const values = Float32Array.from(
      { length: size },
      (_, i) =>
        i % 3 === 0 ? pool[Math.floor(random.uniform() * pool.length)] : random.uniform() * 2 - 1,
    );
    const general = averageRanks(Array.from(values));
    assertEquals([...averageRanks(values)], [...general], `size ${size}`);
  }
  const withNaN = Float32Array.of(1, NaN, 0);
  assertEquals(averageRanks(withNaN).length, 3);
});
