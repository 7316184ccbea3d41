/**
 * The assertions tests use, on `node:assert` (the Deno standard library's `@std/assert`
 * lives on JSR, which our machines cannot reach).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/**
 * Fails with `message` unless `condition` holds.
 *
 * @example
 * ```ts
 * import { assert } from "./assert.ts";
 * assert(1 + 1 === 2);
 * ```
 */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  nodeAssert.ok(condition, message);
}

/**
 * Deep, strict equality.
 *
 * @example
 * ```ts
 * import { assertEquals } from "./assert.ts";
 * assertEquals({ a: [1] }, { a: [1] });
 * ```
 */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message ?? "values differ");
}

/**
 * |actual − expected| ≤ tolerance.
 *
 * @example
 * ```ts
 * import { assertAlmostEquals } from "./assert.ts";
 * assertAlmostEquals(0.1 + 0.2, 0.3, 1e-12);
 * ```
 */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message?: string,
): void {
  nodeAssert.ok(
    Math.abs(actual - expected) <= tolerance,
    message ?? `expected ${actual} to be within ${tolerance} of ${expected}`,
  );
}

function checkError<E extends Error>(
  error: unknown,
  ErrorClass: new (...args: never[]) => E,
  includes?: string,
): E {
  nodeAssert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error}`);
  if (includes !== undefined) {
    nodeAssert.ok(
      (error as E).message.includes(includes),
      `expected the message to include "${includes}", got: ${(error as E).message}`,
    );
  }
  return error as E;
}

/**
 * Runs `fn`, which must throw an `ErrorClass` whose message includes `includes`; returns it.
 *
 * @example
 * ```ts
 * import { assertThrows } from "./assert.ts";
 * assertThrows(() => { throw new RangeError("too big"); }, RangeError, "big");
 * ```
 */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  ErrorClass: new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, ErrorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: `expected ${ErrorClass.name} to be thrown` });
}

/**
 * Awaits `fn`, which must reject with an `ErrorClass` whose message includes `includes`.
 *
 * @example
 * ```ts
 * import { assertRejects } from "./assert.ts";
 * await assertRejects(() => Promise.reject(new TypeError("no")), TypeError, "no");
 * ```
 */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  ErrorClass: new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, ErrorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: `expected ${ErrorClass.name} to be rejected` });
}

/**
 * Arrays agree relative to the reference's scale: max |actual − expected| ≤ tolerance ·
 * max |expected| (an all-zero reference fails, since it could not tell a broken result).
 *
 * @example
 * ```ts
 * import { assertClose } from "./assert.ts";
 * assertClose([1, 2.000001], [1, 2], 1e-6, "pair");
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  label: string,
): void {
  assertEquals(actual.length, expected.length, `${label}: length`);
  let [diff, scale] = [0, 0];
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert(scale > 0, `${label}: all-zero reference`);
  assert(diff <= tolerance * scale, `${label}: off by ${diff / scale} of the maximum`);
}
