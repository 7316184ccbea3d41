/**
 * Peak memory of a benchmark cell that runs in its own process: the resident set (sampled every
 * 100 ms, `Deno.memoryUsage().rss`) and the wasm backend's heap, whose memory only grows, so
 * that its size at the end is its peak (`backends/heap.ts`: 4 GiB at most).
 *
 * @module
 */
import { tf } from "../deps.ts";
import type { EmscriptenAllocator } from "../backends/heap.ts";
import type { WasmBackend } from "../backends/wasm/wasm_kernel_utils.ts";

const MiB = 2 ** 20;

/** What a cell used at most, in MiB. */
export interface PeakMemory {
  /** The process's resident set. */
  peakRssMb: number;
  /** The wasm heap's size (0 on another backend). */
  wasmHeapMb: number;
}

/** The wasm backend's heap size in MiB, or 0 when tfjs runs on another backend. */
function wasmHeapMb(): number {
  if (tf.getBackend() !== "wasm") return 0;
  const module = (tf.backend() as WasmBackend).wasm as unknown as EmscriptenAllocator;
  return module.HEAPU8.length / MiB;
}

/**
 * Starts sampling this process's memory; `stop` (or `now`, which keeps sampling) returns the
 * peaks so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { peakMemorySampler } from "./peak_memory.ts";
 * const sampler = peakMemorySampler();
 * const peak = sampler.stop();
 * assert(peak.peakRssMb > 0 && peak.wasmHeapMb >= 0);
 * ```
 */
export function peakMemorySampler(): { now(): PeakMemory; stop(): PeakMemory } {
  let peak = Deno.memoryUsage().rss;
  const sample = () => peak = Math.max(peak, Deno.memoryUsage().rss);
  const timer = setInterval(sample, 100);
  const now = () => {
    sample();
    return { peakRssMb: peak / MiB, wasmHeapMb: wasmHeapMb() };
  };
  return {
    now,
    stop() {
      clearInterval(timer);
      return now();
    },
  };
}

/**
 * A peak as a table cell: `RSS 1.90 GB, heap 1.25 GB` (GiB; no heap part off wasm).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { memoryText } from "./peak_memory.ts";
 * assert(memoryText({ peakRssMb: 1024, wasmHeapMb: 512 }) === "RSS 1.00 GB, heap 0.50 GB");
 * ```
 */
export function memoryText({ peakRssMb, wasmHeapMb }: PeakMemory): string {
  const heap = wasmHeapMb > 0 ? `, heap ${(wasmHeapMb / 1024).toFixed(2)} GB` : "";
  return `RSS ${(peakRssMb / 1024).toFixed(2)} GB${heap}`;
}

/** The part of the Emscripten module {@link heapAllocationCounter} wraps. */
interface EmscriptenHeap extends EmscriptenAllocator {
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
 * work areas) by wrapping the module's `_malloc` and `_free`. The heap's size minus this count is
 * what fragmentation and the allocations made inside tfjs's C++ kernels take (XNNPACK's packed
 * weights, its work areas), which no JavaScript caller sees. Undefined off the wasm backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { startBackend } from "../backends/backend.ts";
 * import { heapAllocationCounter } from "./peak_memory.ts";
 * await startBackend("wasm");
 * const counter = heapAllocationCounter()!;
 * const t = tf.zeros([1024]);
 * const whileHeld = [counter.liveBytes, counter.highBytes];
 * t.dispose();
 * assert(whileHeld.join() === "4096,4096" && [counter.liveBytes, counter.highBytes].join() === "0,4096");
 * counter.stop();
 * ```
 */
export function heapAllocationCounter(): HeapAllocationCounter | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  const module = (tf.backend() as WasmBackend).wasm as unknown as EmscriptenHeap;
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
