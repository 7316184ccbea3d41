import { jpeg, png } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { decodeImage, readImageFile } from "../data/decode_image.ts";
import { rgbaToGray } from "../data/grayscale.ts";
import {
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_SIDE_PX,
  readImageHeader,
  sniffImageFormat,
} from "../data/image_header.ts";
import { decodeResizedGray } from "../data/image_cache.ts";
import { readNpyFile, requireDtype } from "../data/npy.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { pathExists, testDir } from "./test_dirs.ts";

const IMAGES = "../shared/data/ecg-images";
const FULLRES = "../shared/data/ecg-images-fullres";
const PARITY = "../shared/torch-parity";
const haveImages = await pathExists(IMAGES);
const haveFullres = await pathExists(FULLRES);
const haveParity = haveImages && await pathExists(`${PARITY}/resnet18_inputs_gray_u8.npy`);
const CLASSES = ["Abnormal", "HistoryMI", "MI", "Normal"];

/** A small RGB JPEG (gradient) made by jpeg-js, so these tests need no fixture files. */
function smallJpeg(widthPx = 16, heightPx = 12): Uint8Array {
  const data = new Uint8Array(widthPx * heightPx * 4);
  for (let i = 0; i < widthPx * heightPx; i++) {
    data.set([(i * 7) % 256, (i * 3) % 256, 128, 255], i * 4);
  }
  return new Uint8Array(jpeg.encode({ width: widthPx, height: heightPx, data }, 90).data);
}

/** SOI, then a baseline frame header declaring the size, then EOI: no pixel data at all. */
function jpegDeclaring(widthPx: number, heightPx: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8, // SOI
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08, // SOF0, length 17, 8-bit samples
    heightPx >> 8,
    heightPx & 0xff,
    widthPx >> 8,
    widthPx & 0xff,
    0x03,
    0x01,
    0x22,
    0x00,
    0x02,
    0x11,
    0x01,
    0x03,
    0x11,
    0x01, // 3 components
    0xff,
    0xd9, // EOI
  ]);
}

/** A PNG signature and IHDR chunk declaring the size (bad CRC, no data: never read). */
function pngDeclaring(widthPx: number, heightPx: number): Uint8Array {
  const bytes = new Uint8Array(33);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, widthPx);
  view.setUint32(20, heightPx);
  bytes.set([8, 6, 0, 0, 0], 24);
  return bytes;
}

Deno.test("sniffImageFormat recognises JPEG and PNG magic only", () => {
  assertEquals(sniffImageFormat(smallJpeg()), "jpeg");
  assertEquals(sniffImageFormat(pngDeclaring(1, 1)), "png");
  assertEquals(sniffImageFormat(new TextEncoder().encode("GIF89a")), undefined);
  assertEquals(sniffImageFormat(new Uint8Array(0)), undefined);
});

Deno.test("readImageHeader reads JPEG and PNG sizes without decoding", () => {
  assertEquals(readImageHeader(smallJpeg(16, 12), "a.jpg"), {
    format: "jpeg",
    widthPx: 16,
    heightPx: 12,
    jpegColor: { components: 3, adobeTransform: undefined },
  });
  assertEquals(readImageHeader(pngDeclaring(640, 455), "a.png"), {
    format: "png",
    widthPx: 640,
    heightPx: 455,
  });
});

Deno.test("zero-byte, non-image and truncated-header files are InputErrors naming the file", () => {
  assertThrows(() => decodeImage(new Uint8Array(0), "x/empty.jpg"), InputError, "x/empty.jpg");
  assertThrows(() => decodeImage(new Uint8Array(0), "e.jpg"), InputError, "zero-byte");
  const text = new TextEncoder().encode("this is a text file, not a scan\n");
  assertThrows(() => decodeImage(text, "notes.jpg"), InputError, "not a JPEG or PNG image");
  assertThrows(() => decodeImage(smallJpeg().subarray(0, 5), "t.jpg"), InputError, "truncated");
  assertThrows(
    () => decodeImage(pngDeclaring(4, 4).subarray(0, 20), "t.png"),
    InputError,
    "truncated",
  );
  const noFrame = new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]);
  assertThrows(() => decodeImage(noFrame, "nf.jpg"), InputError, "no frame header");
  assertThrows(() => decodeImage(pngDeclaring(0, 5), "z.png"), InputError, "empty image");
});

