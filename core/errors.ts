/**
 * The one error type users see: a bad input, named with where it is and how to fix it.
 *
 * Stages print its message (no stack trace) and exit non-zero; any other error is a bug
 * and keeps its stack.
 *
 * @module
 */

/**
 * An error caused by the user's input (a file, a flag, a config field), not by a bug.
 *
 * The message should name the file or field, the reason and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { InputError } from "./errors.ts";
 * try {
 *   throw new InputError("data/x.jpg: zero-byte file; remove it or pass --on-bad-image skip");
 * } catch (e) {
 *   assert(e instanceof InputError);
 * }
 * ```
 */
export class InputError extends Error {
  /** @param message what is wrong, where, and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
