import { assert, assertEquals } from "./assert.ts";
import { describeBackend, probeWebGpu, resolveBackend, startBackend } from "../backends/backend.ts";
import { tf } from "../deps.ts";

Deno.test("auto: webgpu on a real GPU, wasm on the software adapter or none", () => {
  assertEquals(
    resolveBackend("auto", { available: true, adapter: "H100", isFallbackAdapter: false }).name,
    "webgpu",
  );
  assertEquals(
    resolveBackend("auto", { available: true, adapter: "llvmpipe", isFallbackAdapter: true }).name,
    "wasm",
  );
  assertEquals(resolveBackend("auto", { available: false }).name, "wasm");
  assertEquals(resolveBackend("cpu", { available: false }).name, "cpu");
});

Deno.test("an explicit wasm or cpu does not ask for a WebGPU adapter, and the line says nothing of one", () => {
  for (const name of ["wasm", "cpu"] as const) {
    const choice = resolveBackend(name);
    assertEquals(choice, { name, webGpuProbed: false, reason: "requested" });
    assert(!describeBackend(choice).includes("WebGPU"), describeBackend(choice));
  }
  assertEquals(
    describeBackend(resolveBackend("auto", { available: false })).includes("no WebGPU adapter"),
    true,
  );
  let message = "";
  try {
    resolveBackend("auto");
  } catch (error) {
    message = (error as Error).message;
  }
  assert(message.includes("probeWebGpu"), message);
});

Deno.test("asking for webgpu without an adapter runs wasm and says the TypeScript kernels are used", () => {
  const choice = resolveBackend("webgpu", { available: false });
  assertEquals(choice.name, "wasm");
  const line = describeBackend(choice);
  assert(line.includes("TypeScript kernels") && !line.includes("\n"), line);
  assertEquals(
    resolveBackend("webgpu", { available: true, adapter: "llvmpipe", isFallbackAdapter: true })
      .name,
    "webgpu",
  );
});

Deno.test("the start-up line names backend, reason and adapter", () => {
  const line = describeBackend({
    name: "wasm",
    webGpuProbed: true,
    reason: "auto",
    adapter: "llvmpipe",
    isFallbackAdapter: true,
  });
  assert(
    line.includes("wasm") && line.includes("llvmpipe") && line.includes("software fallback"),
    line,
  );
});

Deno.test("each available backend starts and computes", async () => {
  const probe = await probeWebGpu();
  const names = probe.available ? ["wasm", "cpu", "webgpu"] as const : ["wasm", "cpu"] as const;
  for (const name of names) {
    const choice = await startBackend(name);
    assertEquals(tf.getBackend(), choice.name);
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1));
    assertEquals(Array.from(await sum.data()), [2, 3]);
    sum.dispose();
  }
});