Deno.test("absurd declared dimensions are refused from the header, before any decoding", () => {
  // The decoders would have to allocate 40 GB (PNG) or 17 GB (JPEG) for these.
  for (
    const [bytes, file] of [
      [pngDeclaring(100_000, 100_000), "huge.png"],
      [jpegDeclaring(65_535, 65_535), "huge.jpg"],
      [jpegDeclaring(15_000, 15_000), "225mp.jpg"], // sides within the limit, area not
      [pngDeclaring(MAX_IMAGE_SIDE_PX + 1, 10), "wide.png"],
    ] as const
  ) {
    const t0 = performance.now();
    const error = assertThrows(() => decodeImage(bytes, file), InputError, "header declares");
    assert(error.message.startsWith(file) && error.message.includes("over the limit"));
    assert(performance.now() - t0 < 50, "refusal should be immediate");
  }
  assertEquals(MAX_IMAGE_PIXELS, 100_000_000);
});

Deno.test("truncated and corrupt image data are InputErrors", () => {
  const good = smallJpeg(32, 32);
  assertEquals(decodeImage(good, "ok.jpg").widthPx, 32);
  for (const cut of [2, 1, 30, Math.floor(good.length / 2)]) {
    assertThrows(
      () => decodeImage(good.subarray(0, good.length - cut), "cut.jpg"),
      InputError,
      "cut.jpg: corrupt or truncated JPEG",
    );
  }
  const goodPng = png.encode({ width: 8, height: 8, data: new Uint8Array(64 * 3), channels: 3 });
  for (const cut of [1, 12, 30]) {
    assertThrows(
      () => decodeImage(goodPng.subarray(0, goodPng.length - cut), "cut.png"),
      InputError,
      "cut.png: corrupt or truncated PNG",
    );
  }
  const flipped = goodPng.slice();
  flipped[goodPng.length - 20] ^= 0xff; // inside IDAT: the CRC check catches it
  assertThrows(() => decodeImage(flipped, "crc.png"), InputError, "corrupt or truncated PNG");
});

Deno.test("PNG colour types and depths all decode to PIL-compatible RGBA", () => {
  const rgbaOf = (image: png.ImageData) => Array.from(decodeImage(png.encode(image), "p.png").data);
  const base = { width: 2, height: 1 };
  assertEquals(rgbaOf({ ...base, channels: 1, data: new Uint8Array([0, 200]) }), [
    0,
    0,
    0,
    255,
    200,
    200,
    200,
    255,
  ]);
  assertEquals(rgbaOf({ ...base, channels: 2, data: new Uint8Array([10, 20, 30, 40]) }), [
    10,
    10,
    10,
    20,
    30,
    30,
    30,
    40,
  ]);
  assertEquals(rgbaOf({ ...base, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6]) }), [
    1,
    2,
    3,
    255,
    4,
    5,
    6,
    255,
  ]);
  const rgb16 = new Uint16Array([0xffff, 0x8000, 0x00ff, 0x1234, 0, 0x0100]);
  assertEquals(rgbaOf({ ...base, channels: 3, depth: 16, data: rgb16 }), [
    255,
    128,
    0,
    255,
    0x12,
    0,
    1,
    255,
  ]);
  // Sub-byte gray is packed MSB first and scaled to 0..255: 1-bit 1 → 255, 4-bit 5 → 85.
  assertEquals(rgbaOf({ ...base, channels: 1, depth: 1, data: new Uint8Array([0b0100_0000]) }), [
    0,
    0,
    0,
    255,
    255,
    255,
    255,
    255,
  ]);
  assertEquals(rgbaOf({ ...base, channels: 1, depth: 4, data: new Uint8Array([0x5f]) }), [
    85,
    85,
    85,
    255,
    255,
    255,
    255,
    255,
  ]);
  const palette = [[255, 0, 0], [0, 0, 255]];
  assertEquals(rgbaOf({ ...base, channels: 1, depth: 8, palette, data: new Uint8Array([1, 0]) }), [
    0,
    0,
    255,
    255,
    255,
    0,
    0,
    255,
  ]);
  assertEquals(
    rgbaOf({ ...base, channels: 1, depth: 1, palette, data: new Uint8Array([0b0100_0000]) }),
    [255, 0, 0, 255, 0, 0, 255, 255],
  );
});

