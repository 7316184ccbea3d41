/**
 * One wording for what a schema check found wrong, shared by the config and by the files runs
 * leave behind: the field, the value that was there, and what is allowed.
 *
 * @module
 */
import type { z } from "../deps.ts";

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(object: unknown, path: readonly PropertyKey[]): unknown {
  let value = object;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * `field "<path>": got <value>; <what the schema says>` for one issue of checking `candidate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { z } from "../deps.ts";
 * import { describeIssue } from "./schema_issues.ts";
 * const candidate = { imgSizePx: 100000 };
 * const result = z.object({ imgSizePx: z.number().max(2048) }).safeParse(candidate);
 * assert(!result.success);
 * assert(describeIssue(result.error.issues[0], candidate).startsWith('field "imgSizePx": got 100000;'));
 * ```
 */
export function describeIssue(issue: z.core.$ZodIssue, candidate: unknown): string {
  const field = issue.path.map(String).join(".") || "(root)";
  return `field "${field}": got ${describeValue(valueAt(candidate, issue.path))}; ${issue.message}`;
}
