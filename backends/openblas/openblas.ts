/**
 * The system's OpenBLAS, reached through Deno's FFI: its single-precision matrix product
 * (`cblas_sgemm`) is 3–4x faster per core than tfjs-wasm's XNNPACK convolutions on our machines
 * (BENCHMARKS.md), and the wasm backend's convolutions run on it when it is there
 * (`backends/openblas/blas_conv2d.ts`).
 *
 * Optional by design: without the library (Debian/Ubuntu `libopenblas0`, Fedora `openblas`,
 * Homebrew `openblas`) or without `--allow-ffi` for its path, {@link loadOpenBlas} returns
 * undefined and everything runs on XNNPACK as before.
 *
 * @module
 */

/**
 * Where OpenBLAS lives on the systems we know, tried in order; the deno.json tasks grant
 * `--allow-ffi` for exactly these paths.
 */
export const OPENBLAS_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
];

/**
 * Row-major C = op(A)·op(B) (beta 0) or C += op(A)·op(B) (beta 1): op(A) is m x k, op(B) is
 * k x n, C is m x n with row stride `ldc`; each array starts at its matrix's first element. A is
 * stored m x k with row stride `lda`, or, with `transposeA`, k x m (op(A) = Aᵀ); B is stored
 * k x n with row stride `ldb`, or, with `transposeB`, n x k.
 */
export type Sgemm = (
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: 0 | 1,
  c: Float32Array,
  ldc: number,
  transposeA?: boolean,
  transposeB?: boolean,
) => void;

/** A loaded OpenBLAS. */
export interface OpenBlas {
  /** The library file. */
  readonly path: string;
  /** Its matrix product. */
  readonly sgemm: Sgemm;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
} as const;

let loaded: OpenBlas | null | undefined;

/**
 * Opens the first of {@link OPENBLAS_PATHS} that exists and may be loaded (`--allow-ffi` for
 * it), set to one thread: cores are used by Web Workers, one model each, so that one process is
 * one core and figures compare with PyTorch on the same number of threads. Returns undefined
 * when there is none; the result is cached.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadOpenBlas } from "./openblas.ts";
 * const blas = loadOpenBlas(); // undefined without the library or --allow-ffi
 * if (blas) {
 *   const c = new Float32Array(1);
 *   blas.sgemm(1, 1, 2, Float32Array.of(1, 2), 2, Float32Array.of(3, 4), 1, 0, c, 1);
 *   assert(c[0] === 11);
 * }
 * ```
 */
export function loadOpenBlas(): OpenBlas | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  for (const path of OPENBLAS_PATHS) {
    if (Deno.permissions.querySync({ name: "ffi", path }).state !== "granted") continue;
    let library: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      library = Deno.dlopen(path, SYMBOLS);
    } catch {
      continue; // not installed here
    }
    library.symbols.openblas_set_num_threads(1);
    const cblas = library.symbols.cblas_sgemm;
    loaded = {
      path,
      sgemm: (m, n, k, a, lda, b, ldb, beta, c, ldc, transposeA = false, transposeB = false) =>
        cblas(
          CBLAS_ROW_MAJOR,
          transposeA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transposeB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          1,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        ),
    };
    break;
  }
  return loaded ?? undefined;
}
