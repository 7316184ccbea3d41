import { readNpyFile, requireDtype } from "../data/npy.ts";
import {
  denormalizeHWC,
  IMAGENET_MEAN,
  IMAGENET_STD,
  INPUT_CHANNELS,
  toNormalizedHWC,
  writeNormalizedHWC,
} from "../data/preprocess.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";

const PARITY = "../shared/torch-parity";
const haveParity = await pathExists(`${PARITY}/resnet18_inputs.npy`);

Deno.test("writeNormalizedHWC: hand-computed values, HWC order, 3 equal-source channels", () => {
  const image = { widthPx: 2, heightPx: 1, data: new Uint8Array([0, 255]) };
  const x = toNormalizedHWC(image);
  assertEquals(x.length, 2 * INPUT_CHANNELS);
  const expected = [
    -0.485 / 0.229,
    -0.456 / 0.224,
    -0.406 / 0.225, // pixel 0 (black), channels R G B
    (1 - 0.485) / 0.229,
    (1 - 0.456) / 0.224,
    (1 - 0.406) / 0.225, // pixel 1 (white)
  ];
  for (let i = 0; i < 6; i++) assertAlmostEquals(x[i], expected[i], 1e-6, `element ${i}`);
  // Mid-grey 128: (128/255 − mean) / std per channel.
  const mid = toNormalizedHWC({ widthPx: 1, heightPx: 1, data: new Uint8Array([128]) });
  for (let c = 0; c < 3; c++) {
    assertAlmostEquals(mid[c], (128 / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], 1e-6);
  }
});

Deno.test("writeNormalizedHWC writes one image's slot of an NHWC batch, nothing else", () => {
  const [s, n] = [3, 4];
  const batch = new Float32Array(n * s * s * 3).fill(99);
  const image = { widthPx: s, heightPx: s, data: new Uint8Array(s * s).fill(50) };
  writeNormalizedHWC(image, batch, 2 * s * s * 3);
  for (let i = 0; i < batch.length; i++) {
    const inSlot = i >= 2 * s * s * 3 && i < 3 * s * s * 3;
    assert(inSlot ? batch[i] !== 99 : batch[i] === 99, `element ${i}`);
  }
  assertThrows(() => writeNormalizedHWC(image, batch, 3 * s * s * 3 + 1), RangeError);
  assertThrows(() => writeNormalizedHWC(image, batch, -1), RangeError);
  const bad = { widthPx: 2, heightPx: 2, data: new Uint8Array(3) };
  assertThrows(() => writeNormalizedHWC(bad, batch, 0), RangeError);
});

Deno.test("float input on the 0..255 scale equals uint8 input bit for bit", () => {
  const u8 = new Uint8Array(256).map((_, i) => i);
  const f32 = Float32Array.from(u8);
  const a = toNormalizedHWC({ widthPx: 16, heightPx: 16, data: u8 });
  const b = toNormalizedHWC({ widthPx: 16, heightPx: 16, data: f32 });
  assertEquals(Array.from(a), Array.from(b));
});

Deno.test("denormalizeHWC inverts the normalisation for every 8-bit value", () => {
  const u8 = new Uint8Array(256).map((_, i) => i);
  const batch = new Float32Array(2 * 256 * 3);
  writeNormalizedHWC({ widthPx: 256, heightPx: 1, data: u8 }, batch, 256 * 3);
  const back = denormalizeHWC(batch, 256 * 3, 256, 1);
  for (let i = 0; i < 256; i++) {
    assertEquals(Array.from(back.data.subarray(i * 4, i * 4 + 4)), [i, i, i, 255]);
  }
  assertThrows(() => denormalizeHWC(batch, 257 * 3, 256, 1), RangeError);
});

Deno.test({
  name: `bit-identical to the PyTorch inputs of the torch-parity fixture${
    haveParity ? "" : ` (skipped: ${PARITY} absent)`
  }`,
  ignore: !haveParity,
  fn: async () => {
    const gray = requireDtype(await readNpyFile(`${PARITY}/resnet18_inputs_gray_u8.npy`), "uint8");
    const torch = requireDtype(await readNpyFile(`${PARITY}/resnet18_inputs.npy`), "float32"); // NCHW
    assertEquals(torch.shape, [2, 3, 224, 224]);
    const s = 224;
    const ours = new Float32Array(2 * s * s * 3); // NHWC
    for (let n = 0; n < 2; n++) {
      const data = gray.data.subarray(n * s * s, (n + 1) * s * s);
      writeNormalizedHWC({ widthPx: s, heightPx: s, data }, ours, n * s * s * 3);
    }
    let mismatches = 0;
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < s * s; p++) {
          if (ours[(n * s * s + p) * 3 + c] !== torch.data[(n * 3 + c) * s * s + p]) mismatches++;
        }
      }
    }
    assertEquals(mismatches, 0);
  },
});