Deno.test("a JPEG of flat colour decodes to that colour (rounded YCbCr conversion)", () => {
  const [w, h] = [16, 16];
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([200, 120, 60, 255], i * 4);
  const bytes = new Uint8Array(jpeg.encode({ width: w, height: h, data }, 100).data);
  const decoded = decodeImage(bytes, "flat.jpg");
  for (let c = 0; c < 3; c++) {
    const expected = [200, 120, 60][c];
    for (let i = 0; i < w * h; i++) {
      assert(Math.abs(decoded.data[i * 4 + c] - expected) <= 2, `channel ${c} off`);
    }
  }
  assert(decoded.data.every((v, i) => i % 4 !== 3 || v === 255));
});

Deno.test("readImageFile: missing files, folders and text files named .jpg", async () => {
  await using dir = await testDir();
  await assertRejects(() => readImageFile(`${dir.path}/nope.jpg`), InputError, "not found");
  await assertRejects(() => readImageFile(dir.path), InputError, "folder");
  await Deno.writeTextFile(`${dir.path}/MI(3).jpg`, "not an image");
  await assertRejects(
    () => readImageFile(`${dir.path}/MI(3).jpg`),
    InputError,
    "MI(3).jpg: not a JPEG or PNG image",
  );
  await Deno.writeFile(`${dir.path}/empty.png`, new Uint8Array(0));
  await assertRejects(() => readImageFile(`${dir.path}/empty.png`), InputError, "zero-byte");
});

Deno.test({
  name: `real ECG images decode, two per class${haveImages ? "" : ` (skipped: ${IMAGES} absent)`}`,
  ignore: !haveImages,
  fn: async () => {
    for (const split of ["train", "test"]) {
      for (const cls of CLASSES) {
        const names = [];
        for await (const e of Deno.readDir(`${IMAGES}/${split}/${cls}`)) names.push(e.name);
        for (const name of names.sort().slice(0, 2)) {
          const image = await readImageFile(`${IMAGES}/${split}/${cls}/${name}`);
          assertEquals(Math.max(image.widthPx, image.heightPx), 640, name);
          // A white report with dark traces: bright on average, some near-black pixels.
          const gray = rgbaToGray(image).data;
          const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
          assert(mean > 150 && gray.some((v) => v < 60), `${name}: mean ${mean}`);
        }
      }
    }
  },
});

Deno.test({
  name: `full-size 2213 x 1572 scans decode${haveFullres ? "" : ` (skipped: ${FULLRES} absent)`}`,
  ignore: !haveFullres,
  fn: async () => {
    let count = 0;
    for (const cls of CLASSES) {
      for await (const e of Deno.readDir(`${FULLRES}/${cls}`)) {
        const image = await readImageFile(`${FULLRES}/${cls}/${e.name}`);
        assertEquals([image.widthPx, image.heightPx], [2213, 1572], e.name);
        assertEquals(image.data.length, 2213 * 1572 * 4);
        count++;
      }
    }
    assertEquals(count, 8);
  },
});

Deno.test({
  name: `decode + resize + grey is close to PIL's (torch-parity gray_u8)${
    haveParity ? "" : ` (skipped: ${PARITY} or ${IMAGES} absent)`
  }`,
  ignore: !haveParity,
  fn: async () => {
    const reference = requireDtype(
      await readNpyFile(`${PARITY}/resnet18_inputs_gray_u8.npy`),
      "uint8",
    );
    assertEquals(reference.shape, [2, 224, 224]);
    const sources = ["MI/MI(1).jpg", "Normal/Normal(109).jpg"]; // inputs.sources in the JSON
    for (const [n, source] of sources.entries()) {
      const file = `${IMAGES}/test/${source}`;
      const ours = decodeResizedGray(await Deno.readFile(file), file, 224).data;
      const theirs = reference.data.subarray(n * 224 * 224, (n + 1) * 224 * 224);
      let exact = 0, maxDiff = 0, bias = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = ours[i] - theirs[i];
        if (d === 0) exact++;
        maxDiff = Math.max(maxDiff, Math.abs(d));
        bias += d;
      }
      // Measured: 90 % exact, max 2, bias +0.05. The rest is libjpeg's IDCT and chroma
      // upsampling, which jpeg-js does differently; resize and grey are exact.
      assert(exact / ours.length > 0.85, `${source}: ${exact / ours.length} exact`);
      assert(maxDiff <= 3, `${source}: max difference ${maxDiff}`);
      assert(Math.abs(bias / ours.length) < 0.15, `${source}: bias ${bias / ours.length}`);
    }
  },
});
