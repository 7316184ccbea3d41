/**
 * `.safetensors` files: read F32 (and F64 / F16 / BF16, converted to float32) tensors, write
 * F32 ones.
 *
 * Layout: 8 bytes N (uint64 LE), N bytes of UTF-8 JSON (`"__metadata__"`: string map, then
 * `"name": {"dtype", "shape", "data_offsets": [begin, end]}` per tensor, offsets counted from
 * byte 8 + N), then the tensors' bytes back to back, little-endian, C order, no gaps, ending at
 * the end of the file. Every header claim is checked against the file size before anything is
 * allocated from it.
 *
 * @module
 */
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { readFileBytes } from "../data/decode_image.ts";

/** A float32 tensor on the host: `data.length` is the product of `shape` (C order). */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a `.safetensors` file holds. */
export interface SafetensorsContents {
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** Tensors in file order, every float dtype converted to float32. */
  tensors: Map<string, HostTensor>;
}

/** Bytes per element of each safetensors dtype; the float ones are read. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};
const FLOAT_DTYPES = ["F32", "F64", "F16", "BF16"];

/** torch's BatchNorm step counters (int64), unused in evaluation; dropped when reading. */
const IGNORED_INTEGER_SUFFIX = "num_batches_tracked";

/** safetensors' own limit; a larger header is corrupt or hostile. */
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses `.safetensors` bytes.
 *
 * @param source a file name for error messages.
 * @throws {InputError} naming `source` and the reason: a header length beyond the file,
 * a header that is not a JSON object, a malformed entry, offsets out of range, overlapping,
 * leaving gaps or not matching dtype x shape, a truncated or over-long file, or a dtype other
 * than F32/F64/F16/BF16 (int64 `num_batches_tracked` counters are skipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(new Map([["w", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * assert(parseSafetensors(bytes).tensors.get("w")!.data[1] === 2);
 * ```
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source = "<safetensors bytes>",
): SafetensorsContents {
  const bad = (reason: string) =>
    new InputError(
      `${source}: not a readable .safetensors file (${reason}); re-save it with ` +
        `safetensors.torch.save_file(model.state_dict(), path)`,
    );
  if (bytes.length < 8) {
    throw bad(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getBigUint64(0, true);
  if (headerBytes > BigInt(bytes.length - 8)) {
    throw bad(
      `header length ${headerBytes} exceeds the ${bytes.length - 8} bytes after it (truncated?)`,
    );
  }
  if (headerBytes > BigInt(MAX_HEADER_BYTES)) {
    throw bad(`header length ${headerBytes} is over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const dataStart = 8 + Number(headerBytes);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)),
    );
  } catch (e) {
    throw bad(`header is not UTF-8 JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("header is not a JSON object");
  }
  const { __metadata__: metadata = {}, ...described } = header as Record<string, unknown>;
  if (
    typeof metadata !== "object" || metadata === null ||
    Object.values(metadata).some((v) => typeof v !== "string")
  ) {
    throw bad("__metadata__ is not a string-to-string map");
  }
  const entries = Object.entries(described).map(([name, value]) => parseEntry(name, value, bad));
  checkLayout(entries, bytes.length - dataStart, bad);

  const tensors = new Map<string, HostTensor>();
  for (const entry of entries) {
    if (!FLOAT_DTYPES.includes(entry.dtype)) {
      if (entry.name.endsWith(IGNORED_INTEGER_SUFFIX)) continue;
      throw bad(
        `tensor "${entry.name}" has dtype ${entry.dtype}; only ${FLOAT_DTYPES.join(", ")} ` +
          `tensors are read`,
      );
    }
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, { shape: entry.shape, data: toFloat32(raw, entry.dtype) });
  }
  return { metadata: metadata as Record<string, string>, tensors };
}

function parseEntry(name: string, value: unknown, bad: (r: string) => InputError): HeaderEntry {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const where = `tensor "${name}"`;
  if (typeof v !== "object" || v === null) throw bad(`${where}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  const isCount = (d: unknown): d is number => Number.isSafeInteger(d) && (d as number) >= 0;
  if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
    throw bad(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw bad(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad(`${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw bad(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, ` +
        `${dtype} [${shape.join(", ")}] needs ${expected}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

/** Offsets must tile the data section exactly: sorted, no overlap, no gap, ending at EOF. */
function checkLayout(
  entries: readonly HeaderEntry[],
  dataBytes: number,
  bad: (r: string) => InputError,
): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous = "the header";
  for (const entry of sorted) {
    if (entry.begin < position) {
      throw bad(
        `tensor "${entry.name}" overlaps ${previous} (begins at ${entry.begin} < ${position})`,
      );
    }
    if (entry.begin > position) {
      throw bad(`${entry.begin - position} unclaimed bytes before tensor "${entry.name}"`);
    }
    if (entry.end > dataBytes) {
      throw bad(
        `tensor "${entry.name}" ends at data byte ${entry.end}, the file has only ${dataBytes} ` +
          `(truncated)`,
      );
    }
    position = entry.end;
    previous = `tensor "${entry.name}"`;
  }
  if (position !== dataBytes) {
    throw bad(`${dataBytes - position} bytes after the last tensor`);
  }
}

/** Little-endian float bytes → float32 (a copy, aligned and detached from the file buffer). */
function toFloat32(raw: Uint8Array, dtype: string): Float32Array {
  const copy = raw.slice().buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(copy);
    case "F64":
      return Float32Array.from(new Float64Array(copy));
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const halves = new Uint16Array(copy);
      const bits = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      return Float32Array.from(new Uint16Array(copy), halfToFloat);
  }
}

/** IEEE 754 binary16 bits → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Encodes float32 tensors as `.safetensors`: `__metadata__` first, tensors in map order, the
 * header padded with spaces to a multiple of 8 bytes.
 *
 * @throws {RangeError} when a tensor's `data.length` is not the product of its shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(new Map([["b", { shape: [1], data: new Float32Array([3]) }]]), {
 *   format: "pt",
 * });
 * assert(bytes.length % 8 === 4);
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new RangeError(
        `encodeSafetensors: "${name}" has ${data.length} values, shape [${shape}]`,
      );
    }
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset).fill(0x20, 8 + json.length, 8 + headerBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  let position = 8 + headerBytes;
  for (const { data } of tensors.values()) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

/**
 * Reads a `.safetensors` file.
 *
 * @throws {InputError} when the file is missing or not a readable `.safetensors` file.
 *
 * @example
 * ```ts ignore
 * import { readSafetensorsFile } from "./safetensors.ts";
 * const { tensors } = await readSafetensorsFile("../shared/torch-parity/resnet18.safetensors");
 * console.log(tensors.get("conv1.weight")!.shape); // [64, 3, 7, 7]
 * ```
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  return parseSafetensors(await readFileBytes(path), path);
}

/**
 * Writes float32 tensors to a `.safetensors` file atomically.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readSafetensorsFile, writeSafetensorsFile } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * const tensors = new Map([["fc.bias", { shape: [2], data: new Float32Array([0.5, -1]) }]]);
 * await writeSafetensorsFile(`${dir}/w.safetensors`, tensors, { format: "pt" });
 * assert((await readSafetensorsFile(`${dir}/w.safetensors`)).metadata.format === "pt");
 * ```
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
