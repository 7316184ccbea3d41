import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { randomInt, SeededRandom, shuffle } from "../core/random.ts";

Deno.test("equal seeds give equal streams; different seeds differ", () => {
  const draw = (seed: number) =>
    Array.from({ length: 5 }, () => new SeededRandom(seed)).map((r) => r.uniform());
  assertEquals(draw(42), draw(42));
  const a = new SeededRandom(1), b = new SeededRandom(2);
  assert(a.uniform() !== b.uniform());
});

Deno.test("forks are independent of the parent's further draws", () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  b.uniform();
  b.normal();
  assertEquals(a.fork("x").uniform(), b.fork("x").uniform());
  assert(a.fork("x").uniform() !== a.fork("y").uniform());
  assert(a.fork(1).uniform() !== a.fork(2).uniform());
});

Deno.test("uniform and normal have the right moments", () => {
  const r = new SeededRandom(7);
  const n = 200_000;
  let su = 0, sn = 0, sn2 = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    su += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  assert(min >= 0 && max < 1);
  assertAlmostEquals(su / n, 0.5, 0.005);
  assertAlmostEquals(sn / n, 0, 0.01);
  assertAlmostEquals(sn2 / n, 1, 0.01);
});

Deno.test("randomInt covers its range evenly; shuffle is a permutation", () => {
  const r = new SeededRandom(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[randomInt(r, 4)]++;
  for (const c of counts) assertAlmostEquals(c, 10_000, 400);
  const items = Array.from({ length: 50 }, (_, i) => i);
  assertEquals([...shuffle(r, [...items])].sort((x, y) => x - y), items);
});
