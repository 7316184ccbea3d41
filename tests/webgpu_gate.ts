/**
 * Gating the tests that need a WebGPU adapter (llvmpipe counts), so that a machine without one
 * reports them as skipped, with the reason, instead of failing or passing silently.
 *
 * @module
 */
import { probeWebGpu } from "../backends/backend.ts";

/**
 * Test options for the cases that need a WebGPU adapter: `{ ignore: false }` when there is one.
 * Without one it registers a single ignored test whose name says that `what` was skipped and why.
 *
 * @example
 * ```ts ignore
 * const onWebGpu = await needsWebGpu("IG WGSL kernels");
 * Deno.test({ name: "...", ...onWebGpu, fn: async () => {} });
 * ```
 */
export async function needsWebGpu(what: string): Promise<{ ignore: boolean }> {
  if ((await probeWebGpu()).available) return { ignore: false };
  Deno.test({
    name: `${what}: skipped, this machine has no WebGPU adapter (not even a software one)`,
    ignore: true,
    fn: () => {},
  });
  return { ignore: true };
}
