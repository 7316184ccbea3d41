/**
 * Peak memory of a benchmark cell that runs in its own process: the resident set (sampled every
 * 100 ms, `Deno.memoryUsage().rss`) and the wasm backend's heap, whose memory only grows, so
 * that its size at the end is its peak (`backends/heap.ts`: 4 GiB at most).
 *
 * @module
 */
import { tf } from "../deps.ts";
import type { EmscriptenHeap } from "../backends/heap.ts";
import type { WasmBackend } from "../backends/wasm/wasm_kernel_utils.ts";

const MiB = 2 ** 20;

/** What a cell used at most, in MiB. */
export interface PeakMemory {
  /** The process's resident set. */
  peakRssMb: number;
  /** The wasm heap's size (0 on another backend). */
  wasmHeapMb: number;
}

/**
 * The wasm backend's Emscripten module, or undefined when tfjs runs on another backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { wasmHeapModule } from "./peak_memory.ts";
 * await tf.setBackend("cpu");
 * assert(wasmHeapModule() === undefined);
 * ```
 */
export function wasmHeapModule(): EmscriptenHeap | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  return (tf.backend() as WasmBackend).wasm as unknown as EmscriptenHeap;
}

/** The wasm backend's heap size in MiB, or 0 when tfjs runs on another backend. */
function wasmHeapMb(): number {
  return (wasmHeapModule()?.HEAPU8.length ?? 0) / MiB;
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
