/**
 * The heap budget and heap failures.
 *
 * The wasm backend keeps every tensor of the process in one 32-bit wasm memory: 4 GiB at most,
 * never shrinking. Batched paths (Integrated Gradients' path rows, SmoothGrad's samples, LIME's
 * and Occlusion's copies, the metrics' model calls) size their chunks to stay within a
 * **budget** of it (`graph/footprint.ts` turns a model's activation footprint and the budget
 * into rows per pass). The budget is process-wide: the stages set it from `--heap-budget-mb`
 * through `startBackend`, library code only reads it.
 *
 * When the heap runs out anyway, the failure must be a plain error, not a corrupted heap: the
 * backend's allocator returns address 0 when the memory cannot grow, and tfjs uses that address
 * unchecked, so tensors overwrite the module's static data and the process later dies far from
 * the cause ("memory access out of bounds", "table index is out of bounds"). {@link guardHeap}
 * turns that 0 into a {@link HeapExhaustedError}; {@link heapFailure} recognises that and the
 * traps a wasm abort throws, so that a stage reports them in one line.
 *
 * @module
 */
import { DEFAULT_CONFIG } from "../core/config.ts";
import { InputError } from "../core/errors.ts";

/**
 * The default heap budget, in MiB (the config's `heapBudgetMb`): 2.5 GiB of the 4 GiB wasm
 * memory, which leaves room for what the estimates of `graph/footprint.ts` miss (allocator
 * fragmentation, kernel work areas).
 */
export const DEFAULT_HEAP_BUDGET_MB: number = DEFAULT_CONFIG.heapBudgetMb;

/** The largest wasm heap: a 32-bit memory, less one 64 KiB page (Emscripten's limit). */
export const WASM_HEAP_LIMIT_BYTES = 2 ** 32 - 2 ** 16;

const MB = 2 ** 20;

let budgetMb = DEFAULT_HEAP_BUDGET_MB;

/**
 * Sets the process's heap budget (the stages pass `--heap-budget-mb` through `startBackend`).
 *
 * @throws {InputError} for a budget that is not a number from 64 to 4095 MiB.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_HEAP_BUDGET_MB, heapBudgetBytes, setHeapBudgetMb } from "./heap.ts";
 * setHeapBudgetMb(1024);
 * assert(heapBudgetBytes() === 2 ** 30);
 * setHeapBudgetMb(DEFAULT_HEAP_BUDGET_MB);
 * ```
 */
export function setHeapBudgetMb(mb: number): void {
  if (!Number.isFinite(mb) || mb < 64 || mb * MB > WASM_HEAP_LIMIT_BYTES) {
    throw new InputError(
      `--heap-budget-mb ${mb}: give the MiB that batched model passes may fill, from 64 to ` +
        `${Math.floor(WASM_HEAP_LIMIT_BYTES / MB)} (default ${DEFAULT_HEAP_BUDGET_MB})`,
    );
  }
  budgetMb = mb;
}

/**
 * The heap budget in bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_HEAP_BUDGET_MB, heapBudgetBytes } from "./heap.ts";
 * assert(heapBudgetBytes() === DEFAULT_HEAP_BUDGET_MB * 2 ** 20);
 * ```
 */
export function heapBudgetBytes(): number {
  return budgetMb * MB;
}

/** The heap budget in MiB, for messages. */
export function heapBudgetMb(): number {
  return budgetMb;
}

/**
 * The heap ran out, or a wasm kernel trapped (most likely for want of memory). A user can act on
 * it (a smaller budget, fewer images per call), so stages print its message in one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { InputError } from "../core/errors.ts";
 * import { HeapExhaustedError } from "./heap.ts";
 * assert(new HeapExhaustedError("out") instanceof InputError);
 * ```
 */
