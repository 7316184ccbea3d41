/**
 * Choosing and starting the tfjs backend, once per process, before any tensor exists.
 *
 * `auto` picks webgpu only on a real GPU: on a machine whose only WebGPU adapter is the
 * software fallback (llvmpipe), wasm is ~30x faster (see BENCHMARKS.md), so it wins there.
 * `webgpu` on a machine with no adapter at all runs on wasm, and the start-up line says that
 * the explainers use their TypeScript kernels instead of the WGSL ones.
 *
 * @module
 */
// deps.ts also imports the wasm and webgpu backends, which registers them with tfjs.
import { tf, type tfWasm } from "../deps.ts";
import { BACKEND_NAMES } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import {
  DEFAULT_HEAP_BUDGET_MB,
  type EmscriptenAllocator,
  guardHeap,
  setHeapBudgetMb,
} from "./heap.ts";
import { registerFastWasmKernels } from "./wasm/register_wasm_kernels.ts";
import { loadOpenBlas } from "./openblas/openblas.ts";
import { registerBlasConvolutions, unregisterBlasConvolutions } from "./openblas/blas_conv2d.ts";

/** A backend tfjs can run on. */
export type BackendName = "webgpu" | "wasm" | "cpu";

/** The backends a script can name outright: the config's choices but "auto". */
const NAMED_BACKENDS = BACKEND_NAMES.filter((name) => name !== "auto") as readonly string[];

/**
 * `value` as a {@link BackendName}, for scripts that take one fixed backend (benchmarks).
 *
 * @throws {InputError} naming `flag` and the choices, for anything else (also "auto").
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { backendName } from "./backend.ts";
 * assert(backendName("webgpu", "bench/x.ts --backend") === "webgpu");
 * assert.throws(() => backendName("auto", "bench/x.ts --backend"), /choose one of webgpu, wasm, cpu/);
 * ```
 */
export function backendName(value: string, flag: string): BackendName {
  if (!NAMED_BACKENDS.includes(value)) {
    throw new InputError(`${flag} ${value}: choose one of ${NAMED_BACKENDS.join(", ")}`);
  }
  return value as BackendName;
}

/** What was asked for and what was started. */
export interface BackendChoice {
  name: BackendName;
  /**
   * False when WebGPU was not asked about: an explicit `wasm` or `cpu` skips the probe, which
   * starts a Vulkan instance (on CPU machines the llvmpipe one) that the run would never use.
   */
  webGpuProbed: boolean;
  /** The WebGPU adapter's description, when one was found. */
  adapter?: string;
  /** True when the adapter is a software (CPU) implementation. */
  isFallbackAdapter?: boolean;
  /** Why this backend was chosen, for the start-up line. */
  reason: string;
  /** wasm only: the OpenBLAS library its convolutions run on, when one was loaded. */
  openBlas?: string;
  /** wasm only: OpenBLAS was asked for but could not be loaded. */
  openBlasMissing?: boolean;
}

/** How to start a backend. */
export interface StartOptions {
  /**
   * wasm only: run convolutions on the system's OpenBLAS when it is installed and `--allow-ffi`
   * grants its path; default false: tfjs's own XNNPACK ones, whose results do not depend on a
   * pixel's position (see `backends/openblas/blas_conv2d.ts` on why that matters for ties).
   */
  openBlas?: boolean;
  /**
   * The heap budget batched passes size their chunks by, in MiB (`backends/heap.ts`); default
   * {@link DEFAULT_HEAP_BUDGET_MB}.
   */
  heapBudgetMb?: number;
}

/** What this machine offers through WebGPU. */
export interface WebGpuProbe {
  available: boolean;
  adapter?: string;
  isFallbackAdapter?: boolean;
}

/**
 * Asks for a WebGPU adapter without starting tfjs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { probeWebGpu } from "./backend.ts";
 * const probe = await probeWebGpu();
 * assert(typeof probe.available === "boolean");
 * ```
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { available: false };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { available: false };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = Boolean(
    info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  const adapterName = info.description || info.device || info.vendor || "unnamed adapter";
  return { available: true, adapter: adapterName, isFallbackAdapter: fallback };
}

/**
 * The backend `requested` resolves to on a machine with this WebGPU probe (pure; no side effects);
 * `probe` may be omitted for `wasm` and `cpu`, which need none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveBackend } from "./backend.ts";
 * const choice = resolveBackend("auto", { available: true, adapter: "llvmpipe", isFallbackAdapter: true });
 * assert(choice.name === "wasm");
 * ```
 */
