/**
 * The accelerator interface: how feature code (explainers, metrics, the graph engine) asks the
 * active tfjs backend for a faster implementation of one of its operations, and how a backend
 * wants batched work sized, without naming any backend.
 *
 * An operation with accelerated implementations is an {@link AcceleratedOp}: a handle that its
 * kernel module declares and exports, typed by what an implementation is (a function, or an
 * object of functions for an operation in several parts). The kernel module registers its
 * implementation for the backend it runs on, as tfjs's `registerKernel` does for tfjs's own ops;
 * the WGSL kernels in `xai/kernels/` and `metrics/kernels/` register for `webgpu`. Feature code
 * imports the handle from the kernel module (which runs the registration) and asks
 * {@link AcceleratedOp.implementation} for the active backend's, running its own portable path
 * (tfjs ops, TypeScript loops) where there is none.
 *
 * To accelerate an operation on a new backend: write the implementation with the handle's type
 * (the one registered for webgpu shows what it takes and returns, and the portable path or its
 * `_reference.ts` what it must compute), register it in a module that imports the handle, with
 * `OP.register("webgl", implementation)`, and import that module for its side effect where the
 * handle is declared or used, so that it is registered before the first call. The feature code
 * does not change. Its tests should compare the new implementation with the reference, as
 * `tests/*_kernel*_test.ts` do for WGSL.
 *
 * Sizing: {@link tensorMemory} says where a backend keeps tensors; the metrics size their model
 * calls by it and the graph engine decides by it whether per-copy edits on the host pay.
 *
 * backends/ knows no feature's types: each handle carries its implementation's type as a type
 * parameter.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { AcceleratedOp } from "./accelerated.ts";
 * // A kernel module declares the op and registers what it has.
 * const SQUARE = new AcceleratedOp<(x: tf.Tensor) => tf.Tensor>("square");
 * SQUARE.register("cpu", (x) => tf.square(x));
 * // Feature code takes the accelerated implementation where one exists, its own path elsewhere.
 * await tf.setBackend("cpu");
 * const square = SQUARE.implementation() ?? ((x: tf.Tensor) => tf.mul(x, x));
 * const y = square(tf.tensor1d([3]));
 * assert(y.dataSync()[0] === 9);
 * assert(SQUARE.implementation("wasm") === undefined);
 * ```
 *
 * @module
 */
import { tf } from "../deps.ts";

/**
 * An operation some backends accelerate, with its implementation per backend (a tfjs backend
 * name: `webgpu`, `wasm`, `cpu`). `Implementation` is what a backend provides and feature code
 * calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { AcceleratedOp } from "./accelerated.ts";
 * const HALF = new AcceleratedOp<(x: number) => number>("half");
 * HALF.register("webgpu", (x) => x / 2);
 * assert(HALF.implementation("webgpu")?.(6) === 3 && HALF.implementation("cpu") === undefined);
 * assert.throws(() => HALF.register("webgpu", (x) => x * 0.5), /already has/);
 * ```
 */
export class AcceleratedOp<Implementation> {
  /** Names the operation in errors. */
  readonly name: string;
  readonly #byBackend = new Map<string, Implementation>();

  constructor(name: string) {
    this.name = name;
  }

  /**
   * Makes `implementation` this operation's on `backend`.
   *
   * @throws {Error} when `backend` has one already: two modules would both claim the operation.
   */
  register(backend: string, implementation: Implementation): void {
    if (this.#byBackend.has(backend)) {
      throw new Error(
        `accelerated op ${this.name}: ${backend} already has an implementation; register one ` +
          `per backend (is its module loaded twice, from two URLs?)`,
      );
    }
    this.#byBackend.set(backend, implementation);
  }

  /**
   * The implementation on `backend` (default: the one tfjs runs on now), or undefined where
   * that backend has none and the caller's portable path applies.
   */
  implementation(backend: string = tf.getBackend()): Implementation | undefined {
    return this.#byBackend.get(backend);
  }
}

/**
 * Where a backend keeps tensor data: `host` memory, which it shares with TypeScript loops
 * (wasm, cpu), or an accelerator's own `device` memory (webgpu), where reading values back
 * costs a round trip and large calls amortise the cost of each dispatch.
 */
export type TensorMemory = "host" | "device";

/** The backends whose tensors live in device memory; every other keeps them on the host. */
const DEVICE_MEMORY_BACKENDS: ReadonlySet<string> = new Set(["webgpu"]);

/**
 * Where `backend` (default: the one tfjs runs on now) keeps tensors; see {@link TensorMemory}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { tensorMemory } from "./accelerated.ts";
 * await tf.setBackend("cpu");
 * assert(tensorMemory() === "host" && tensorMemory("webgpu") === "device");
 * ```
 */
export function tensorMemory(backend: string = tf.getBackend()): TensorMemory {
  return DEVICE_MEMORY_BACKENDS.has(backend) ? "device" : "host";
}
