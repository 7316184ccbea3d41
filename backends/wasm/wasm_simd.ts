/**
 * A small WebAssembly assembler for our own SIMD kernels: functions over i32, f32 and v128
 * locals, emitted as bytes and instantiated on a given memory (the wasm backend's heap, so that
 * kernels read and write tensors in place).
 *
 * Why an assembler and not a `.wasm` file: the kernels are unrolled per tile (16 loads, 32
 * adds, 16 stores), and writing them as TypeScript that emits the instructions keeps the source
 * readable and reviewable, with no toolchain and no binary in the repository. Only the
 * instructions the kernels use are here.
 *
 * @module
 */

/** Value types of locals and parameters. */
export type ValueType = "i32" | "f32" | "v128";

const TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Instruction bytes. */
export type Code = number[];

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(value: number): number[] {
  const bytes: number[] = [];
  value |= 0;
  while (true) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

function simd(opcode: number): Code {
  return [0xfd, ...uleb(opcode)];
}

/** A memory argument: alignment hint 4 bytes (all our floats are 4-byte aligned), offset. */
function memarg(offset: number): Code {
  return [2, ...uleb(offset)];
}

/**
 * The instructions, each as bytes; `i` is a local's index (parameters first).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { op } from "./wasm_simd.ts";
 * assert(op.get(3).join() === "32,3");
 * ```
 */
export const op = {
  get: (i: number): Code => [0x20, ...uleb(i)],
  set: (i: number): Code => [0x21, ...uleb(i)],
  tee: (i: number): Code => [0x22, ...uleb(i)],
  i32: (value: number): Code => [0x41, ...sleb(value)],
  f32: (value: number): Code => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  i32Add: [0x6a] as Code,
  i32Sub: [0x6b] as Code,
  i32Mul: [0x6c] as Code,
  i32LtU: [0x49] as Code,
  i32Eqz: [0x45] as Code,
  /** `block` with no result; `br 0` inside it jumps past its `end`. */
  block: [0x02, 0x40] as Code,
  /** `loop` with no result; `br 0` inside it jumps back to its start. */
  loop: [0x03, 0x40] as Code,
  end: [0x0b] as Code,
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  load: (offset = 0): Code => [...simd(0x00), ...memarg(offset)],
  store: (offset = 0): Code => [...simd(0x0b), ...memarg(offset)],
  /** f32x4.splat. */
  splat: simd(0x13),
  i32x4Splat: simd(0x11),
  i32x4Eq: simd(0x37),
  gt: simd(0x44),
  and: simd(0x4e),
  /** bitselect(a, b, mask): a where the mask's bits are set, b elsewhere. */
  bitselect: simd(0x52),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  min: simd(0xe8),
  max: simd(0xe9),
} as const;

/**
 * `target = a + b` over i32 locals (addresses and offsets).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { op, setSum } from "./wasm_simd.ts";
 * assert(setSum(2, 0, 1).join() === [...op.get(0), ...op.get(1), ...op.i32Add, ...op.set(2)].join());
 * ```
 */
export function setSum(target: number, a: number, b: number): Code {
  return [...op.get(a), ...op.get(b), ...op.i32Add, ...op.set(target)];
}

/**
 * `v128.load` from `base + offset` (both i32 locals).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadAt } from "./wasm_simd.ts";
 * assert(loadAt(0, 1).length > 0);
 * ```
 */
export function loadAt(base: number, offset: number): Code {
  return [...op.get(base), ...op.get(offset), ...op.i32Add, ...op.load()];
}

/**
 * `v128.store` of `value` (code leaving one v128) at `base + offset` (both i32 locals).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadAt, storeAt } from "./wasm_simd.ts";
 * assert(storeAt(0, 1, loadAt(2, 1)).length > 0); // copies 16 bytes
 * ```
 */
export function storeAt(base: number, offset: number, value: Code): Code {
  return [...op.get(base), ...op.get(offset), ...op.i32Add, ...value, ...op.store()];
}

/** One exported function: its parameters, its other locals and its body. */
export interface FunctionSource {
  name: string;
  params: ValueType[];
  locals: ValueType[];
  body: Code;
}

/**
 * A module importing its memory as `env.memory`, exporting `functions` (no results).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { assembleModule, op } from "./wasm_simd.ts";
 * // store(p, load(p) + load(p)): doubles four floats in place.
 * const bytes = assembleModule([{
 *   name: "double",
 *   params: ["i32"],
 *   locals: [],
 *   body: [...op.get(0), ...op.get(0), ...op.load(), ...op.get(0), ...op.load(), ...op.add,
 *     ...op.store()],
 * }]);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * new Float32Array(memory.buffer).set([1, 2, 3, 4]);
 * (exports.double as (p: number) => void)(0);
 * assert(new Float32Array(memory.buffer, 0, 4).join() === "2,4,6,8");
 * ```
 */
export function assembleModule(functions: FunctionSource[]): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (text: string) => {
    const bytes = [...new TextEncoder().encode(text)];
    return [...uleb(bytes.length), ...bytes];
  };
  const types = functions.map((f) => [
    0x60,
    ...uleb(f.params.length),
    ...f.params.map((t) => TYPE_CODE[t]),
    0,
  ]);
  const memoryImport = [...name("env"), ...name("memory"), 0x02, 0x00, 0x00];
  const bodies = functions.map((f) => {
    const locals = vector(f.locals.map((t) => [1, TYPE_CODE[t]]));
    const code = [...locals, ...f.body, ...op.end];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}

/**
 * Allocates locals by name while a body is written: parameters first, in order, then each
 * new name gets the next index. `locals()` lists the non-parameter locals' types for
 * {@link FunctionSource}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Locals } from "./wasm_simd.ts";
 * const l = new Locals(["i32"]);
 * assert(l.index("p0") === 0 && l.v128("acc") === 1 && l.locals().join() === "v128");
 * ```
 */
export class Locals {
  #indices = new Map<string, number>();
  #types: ValueType[] = [];
  #params: number;

  constructor(params: ValueType[]) {
    this.#params = params.length;
    params.forEach((type, i) => {
      this.#indices.set(`p${i}`, i);
      this.#types.push(type);
    });
  }

  /** The index of an existing local (`p0`, `p1`, ... for parameters). */
  index(name: string): number {
    const i = this.#indices.get(name);
    if (i === undefined) throw new Error(`wasm_simd: no local named ${name}`);
    return i;
  }

  #declare(name: string, type: ValueType): number {
    const existing = this.#indices.get(name);
    if (existing !== undefined) return existing;
    this.#indices.set(name, this.#types.length);
    this.#types.push(type);
    return this.#types.length - 1;
  }

  /** An i32 local, declared on first use. */
  i32(name: string): number {
    return this.#declare(name, "i32");
  }

  /** A v128 local, declared on first use. */
  v128(name: string): number {
    return this.#declare(name, "v128");
  }

  /** The types of the locals after the parameters. */
  locals(): ValueType[] {
    return this.#types.slice(this.#params);
  }
}

/**
 * `for (counter = 0; counter < limit; counter += step) { body }` over i32 locals, with
 * `limit` a local's index (a loop of zero rounds runs no body).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { countedLoop, op } from "./wasm_simd.ts";
 * assert(countedLoop(0, 1, 16, [...op.get(0)]).length > 0);
 * ```
 */
export function countedLoop(counter: number, limit: number, step: number, body: Code): Code {
  return [
    ...op.i32(0),
    ...op.set(counter),
    ...op.block,
    ...op.get(counter),
    ...op.get(limit),
    ...op.i32LtU,
    ...op.i32Eqz, // leave when counter >= limit
    ...op.brIf(0),
    ...op.loop,
    ...body,
    ...op.get(counter),
    ...op.i32(step),
    ...op.i32Add,
    ...op.tee(counter),
    ...op.get(limit),
    ...op.i32LtU,
    ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
}

/** A wasm memory with an allocator on it: the wasm backend's heap, or one of our own. */
export interface WasmHeap {
  readonly memory: WebAssembly.Memory;
  /** A byte address of `bytes` free bytes, 16-byte aligned. */
  malloc(bytes: number): number;
  free(address: number): void;
}

/**
 * A memory of `pages` (64 KiB each) with a bump allocator that never frees, and `floats(count)`,
 * a zeroed Float32Array on it: for tests, benchmarks and examples of kernels that take views on
 * a heap. Allocation starts at byte `from` (16-byte aligned; default 0): tests place arrays above
 * 2 GiB with it, where an address read as a signed 32-bit integer turns negative (the pages
 * below are reserved, not touched, so they cost no RAM).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { bumpHeap } from "./wasm_simd.ts";
 * const heap = bumpHeap(2, 65536);
 * const a = heap.floats(4), b = heap.floats(4);
 * assert(a.buffer === heap.memory.buffer && b.byteOffset - a.byteOffset === 16);
 * assert(a.byteOffset === 65536);
 * ```
 */
export function bumpHeap(
  pages: number,
  from = 0,
): WasmHeap & { floats(count: number): Float32Array } {
  const memory = new WebAssembly.Memory({ initial: pages });
  let top = Math.ceil(from / 16) * 16;
  const malloc = (bytes: number) => {
    const address = top;
    top += Math.ceil(bytes / 16) * 16;
    if (top > memory.buffer.byteLength) throw new Error(`bumpHeap: ${pages} pages are full`);
    return address;
  };
  return {
    memory,
    malloc,
    free: () => {},
    floats: (count) => new Float32Array(memory.buffer, malloc(4 * count), count),
  };
}

/**
 * The exports of a module of `functions`, instantiated once per memory it runs on (the module is
 * assembled and compiled once, on first use).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { kernelsPerMemory } from "./wasm_simd.ts";
 * const on = kernelsPerMemory<{ nop(): void }>(() => [{ name: "nop", params: [], locals: [], body: [] }]);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * assert(on(memory) === on(memory));
 * on(memory).nop();
 * ```
 */
export function kernelsPerMemory<T>(
  functions: () => FunctionSource[],
): (memory: WebAssembly.Memory) => T {
  let compiled: WebAssembly.Module | undefined;
  const instances = new WeakMap<WebAssembly.Memory, T>();
  return (memory) => {
    let kernels = instances.get(memory);
    if (!kernels) {
      compiled ??= new WebAssembly.Module(assembleModule(functions()));
      kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as T;
      instances.set(memory, kernels);
    }
    return kernels;
  };
}
