/**
 * NumPy `.npy` files: read little-endian C-order arrays of the common numeric types, write
 * float32 and uint8 ones.
 *
 * Layout (format versions 1.0, 2.0, 3.0): the 6 bytes `\x93NUMPY`, major and minor version,
 * the header length (uint16 LE for 1.0, uint32 LE after), an ASCII Python dict literal such
 * as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces to a
 * newline, then the raw data. Writers pad so the data starts on a 64-byte boundary.
 *
 * @module
 */
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { readFileBytes } from "./decode_image.ts";

/** The element types {@link readNpy} understands, by NumPy name. */
export type NpyDtype = "float32" | "float64" | "uint8" | "int32" | "int64";

/** The typed array holding each dtype. */
export interface NpyDataTypes {
  float32: Float32Array;
  float64: Float64Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
}

/** A decoded array: `data.length` is the product of `shape` (1 for shape `[]`). */
export type NpyArray = {
  [D in NpyDtype]: { readonly shape: number[]; readonly dtype: D; readonly data: NpyDataTypes[D] };
}[NpyDtype];

/** `descr` strings: little-endian ('<') or byte-order-free ('|') only. */
const DESCR_TO_DTYPE: Record<string, NpyDtype> = {
  "<f4": "float32",
  "<f8": "float64",
  "|u1": "uint8",
  "<u1": "uint8",
  "<i4": "int32",
  "<i8": "int64",
};

