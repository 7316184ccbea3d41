import { InputError } from "../core/errors.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensorsFile,
  writeSafetensorsFile,
} from "../models/safetensors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { pathExists, SHARED_DIR, testDir } from "./test_dirs.ts";

/** A file from a literal header (serialised as is) and data section. */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const F32_PAIR = new Uint8Array(new Float32Array([1.5, -2]).buffer);
const entry = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

Deno.test("encode → parse keeps names, order, shapes, values and metadata", () => {
  const tensors = new Map([
    ["conv.weight", { shape: [2, 1, 1, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ["conv.bias", { shape: [2], data: Float32Array.from([-1, 0.25]) }],
    ["scalar", { shape: [], data: Float32Array.from([7]) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: "pt", arch: "test" });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(headerLength % 8, 0, "header padded to 8 bytes");
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  assert(header.startsWith('{"__metadata__":'), header);
  const parsed = parseSafetensors(bytes);
  assertEquals(parsed.metadata, { format: "pt", arch: "test" });
  assertEquals([...parsed.tensors.keys()], [...tensors.keys()]);
  for (const [name, { shape, data }] of tensors) {
    assertEquals(parsed.tensors.get(name)!.shape, shape);
    assertEquals(Array.from(parsed.tensors.get(name)!.data), Array.from(data));
  }
});

Deno.test("F64, F16 and BF16 tensors are read as float32", () => {
  const f64 = new Uint8Array(new Float64Array([0.5, -3]).buffer);
  // binary16: 1.0 = 0x3c00, -2.5 = 0xc100, 2^-24 = 0x0001 (subnormal); bfloat16: 1.0 = 0x3f80.
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc100, 0x0001]).buffer);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc020]).buffer);
  const bytes = rawSafetensors(
    { a: entry("F64", [2], 0, 16), b: entry("F16", [3], 16, 22), c: entry("BF16", [2], 22, 26) },
    new Uint8Array([...f64, ...f16, ...bf16]),
  );
  const { tensors } = parseSafetensors(bytes);
  assertEquals(Array.from(tensors.get("a")!.data), [0.5, -3]);
  assertEquals(Array.from(tensors.get("b")!.data), [1, -2.5, Math.fround(2 ** -24)]);
  assertEquals(Array.from(tensors.get("c")!.data), [1, -2.5]);
});

Deno.test("int64 num_batches_tracked counters are skipped, other integer tensors refused", () => {
  const counter = new Uint8Array(8);
  const skipped = parseSafetensors(rawSafetensors(
    { "bn.weight": entry("F32", [2], 0, 8), "bn.num_batches_tracked": entry("I64", [], 8, 16) },
    new Uint8Array([...F32_PAIR, ...counter]),
  ));
  assertEquals([...skipped.tensors.keys()], ["bn.weight"]);
  assertThrows(
    () => parseSafetensors(rawSafetensors({ ids: entry("I64", [], 0, 8) }, counter), "ids.st"),
    InputError,
    'ids.st: not a readable .safetensors file (tensor "ids" has dtype I64',
  );
});

Deno.test("malformed files are InputErrors naming the file and the reason", () => {
  const ok = { w: entry("F32", [2], 0, 8) };
  const cases: [string, Uint8Array, string][] = [
    ["too short", new Uint8Array(5), "shorter than the 8-byte header length"],
    ["header beyond file", rawSafetensors(ok, F32_PAIR, 1n << 62n), "exceeds"],
    ["header not JSON", rawSafetensors("x", F32_PAIR, 2n), "not UTF-8 JSON"],
    ["header an array", rawSafetensors([1], F32_PAIR), "not a JSON object"],
    ["bad metadata", rawSafetensors({ __metadata__: { n: 1 }, ...ok }, F32_PAIR), "__metadata__"],
    ["unknown dtype", rawSafetensors({ w: entry("F8", [2], 0, 2) }, F32_PAIR), "unknown dtype"],
    ["bad shape", rawSafetensors({ w: entry("F32", [-2], 0, 8) }, F32_PAIR), "shape [-2]"],
    ["size vs shape", rawSafetensors({ w: entry("F32", [3], 0, 8) }, F32_PAIR), "needs 12"],
    ["out of range", rawSafetensors({ w: entry("F32", [4], 0, 16) }, F32_PAIR), "truncated"],
    ["truncated file", rawSafetensors(ok, F32_PAIR).subarray(0, -3), "truncated"],
    ["trailing bytes", rawSafetensors(ok, new Uint8Array(12)), "4 bytes after the last tensor"],
    [
      "overlap",
      rawSafetensors({ a: entry("F32", [2], 0, 8), b: entry("F32", [1], 4, 8) }, F32_PAIR),
      "overlaps",
    ],
    [
      "gap",
      rawSafetensors(
        { a: entry("F32", [1], 0, 4), b: entry("F32", [1], 8, 12) },
        new Uint8Array(12),
      ),
      "unclaimed bytes",
    ],
  ];
  for (const [what, bytes, reason] of cases) {
    const error = assertThrows(
      () => parseSafetensors(bytes, "bad.safetensors"),
      InputError,
      reason,
    );
    assert(error.message.startsWith("bad.safetensors: "), `${what}: ${error.message}`);
  }
});

Deno.test("files: atomic write, read back; a missing file is an InputError", async () => {
  await using dir = await testDir();
  const path = `${dir.path}/w.safetensors`;
  await writeSafetensorsFile(path, new Map([["x", { shape: [1], data: new Float32Array([4]) }]]));
  assertEquals(Array.from((await readSafetensorsFile(path)).tensors.get("x")!.data), [4]);
  await assertRejects(
    () => readSafetensorsFile(`${dir.path}/none.safetensors`),
    InputError,
    "not found",
  );
});

const FIXTURE = `${SHARED_DIR}/torch-parity/resnet18.safetensors`;
Deno.test({
  name: "reads the torchvision resnet18 fixture (102 tensors, metadata)",
  ignore: !(await pathExists(FIXTURE)),
  async fn() {
    const { metadata, tensors } = await readSafetensorsFile(FIXTURE);
    assertEquals(metadata.arch, "resnet18");
    assertEquals(tensors.size, 102);
    assertEquals(tensors.get("conv1.weight")!.shape, [64, 3, 7, 7]);
    assertEquals(tensors.get("fc.weight")!.shape, [4, 512]);
  },
});
