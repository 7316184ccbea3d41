import { InputError } from "../core/errors.ts";
import { readNpy, readNpyFile, requireDtype, writeNpy, writeNpyFile } from "../data/npy.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { pathExists, testDir } from "./test_dirs.ts";

const PARITY = "../shared/torch-parity";
const haveParity = await pathExists(`${PARITY}/resnet18_inputs.npy`);

/** A `.npy` file written by hand: magic, version, header length, header, data. */
function handMade(header: string, data: Uint8Array, major = 1): Uint8Array {
  const lengthBytes = major === 1 ? 2 : 4;
  const text = new TextEncoder().encode(header + "\n");
  const out = new Uint8Array(8 + lengthBytes + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, 8 + lengthBytes);
  out.set(data, 8 + lengthBytes + text.length);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const dict = (descr: string, shape: string, fortran = "False") =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

Deno.test("reads hand-made files of every supported dtype", () => {
  const f32 = requireDtype(
    readNpy(handMade(dict("<f4", "(2, 2)"), bytesOf(new Float32Array([1, -2, 0.5, 3])))),
    "float32",
  );
  assertEquals(f32.dtype, "float32");
  assertEquals(f32.shape, [2, 2]);
  assertEquals(Array.from(f32.data), [1, -2, 0.5, 3]);

  const u8 = requireDtype(
    readNpy(handMade(dict("|u1", "(3,)"), new Uint8Array([0, 128, 255]))),
    "uint8",
  );
  assertEquals([u8.dtype, u8.shape, Array.from(u8.data)], ["uint8", [3], [0, 128, 255]]);

  const f64 = requireDtype(
    readNpy(handMade(dict("<f8", "(1, 2)"), bytesOf(new Float64Array([Math.PI, -1])))),
    "float64",
  );
  assertEquals([f64.dtype, Array.from(f64.data)], ["float64", [Math.PI, -1]]);

  const i32 = requireDtype(
    readNpy(handMade(dict("<i4", "(2,)"), bytesOf(new Int32Array([-7, 2 ** 30])))),
    "int32",
  );
  assertEquals([i32.dtype, Array.from(i32.data)], ["int32", [-7, 2 ** 30]]);

  const i64 = requireDtype(
    readNpy(handMade(dict("<i8", "(2,)"), bytesOf(new BigInt64Array([-1n, 2n ** 40n])))),
    "int64",
  );
  assertEquals([i64.dtype, Array.from(i64.data)], ["int64", [-1n, 2n ** 40n]]);

  // Format 2.0 (uint32 header length), a scalar, an empty array; odd data offsets are fine.
  const v2 = requireDtype(
    readNpy(handMade(dict("<f4", "(1,)"), bytesOf(new Float32Array([9])), 2)),
    "float32",
  );
  assertEquals(Array.from(v2.data), [9]);
  const scalar = requireDtype(
    readNpy(handMade(dict("<f4", "()"), bytesOf(new Float32Array([4])))),
    "float32",
  );
  assertEquals([scalar.shape, Array.from(scalar.data)], [[], [4]]);
  const empty = readNpy(handMade(dict("<f4", "(0, 5)"), new Uint8Array(0)));
  assertEquals([empty.shape, empty.data.length], [[0, 5], 0]);
});

Deno.test("writeNpy output is standard: header text, 64-byte alignment, round trip", () => {
  const data = new Float32Array([1.5, -2.25, 3e-8, 7, 8, 9]);
  const bytes = writeNpy([2, 3], data);
  const headerLength = new DataView(bytes.buffer).getUint16(8, true);
  assertEquals((10 + headerLength) % 64, 0);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  assert(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  assert(header.endsWith(" \n"));
  const back = requireDtype(readNpy(bytes), "float32");
  assertEquals([back.dtype, back.shape, Array.from(back.data)], [
    "float32",
    [2, 3],
    Array.from(data),
  ]);

  const one = requireDtype(readNpy(writeNpy([3], new Uint8Array([4, 5, 6]))), "uint8");
  assertEquals([one.dtype, one.shape, Array.from(one.data)], ["uint8", [3], [4, 5, 6]]);
  // A subarray view writes only its own elements.
  const view = new Float32Array([0, 1, 2, 3]).subarray(1, 3);
  assertEquals(Array.from(requireDtype(readNpy(writeNpy([2], view)), "float32").data), [1, 2]);
  assertThrows(() => writeNpy([2, 2], new Float32Array(3)), RangeError);
  assertThrows(
    () => requireDtype(one, "float32", "u.npy"),
    InputError,
    "u.npy: expected a float32",
  );
});

Deno.test("bad files are InputErrors naming the file and the reason", () => {
  const f4 = bytesOf(new Float32Array([1, 2]));
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(0), "magic"],
    [new TextEncoder().encode("hello, world"), "magic"],
    [handMade(dict("<f4", "(2,)", "True"), f4), "Fortran order"],
    [handMade(dict(">f4", "(2,)"), f4), "unsupported dtype '>f4'"],
    [handMade(dict("<f2", "(2,)"), f4), "unsupported dtype '<f2'"],
    [handMade(dict("<f4", "(3,)"), f4), "truncated"],
    [handMade(dict("<f4", "(1,)"), f4), "needs 4 data bytes, the file has 8"],
    [handMade("{'descr': '<f4'}", f4), "malformed header"],
    [handMade(dict("<f4", "(2,)"), f4, 4), "unsupported format version 4"],
    [handMade(dict("<f4", "(2,)"), f4).subarray(0, 30), "truncated header"],
    [handMade(dict("<f4", "(-2,)"), f4), "bad shape"],
  ];
  for (const [bytes, reason] of cases) {
    const error = assertThrows(() => readNpy(bytes, "dir/a.npy"), InputError, reason);
    assert(error.message.startsWith("dir/a.npy: "), error.message);
  }
});

