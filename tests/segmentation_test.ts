/**
 * Superpixel segmentations: contiguous labels, the grid exactly, quickshift and SLIC
 * separating a two-region image, L*a*b* conversion, determinism and bad options.
 */
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { segmentImage } from "../xai/perturbation/segmentation/algorithm.ts";
import { gridSegments } from "../xai/perturbation/segmentation/grid.ts";
import { rgbToLabHWC } from "../xai/perturbation/segmentation/lab.ts";
import { quickshiftSegments } from "../xai/perturbation/segmentation/quickshift.ts";
import type { Segments } from "../xai/perturbation/segmentation/segments.ts";
import { slicSegments } from "../xai/perturbation/segmentation/slic.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

/** Columns left of the middle dark grey, the rest light grey (sRGB on [0, 1]). */
function twoRegions(sizePx: number): Float32Array {
  return new Float32Array(sizePx * sizePx * 3).map((_, i) =>
    Math.floor(i / 3) % sizePx < sizePx / 2 ? 0.15 : 0.85
  );
}

/** A smooth colourful image with no flat regions. */
function texture(sizePx: number): Float32Array {
  return new Float32Array(sizePx * sizePx * 3).map((_, i) => {
    const [p, c] = [Math.floor(i / 3), i % 3];
    const [r, col] = [Math.floor(p / sizePx), p % sizePx];
    return 0.5 + 0.5 * Math.sin(0.3 * r + 0.2 * col * (c + 1) + c);
  });
}

function assertContiguous(s: Segments, label: string) {
  assertEquals(s.labelsHW.length, s.heightPx * s.widthPx, `${label}: one label per pixel`);
  const seen = new Set(s.labelsHW);
  assertEquals(seen.size, s.count, `${label}: count`);
  for (let k = 0; k < s.count; k++) assert(seen.has(k), `${label}: label ${k} unused`);
}

/** Every segment lies on one side of the middle column; both sides have segments. */
function assertSeparates(s: Segments, label: string) {
  const side = new Map<number, number>();
  s.labelsHW.forEach((k, p) => {
    const here = p % s.widthPx < s.widthPx / 2 ? 0 : 1;
    assert((side.get(k) ?? here) === here, `${label}: segment ${k} straddles the edge`);
    side.set(k, here);
  });
  assertEquals(new Set(side.values()).size, 2, `${label}: both regions`);
}

Deno.test("grid: cells numbered row by row, the last ones cut short", () => {
  const s = gridSegments(5, 7, { cellSizePx: 3 });
  assertEquals(s.count, 6);
  assertEquals(Array.from(s.labelsHW), [
    ...[0, 0, 0, 1, 1, 1, 2],
    ...[0, 0, 0, 1, 1, 1, 2],
    ...[0, 0, 0, 1, 1, 1, 2],
    ...[3, 3, 3, 4, 4, 4, 5],
    ...[3, 3, 3, 4, 4, 4, 5],
  ]);
  assertContiguous(gridSegments(64, 48), "grid default");
  assertEquals(gridSegments(64, 48).count, 12);
});

Deno.test("L*a*b*: white, black and sRGB red have their textbook values", () => {
  const lab = rgbToLabHWC(Float32Array.of(1, 1, 1, 0, 0, 0, 1, 0, 0));
  assertAlmostEquals(lab[0], 100, 1e-3);
  assertAlmostEquals(lab[3], 0, 1e-9);
  // skimage.color.rgb2lab([1, 0, 0]) = (53.24, 80.09, 67.20).
  assertAlmostEquals(lab[6], 53.24, 0.01);
  assertAlmostEquals(lab[7], 80.09, 0.01);
  assertAlmostEquals(lab[8], 67.2, 0.01);
});

Deno.test("quickshift with lime's parameters separates two flat regions", () => {
  const s = quickshiftSegments(twoRegions(48), 48, 48, new SeededRandom(1));
  assertContiguous(s, "quickshift");
  assertSeparates(s, "quickshift");
});

Deno.test("quickshift: labels contiguous, seeded, maxDist 0 cuts every link", () => {
  const image = texture(48);
  const a = quickshiftSegments(image, 48, 48, new SeededRandom(3));
  const b = quickshiftSegments(image, 48, 48, new SeededRandom(3));
  assertContiguous(a, "quickshift texture");
  assert(a.count > 1, "a textured image gives several segments");
  assertEquals(a.labelsHW, b.labelsHW);
  assertEquals(
    quickshiftSegments(image, 48, 48, new SeededRandom(3), { maxDist: 0 }).count,
    48 * 48,
  );
  // A bigger kernel smooths the density: fewer modes.
  const coarse = quickshiftSegments(image, 48, 48, new SeededRandom(3), { kernelSize: 8 });
  assert(coarse.count <= a.count, `kernelSize 8 gave ${coarse.count} > ${a.count} segments`);
});

Deno.test("SLIC separates two flat regions and keeps segments connected", () => {
  const s = slicSegments(twoRegions(32), 32, 32, { nSegments: 16 });
  assertContiguous(s, "slic");
  assertSeparates(s, "slic");
  const textured = slicSegments(texture(32), 32, 32, { nSegments: 20 });
  assertContiguous(textured, "slic texture");
  // 4-connectivity: a flood fill from any pixel of a segment reaches all of it.
  for (let k = 0; k < textured.count; k++) {
    const members = textured.labelsHW.reduce<number[]>(
      (list, label, p) => label === k ? [...list, p] : list,
      [],
    );
    const reached = new Set([members[0]]);
    const queue = [members[0]];
    while (queue.length > 0) {
      const p = queue.pop()!;
      const [r, c] = [Math.floor(p / 32), p % 32];
      for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const [r2, c2] = [r + dr, c + dc];
        const q = r2 * 32 + c2;
        if (r2 < 0 || r2 >= 32 || c2 < 0 || c2 >= 32 || reached.has(q)) continue;
        if (textured.labelsHW[q] !== k) continue;
        reached.add(q);
        queue.push(q);
      }
    }
    assertEquals(reached.size, members.length, `segment ${k} is not 4-connected`);
  }
});

Deno.test("segmentation: bad parameters and unknown names are InputErrors", () => {
  const random = new SeededRandom(1);
  const image = texture(8);
  assertThrows(() => gridSegments(8, 8, { cellSizePx: 0 }), InputError, "cellSizePx");
  assertThrows(() => slicSegments(image, 8, 8, { nSegments: 0 }), InputError, "nSegments");
  assertThrows(() => slicSegments(image, 8, 8, { compactness: -1 }), InputError, "compactness");
  assertThrows(
    () => quickshiftSegments(image, 8, 8, random, { kernelSize: 0 }),
    InputError,
    "kernelSize",
  );
  assertThrows(
    () => quickshiftSegments(image, 8, 8, random, { ratio: NaN }),
    InputError,
    "ratio",
  );
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => segmentImage(image, 8, 8, "felzenszwalb" as any, random),
    InputError,
    "quickshift, slic, grid",
  );
});
