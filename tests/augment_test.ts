import { SeededRandom } from "../core/random.ts";
import {
  applyAugmentation,
  augmentGray,
  type AugmentParams,
  REFERENCE_AUGMENTATION,
  sampleAugmentation,
} from "../data/augment.ts";
import type { GrayImage } from "../data/image.ts";
import { assert, assertEquals } from "./assert.ts";

const NONE: AugmentParams = {
  fillGray: 0,
  shiftXPx: 0,
  shiftYPx: 0,
  rotationDeg: 0,
  brightnessFactor: 1,
  contrastFactor: 1,
  brightnessFirst: true,
};

function gradient(sizePx: number): GrayImage {
  const data = new Uint8Array(sizePx * sizePx);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) data[y * sizePx + x] = (x * 3 + y * 5) % 256;
  }
  return { widthPx: sizePx, heightPx: sizePx, data };
}

Deno.test("augmentGray is deterministic for a seed and varies across seeds", () => {
  const image = gradient(64);
  const a = augmentGray(image, new SeededRandom(11));
  const b = augmentGray(image, new SeededRandom(11));
  assertEquals(Array.from(a.data), Array.from(b.data));
  const outputs = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    outputs.add(augmentGray(image, new SeededRandom(seed)).data.join());
  }
  assert(outputs.size >= 7, `only ${outputs.size} distinct results from 8 seeds`);
  assert(a.data !== image.data && image.data[1] === 3, "input untouched");
});

Deno.test("sampled parameters follow the reference distributions", () => {
  const random = new SeededRandom(5);
  const n = 4000;
  let rotated = 0, brightnessFirst = 0;
  const shifts = new Set<number>();
  for (let i = 0; i < n; i++) {
    const p = sampleAugmentation(random, 224, 224);
    // max shift 0.02 · 224 = 4.48 px, rounded to whole pixels like torchvision.
    assert(Number.isInteger(p.shiftXPx) && Math.abs(p.shiftXPx) <= 4);
    assert(Number.isInteger(p.shiftYPx) && Math.abs(p.shiftYPx) <= 4);
    shifts.add(p.shiftXPx);
    assert(Math.abs(p.rotationDeg) <= 3);
    if (p.rotationDeg !== 0) rotated++;
    if (p.brightnessFirst) brightnessFirst++;
    assert(p.brightnessFactor >= 0.9 && p.brightnessFactor <= 1.1);
    assert(p.contrastFactor >= 0.9 && p.contrastFactor <= 1.1);
  }
  assertEquals([...shifts].sort((a, b) => a - b), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
  assert(Math.abs(rotated / n - REFERENCE_AUGMENTATION.rotationProbability) < 0.03);
  assert(Math.abs(brightnessFirst / n - 0.5) < 0.03);
});

Deno.test("translation moves by whole pixels and fills with black", () => {
  const image = { widthPx: 3, heightPx: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
  const out = applyAugmentation(image, { ...NONE, shiftXPx: 1, shiftYPx: -1 });
  assertEquals(Array.from(out.data), [0, 4, 5, 0, 7, 8, 0, 0, 0]);
  const gone = applyAugmentation(image, { ...NONE, shiftXPx: 5 });
  assert(gone.data.every((v) => v === 0));
  const white = applyAugmentation(image, { ...NONE, fillGray: 255, shiftXPx: 1, shiftYPx: -1 });
  assertEquals(Array.from(white.data), [255, 4, 5, 255, 7, 8, 255, 255, 255]);
});

Deno.test("rotation fills uncovered corners with the fill grey", () => {
  const flat = { widthPx: 64, heightPx: 64, data: new Uint8Array(64 * 64).fill(200) };
  const out = applyAugmentation(flat, { ...NONE, fillGray: 255, rotationDeg: -3 });
  assertEquals([out.data[0], out.data[64 * 64 - 1], out.data[32 * 64 + 32]], [255, 255, 200]);
});

Deno.test("rotation: interior of a flat image unchanged, corners black, counter-clockwise", () => {
  const size = 224;
  const flat = { widthPx: size, heightPx: size, data: new Uint8Array(size * size).fill(200) };
  const out = applyAugmentation(flat, { ...NONE, rotationDeg: 3 });
  assertEquals(out.data[112 * size + 112], 200);
  assertEquals(out.data[0], 0);
  assertEquals(out.data[size * size - 1], 0);
  const black = out.data.filter((v) => v === 0).length;
  // One uncovered triangle per side, legs 112 and 112·tan 3° = 5.9 px: about 4 · 329 pixels.
  assert(black > 1000 && black < 1600, `${black} black pixels`);
  assert(out.data.every((v) => v === 0 || v === 200), "flat areas stay exact");

  // A dot right of the centre ends up above it after +90° (counter-clockwise on screen).
  const dot = { widthPx: 9, heightPx: 9, data: new Uint8Array(81) };
  dot.data[4 * 9 + 7] = 255;
  const turned = applyAugmentation(dot, { ...NONE, rotationDeg: 90 });
  const brightest = turned.data.indexOf(Math.max(...turned.data));
  assertEquals([brightest % 9, Math.floor(brightest / 9)], [4, 1]);
});

Deno.test("brightness and contrast follow PIL's blend: float32 factor, truncation, clamping", () => {
  const image = { widthPx: 4, heightPx: 1, data: new Uint8Array([10, 100, 200, 250]) };
  const apply = (p: Partial<AugmentParams>) =>
    Array.from(applyAugmentation(image, { ...NONE, ...p }).data);
  // Values computed with numpy float32 the way PIL's C code does it: the product
  // float32(0.9)·100 rounds to exactly 90; 0.9·10 = 9.0000002 truncates to 9.
  assertEquals(apply({ brightnessFactor: 0.9 }), [9, 90, 180, 225]);
  assertEquals(apply({ brightnessFactor: 1.1 }), [11, 110, 220, 255]);
  // Mean 140 (rounded): 140 + c·(v − 140), clamped at 0 and 255.
  assertEquals(apply({ contrastFactor: 1.1 }), [0, 96, 206, 255]);
  assertEquals(apply({ contrastFactor: 0.9 }), [23, 104, 194, 239]);
  // The order matters through clamping and the rounded mean.
  const both = { brightnessFactor: 1.1, contrastFactor: 0.9 };
  assertEquals(apply({ ...both, brightnessFirst: true }), [24, 113, 212, 244]);
  assertEquals(apply({ ...both, brightnessFirst: false }), [25, 114, 213, 255]);
});