Deno.test("file helpers round-trip; a missing file is an InputError", async () => {
  await using dir = await testDir();
  await writeNpyFile(`${dir.path}/x.npy`, [2, 1], new Float32Array([0.25, -4]));
  const back = requireDtype(await readNpyFile(`${dir.path}/x.npy`), "float32");
  assertEquals([back.shape, Array.from(back.data)], [[2, 1], [0.25, -4]]);
  let error: unknown;
  await readNpyFile(`${dir.path}/missing.npy`).catch((e) => (error = e));
  assert(error instanceof InputError && error.message.includes("missing.npy"));
});

Deno.test({
  name: `reads the torch-parity inputs and round-trips them${
    haveParity ? "" : ` (skipped: ${PARITY} absent)`
  }`,
  ignore: !haveParity,
  fn: async () => {
    const bytes = await Deno.readFile(`${PARITY}/resnet18_inputs.npy`);
    const inputs = requireDtype(readNpy(bytes, "resnet18_inputs.npy"), "float32");
    assertEquals(inputs.shape, [2, 3, 224, 224]);
    const expected = JSON.parse(await Deno.readTextFile(`${PARITY}/resnet18_expected.json`));
    const { sum, probe_flat_index: probes, probe_values: values } = expected.inputs.checksum;
    let total = 0;
    for (const v of inputs.data) total += v;
    assertAlmostEquals(total, sum, 1e-6 * Math.abs(sum));
    for (const [i, index] of probes.entries()) assertEquals(inputs.data[index], values[i]);
    const again = writeNpy(inputs.shape, inputs.data);
    assertEquals(again, bytes, "numpy's own file is reproduced byte for byte");

    const gray = await readNpyFile(`${PARITY}/resnet18_inputs_gray_u8.npy`);
    assertEquals([gray.dtype, gray.shape], ["uint8", [2, 224, 224]]);
  },
});