export function resolveBackend(
  requested: BackendName | "auto",
  probe?: WebGpuProbe,
): BackendChoice {
  if (!probe) {
    if (requested === "wasm" || requested === "cpu") {
      return { name: requested, webGpuProbed: false, reason: "requested" };
    }
    throw new Error(`resolveBackend: "${requested}" needs a WebGPU probe (probeWebGpu())`);
  }
  const adapter = {
    webGpuProbed: true,
    adapter: probe.adapter,
    isFallbackAdapter: probe.isFallbackAdapter,
  };
  if (requested === "webgpu" && !probe.available) {
    // The start-up line carries the notice; the explainers' kernels follow the backend.
    return {
      name: "wasm",
      ...adapter,
      reason: "webgpu requested, but no WebGPU adapter: wasm, with the TypeScript kernels " +
        "instead of WGSL",
    };
  }
  if (requested !== "auto") return { name: requested, ...adapter, reason: "requested" };
  if (probe.available && !probe.isFallbackAdapter) {
    return { name: "webgpu", ...adapter, reason: "auto: real GPU adapter" };
  }
  const why = probe.available ? "only a software WebGPU adapter" : "no WebGPU adapter";
  return { name: "wasm", ...adapter, reason: `auto: ${why}, wasm is faster` };
}

/**
 * Starts the backend for `requested` and returns what was chosen; call before creating tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startBackend } from "./backend.ts";
 * const choice = await startBackend("cpu");
 * assert(choice.name === "cpu");
 * ```
 */
export async function startBackend(
  requested: BackendName | "auto",
  { openBlas = false, heapBudgetMb = DEFAULT_HEAP_BUDGET_MB }: StartOptions = {},
): Promise<BackendChoice> {
  setHeapBudgetMb(heapBudgetMb);
  const needsProbe = requested === "auto" || requested === "webgpu";
  const choice = resolveBackend(requested, needsProbe ? await probeWebGpu() : undefined);
  // Prod mode drops tfjs's debug checks and its "install tfjs-node" banner under Deno.
  tf.enableProdMode();
  // Stock wasm lacks the filter and depthwise gradient kernels (it cannot train) and runs the
  // input gradient as a naive loop.
  if (choice.name === "wasm") registerFastWasmKernels();
  const blas = choice.name === "wasm" && openBlas ? loadOpenBlas() : undefined;
  if (blas) {
    registerBlasConvolutions(blas);
    choice.openBlas = blas.path;
  } else {
    unregisterBlasConvolutions();
    if (choice.name === "wasm" && openBlas) choice.openBlasMissing = true;
  }
  if (!(await tf.setBackend(choice.name))) {
    if (choice.name === "wasm") {
      // Run from a URL, the .wasm file lies in Deno's npm cache, outside the project folder.
      throw new InputError(
        "--backend wasm: tfjs could not load its .wasm file; when running mod.ts from a URL, " +
          "also grant read access to Deno's npm cache (the npmCache folder `deno info` prints, " +
          "e.g. --allow-read=.,$HOME/.cache/deno/npm), or pass --backend cpu",
      );
    }
    throw new Error(`tfjs could not start the ${choice.name} backend`);
  }
  await tf.ready();
  // An allocation the heap cannot take throws instead of handing tfjs address 0.
  if (choice.name === "wasm") {
    guardHeap((tf.backend() as tfWasm.BackendWasm).wasm as unknown as EmscriptenAllocator);
  }
  return choice;
}

/**
 * The start-up line every stage prints.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { describeBackend } from "./backend.ts";
 * const line = describeBackend({ name: "wasm", webGpuProbed: false, reason: "requested" });
 * assert(line === "backend: wasm (requested); convolutions on XNNPACK");
 * ```
 */
export function describeBackend(choice: BackendChoice): string {
  const adapter = !choice.webGpuProbed
    ? ""
    : choice.adapter
    ? `; WebGPU adapter: ${choice.adapter}${choice.isFallbackAdapter ? " (software fallback)" : ""}`
    : "; no WebGPU adapter";
  const convolutions = choice.name !== "wasm"
    ? ""
    : choice.openBlas
    ? `; convolutions on OpenBLAS (${choice.openBlas})`
    : choice.openBlasMissing
    ? "; convolutions on XNNPACK: OpenBLAS not found (install it, e.g. apt install libopenblas0, " +
      "and run through the deno.json tasks, which grant --allow-ffi for it)"
    : "; convolutions on XNNPACK";
  return `backend: ${choice.name} (${choice.reason})${adapter}${convolutions}`;
}