const ITEM_BYTES: Record<NpyDtype, number> = {
  float32: 4,
  float64: 8,
  uint8: 1,
  int32: 4,
  int64: 8,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses `.npy` bytes.
 *
 * @param source a file name for error messages.
 * @throws {InputError} for a bad magic, unsupported version or dtype, Fortran order,
 * a malformed header, or data shorter or longer than the shape says.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readNpy, writeNpy } from "./npy.ts";
 * const a = readNpy(writeNpy([2, 2], new Float32Array([1, 2, 3, 4])));
 * assert(a.dtype === "float32" && a.shape.join() === "2,2" && a.data[3] === 4);
 * ```
 */
export function readNpy(bytes: Uint8Array, source = "<npy bytes>"): NpyArray {
  const bad = (reason: string) =>
    new InputError(`${source}: not a readable .npy file (${reason}); re-save it with numpy.save`);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw bad("missing the \\x93NUMPY magic");
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw bad(`unsupported format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw bad("truncated header");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) throw bad("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(8 + lengthBytes, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw bad(`malformed header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === "True") throw bad("Fortran order; save a C-order array (np.ascontiguousarray)");
  const dtype = DESCR_TO_DTYPE[descr];
  if (dtype === undefined) {
    throw bad(
      `unsupported dtype '${descr}'; supported: ${Object.keys(DESCR_TO_DTYPE).join(", ")}`,
    );
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw bad(`bad shape (${shapeText})`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = bytes.length - dataStart;
  const expectedBytes = count * ITEM_BYTES[dtype];
  if (dataBytes !== expectedBytes) {
    throw bad(
      `shape (${shape.join(", ")}) needs ${expectedBytes} data bytes, the file has ${dataBytes}` +
        (dataBytes < expectedBytes ? " (truncated)" : ""),
    );
  }
  // Copy so the typed array is aligned and independent of the caller's buffer.
  const buffer = bytes.slice(dataStart).buffer;
  switch (dtype) {
    case "float32":
      return { shape, dtype, data: new Float32Array(buffer) };
    case "float64":
      return { shape, dtype, data: new Float64Array(buffer) };
    case "uint8":
      return { shape, dtype, data: new Uint8Array(buffer) };
    case "int32":
      return { shape, dtype, data: new Int32Array(buffer) };
    case "int64":
      return { shape, dtype, data: new BigInt64Array(buffer) };
  }
}

/**
 * Narrows a decoded array to the dtype the caller needs.
 *
 * @throws {InputError} naming `source` when the file holds another dtype.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readNpy, requireDtype, writeNpy } from "./npy.ts";
 * const a = requireDtype(readNpy(writeNpy([2], new Float32Array([1, 2]))), "float32");
 * const total: number = a.data[0] + a.data[1]; // typed as Float32Array
 * assert(total === 3);
 * ```
 */
export function requireDtype<D extends NpyDtype>(
  array: NpyArray,
  dtype: D,
  source = "<npy bytes>",
): Extract<NpyArray, { dtype: D }> {
  if (array.dtype !== dtype) {
    throw new InputError(
      `${source}: expected a ${dtype} array, the file holds ${array.dtype}; ` +
        `re-save it with .astype(numpy.${dtype})`,
    );
  }
  return array as Extract<NpyArray, { dtype: D }>;
}

/**
 * Checks that a float batch holds only finite numbers: a NaN or infinite input would flow through
 * a model into NaN logits, and explainers normalise NaN maps to all zeros, which look like
 * "nothing is relevant" instead of an error.
 *
 * @param shape the batch's shape, images along the first axis (for naming the first bad image).
 * @throws {InputError} naming `source`, how many values are bad, and the first bad image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requireFinite } from "./npy.ts";
 * requireFinite(new Float32Array([0, 1.5, -2]), [1, 3], "x.npy");
 * assert.throws(
 *   () => requireFinite(new Float32Array([0, 1, NaN, Infinity]), [2, 2], "x.npy"),
 *   /x.npy: 2 of 4 values are NaN or infinite \(the first in image 1: NaN\)/,
 * );
 * ```
 */
export function requireFinite(
  data: Float32Array | Float64Array,
  shape: readonly number[],
  source: string,
): void {
  let first = -1;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    if (bad++ === 0) first = i;
  }
  if (bad === 0) return;
  const image = Math.floor(first / (data.length / Math.max(1, shape[0] ?? 1)));
  throw new InputError(
    `${source}: ${bad} of ${data.length} values are NaN or infinite (the first in image ` +
      `${image}: ${data[first]}); a model input must be finite numbers, so fix or drop those ` +
      "images",
  );
}

/**
 * Encodes a float32, int32 or uint8 array as `.npy` (format 1.0, C order, little-endian).
 *
 * @throws {RangeError} when `data.length` is not the product of `shape`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeNpy } from "./npy.ts";
 * const bytes = writeNpy([3], new Uint8Array([1, 2, 3]));
 * assert(bytes.length % 64 === 3); // the data starts on a 64-byte boundary
 * ```
 */
export function writeNpy(
  shape: readonly number[],
  data: Float32Array | Int32Array | Uint8Array,
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(
      `writeNpy: shape (${shape.join(", ")}) does not hold ${data.length} values`,
    );
  }
  const descr = data instanceof Float32Array ? "<f4" : data instanceof Int32Array ? "<i4" : "|u1";
  // Python writes a 1-tuple as "(n,)".
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const unpadded = 10 + dict.length + 1;
  const headerText = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + headerText.length + data.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerText.length, true);
  out.set(new TextEncoder().encode(headerText), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerText.length);
  return out;
}

/**
 * Reads a `.npy` file.
 *
 * @throws {InputError} when the file is missing or not a readable `.npy`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readNpyFile, writeNpyFile } from "./npy.ts";
 * const dir = await Deno.makeTempDir();
 * await writeNpyFile(`${dir}/a.npy`, [2], new Float32Array([0.5, 1.5]));
 * assert((await readNpyFile(`${dir}/a.npy`)).data[1] === 1.5);
 * ```
 */
export async function readNpyFile(path: string): Promise<NpyArray> {
  return readNpy(await readFileBytes(path), path);
}

/**
 * Writes a float32, int32 or uint8 array to a `.npy` file atomically.
 *
 * @example
 * ```ts
 * import { writeNpyFile } from "./npy.ts";
 * const dir = await Deno.makeTempDir();
 * await writeNpyFile(`${dir}/x.npy`, [1, 3], new Float32Array([1, 2, 3]));
 * ```
 */
export async function writeNpyFile(
  path: string,
  shape: readonly number[],
  data: Float32Array | Int32Array | Uint8Array,
): Promise<void> {
  await writeFileAtomic(path, writeNpy(shape, data));
}