export class HeapExhaustedError extends InputError {
  /** @param message what ran out, in what, and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "HeapExhaustedError";
  }
}

/** The part of the Emscripten module {@link guardHeap} wraps. */
export interface EmscriptenAllocator {
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
}

const guarded = new WeakSet<EmscriptenAllocator>();

/**
 * Makes the module's `_malloc` throw a {@link HeapExhaustedError} where it would return 0 for a
 * non-empty request (the memory could not grow), instead of handing tfjs address 0 to write its
 * tensor over the module's own data. Idempotent; `startBackend` guards the wasm backend.
 *
 * tfjs' Emscripten glue defines `_malloc` as a stub that, on its first call, replaces itself
 * with the wasm export (`Module["_malloc"] = Module["asm"]["malloc"]`), which would drop a
 * wrapper put in its place: after a call that replaced it, the guard puts back what was
 * installed (itself, or a wrapper of it) and calls the replacement from then on.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { guardHeap, HeapExhaustedError } from "./heap.ts";
 * const raw = (bytes: number) => bytes > 100 ? 0 : 16;
 * // Like Emscripten's lazy export: the first call swaps in the real function.
 * const module = { _malloc: (bytes: number) => (module._malloc = raw)(bytes), HEAPU8: new Uint8Array(64) };
 * guardHeap(module);
 * assert(module._malloc(8) === 16);
 * assert.throws(() => module._malloc(1000), HeapExhaustedError);
 * assert.throws(() => module._malloc(1000), HeapExhaustedError);
 * ```
 */
export function guardHeap(module: EmscriptenAllocator): void {
  if (guarded.has(module)) return;
  let malloc = module._malloc.bind(module);
  const guard = (bytes: number) => {
    const installed = module._malloc;
    const address = malloc(bytes);
    if (module._malloc !== installed) {
      malloc = module._malloc.bind(module);
      module._malloc = installed;
    }
    if (address === 0 && bytes > 0) {
      throw new HeapExhaustedError(
        `the wasm heap is exhausted: ${(bytes / MB).toFixed(1)} MiB more do not fit beside ` +
          `the ${(module.HEAPU8.length / MB).toFixed(0)} MiB in use (limit 4096)`,
      );
    }
    return address;
  };
  module._malloc = guard;
  guarded.add(module);
}

/** The part of the Emscripten module {@link heapAllocationCounter} wraps. */
export interface EmscriptenHeap extends EmscriptenAllocator {
  _free(address: number): void;
}

/** Bytes the wasm heap holds for JavaScript callers now and at most since the last reset. */
export interface HeapAllocationCounter {
  /** Bytes allocated and not yet freed. */
  readonly liveBytes: number;
  /** The most `liveBytes` has been since the counter started or was last reset. */
  readonly highBytes: number;
  /** Starts the next high-water mark from `liveBytes`. */
  resetHigh(): void;
  /** Puts the module's own `_malloc` and `_free` back. */
  stop(): void;
}

/**
 * Counts the bytes JavaScript allocates on the wasm backend's heap (tfjs's tensors, our kernels'
 * work areas) by wrapping `module`'s `_malloc` and `_free`, for benchmarks and tests. The heap's
 * size minus this count is what fragmentation and the allocations made inside tfjs's C++ kernels
 * take (XNNPACK's packed weights, its work areas), which no JavaScript caller sees.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { heapAllocationCounter } from "./heap.ts";
 * let next = 16;
 * const module = {
 *   _malloc: (bytes: number) => (next += bytes) - bytes,
 *   _free: (_address: number) => {},
 *   HEAPU8: new Uint8Array(0),
 * };
 * const counter = heapAllocationCounter(module);
 * const address = module._malloc(4096);
 * const whileHeld = [counter.liveBytes, counter.highBytes];
 * module._free(address);
 * assert(whileHeld.join() === "4096,4096" && [counter.liveBytes, counter.highBytes].join() === "0,4096");
 * counter.stop();
 * ```
 */
export function heapAllocationCounter(module: EmscriptenHeap): HeapAllocationCounter {
  // Emscripten's exports start as stubs that replace themselves on their first call: call them
  // once, so that the wrappers below stay in place.
  module._free(module._malloc(8));
  const [malloc, free] = [module._malloc, module._free];
  const sizes = new Map<number, number>();
  let [liveBytes, highBytes] = [0, 0];
  module._malloc = (bytes: number) => {
    const address = malloc(bytes);
    sizes.set(address >>> 0, bytes);
    liveBytes += bytes;
    highBytes = Math.max(highBytes, liveBytes);
    return address;
  };
  module._free = (address: number) => {
    liveBytes -= sizes.get(address >>> 0) ?? 0;
    sizes.delete(address >>> 0);
    free(address);
  };
  return {
    get liveBytes() {
      return liveBytes;
    },
    get highBytes() {
      return highBytes;
    },
    resetHigh() {
      highBytes = liveBytes;
    },
    stop() {
      [module._malloc, module._free] = [malloc, free];
    },
  };
}

/** Wasm traps that a corrupted or exhausted heap ends in; an abort's message starts "Aborted(". */
const TRAPS =
  /^(Aborted\(|memory access out of bounds|table index is out of bounds|null function|unreachable|Out of memory)/i;

/**
 * What went wrong when `error` is a heap failure: a {@link HeapExhaustedError}, a wasm trap or
 * abort, or a failed memory growth; undefined for anything else (a bug keeps its stack).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { heapFailure } from "./heap.ts";
 * const abort = new WebAssembly.RuntimeError("Aborted(). Build with -sASSERTIONS for more info.");
 * assert(heapFailure(abort) === "the wasm backend aborted (Aborted())");
 * assert(heapFailure(new Error("a bug")) === undefined);
 * ```
 */
export function heapFailure(error: unknown): string | undefined {
  if (error instanceof HeapExhaustedError) return error.message;
  if (!(error instanceof Error)) return undefined;
  const message = error.message.replace(/\. Build with -sASSERTIONS.*$/s, "");
  if (error instanceof WebAssembly.RuntimeError && TRAPS.test(message)) {
    return `the wasm backend aborted (${message})`;
  }
  if (error instanceof RangeError && /WebAssembly\.Memory|allocation failed/i.test(message)) {
    return `the wasm heap could not grow (${message})`;
  }
  return undefined;
}

/**
 * Runs `run`; a heap failure comes back as one {@link HeapExhaustedError} saying `what` ran out
 * (the model, the method, the batch) and what to do, other errors unchanged. After a wasm abort
 * the backend stays dead for the rest of the process.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HeapExhaustedError, withinHeap } from "./heap.ts";
 * await assert.rejects(
 *   withinHeap("resnet50, integrated_gradients, 1 image", () => {
 *     throw new WebAssembly.RuntimeError("memory access out of bounds");
 *   }),
 *   (e) => e instanceof HeapExhaustedError && e.message.startsWith("resnet50"),
 * );
 * assert((await withinHeap("x", () => Promise.resolve(2))) === 2);
 * ```
 */
export async function withinHeap<T>(what: string, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reason = heapFailure(error);
    if (reason === undefined) throw error;
    throw new HeapExhaustedError(
      `${what}: ${reason}. Lower --heap-budget-mb (now ${budgetMb}) so that fewer rows go ` +
        `through the model at once, or give fewer images per call`,
    );
  }
}
