import { assert, assertEquals, assertThrows } from "./assert.ts";
import { InputError } from "../core/errors.ts";
import { decodeImage } from "../data/decode_image.ts";
import type { RgbaImage } from "../data/image.ts";
import { encodeRgbaPng, readPngText } from "../data/png_file.ts";
import {
  bareExplanationPicture,
  captionPictures,
  colourBarStrip,
  colourBarStripSvg,
  PICTURE_HEIGHT_PNG_KEYWORD,
  STRIP_LAYOUT_WIDTH_PX,
} from "../xai/captioned_picture.ts";
import { type ColormapName, colormapRgb } from "../xai/colormap.ts";
import {
  COLOUR_SCALE_PNG_KEYWORD,
  type ColourScale,
  parseColourScaleText,
} from "../xai/colour_scale.ts";
import { attributionPictures } from "../xai/overlay.ts";

/** A 640 x 455 grey page, the size of the real data set's scans. */
const SOURCE: RgbaImage = {
  widthPx: 640,
  heightPx: 455,
  data: new Uint8Array(640 * 455 * 4).map((_, i) => (i % 4 === 3 ? 255 : 180)),
};

/** An 8 x 8 map ramping from `from` to `to`. */
function rampMap(from: number, to: number): Float32Array {
  return Float32Array.from({ length: 64 }, (_, i) => from + ((to - from) * i) / 63);
}

/** The attribute values of the strip's `<g class="colour-bar">`. */
function barAttributes(svg: string): { colormap: string; low: number; high: number } {
  const match = svg.match(
    /<g class="colour-bar" data-colormap="(\w+)" data-low="([^"]+)" data-high="([^"]+)"/,
  );
  assert(match, "the strip has a colour bar");
  return { colormap: match[1], low: Number(match[2]), high: Number(match[3]) };
}

/** The texts of the strip's SVG, in order. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/**
 * The drawn strip's colour at fraction `t` along the bar (the layout's bar: 8 px margin, 5 px
 * below its top is the middle of its 10 px height), scaled to the picture's width.
 */
function barColourAt(strip: RgbaImage, t: number): number[] {
  const zoom = strip.widthPx / STRIP_LAYOUT_WIDTH_PX;
  const xPx = Math.round((8 + t * (STRIP_LAYOUT_WIDTH_PX - 16)) * zoom);
  const yPx = Math.round(13 * zoom);
  const at = (yPx * strip.widthPx + xPx) * 4;
  return [...strip.data.subarray(at, at + 3)];
}

function assertNearColour(actual: number[], colormap: ColormapName, t: number, what: string) {
  const expected = colormapRgb(colormap, t);
  const off = Math.max(...actual.map((v, c) => Math.abs(v - expected[c])));
  assert(off <= 12, `${what}: ${actual} is not ${colormap}(${t}) = ${expected}`);
}

/** The captioned pictures of `raw` as the xai stage writes them, read back from PNG bytes. */
async function writtenAndReadBack(raw: Float32Array, choice: "auto" | "jet") {
  const drawn = attributionPictures(raw, 8, 8, SOURCE, choice);
  const captioned = await captionPictures(drawn.heatmap, drawn.overlay, drawn.scale);
  const read = (image: RgbaImage) => {
    const bytes = encodeRgbaPng(image, captioned.text);
    return { image: decodeImage(bytes, "x.png"), text: readPngText(bytes) };
  };
  return { drawn, heatmap: read(captioned.heatmap), overlay: read(captioned.overlay) };
}

Deno.test("a signed map's PNG carries its colour bar: symmetric about 0, limits and meaning written", async () => {
  const { drawn, heatmap, overlay } = await writtenAndReadBack(rampMap(-0.3, 0.6), "auto");
  for (const [kind, picture] of [["heatmap", heatmap], ["overlay", overlay]] as const) {
    assertEquals(picture.image.widthPx, SOURCE.widthPx, `${kind}: the source's width`);
    assert(picture.image.heightPx > SOURCE.heightPx + 60, `${kind}: a strip below the picture`);
    assertEquals(picture.text[PICTURE_HEIGHT_PNG_KEYWORD], String(SOURCE.heightPx));
    const scale = parseColourScaleText(picture.text[COLOUR_SCALE_PNG_KEYWORD], kind);
    assertEquals(scale, drawn.scale);
    // The picture itself is unchanged, pixel for pixel, above the strip.
    const bare = bareExplanationPicture(picture.image, picture.text, kind);
    assertEquals([bare.widthPx, bare.heightPx], [SOURCE.widthPx, SOURCE.heightPx]);
    assert(
      bare.data.every((v, i) => v === drawn[kind].data[i]),
      `${kind}: the picture is as drawn`,
    );
  }
  const scale = drawn.scale;
  assertEquals(scale.colormap, "RdBu_r");
  const strip = colourBarStripSvg(scale, SOURCE.widthPx);
  const bar = barAttributes(strip.svg);
  assertEquals(bar.low, -bar.high, "symmetric limits");
  const words = texts(strip.svg);
  const limit = words.find((w) => w.startsWith("+"));
  assert(limit && words.includes(`−${limit.slice(1)}`), `±L written at the ends: ${words}`);
  assert(words.includes("0"), "0 written at the centre");
  assert(words.includes("attribution (signed): negative ← 0 → positive"), `${words}`);
  assert(words.some((w) => w.includes("±99th percentile of |a|")), `the rule: ${words}`);

  // The strip as drawn under the picture: blue at −L, white at 0, red at +L, mirrored.
  const drawnStrip: RgbaImage = {
    widthPx: overlay.image.widthPx,
    heightPx: overlay.image.heightPx - SOURCE.heightPx,
    data: overlay.image.data.subarray(SOURCE.widthPx * SOURCE.heightPx * 4),
  };
  for (const t of [0.02, 0.25, 0.5, 0.75, 0.98]) {
    assertNearColour(barColourAt(drawnStrip, t), "RdBu_r", t, `bar at ${t}`);
  }
  const [left, right] = [barColourAt(drawnStrip, 0.1), barColourAt(drawnStrip, 0.9)];
  assert(left[2] > left[0] + 60 && right[0] > right[2] + 60, `blue ${left}, red ${right}`);
  assertEquals(
    [...heatmap.image.data.subarray(SOURCE.widthPx * SOURCE.heightPx * 4)],
    [...drawnStrip.data],
    "the heatmap and the overlay carry the same bar",
  );
});

Deno.test("an unsigned map's bar runs from 0 to its limit in Reds and says relevance (unsigned)", async () => {
  const scale: ColourScale = { colormap: "Reds", low: 0, high: 0.004 };
  const strip = colourBarStripSvg(scale, 800);
  assertEquals(barAttributes(strip.svg), { colormap: "Reds", low: 0, high: 0.004 });
  const words = texts(strip.svg);
  assert(words.includes("0") && words.includes("0.004"), `${words}`);
  assert(words.includes("relevance (unsigned): low → high"), `${words}`);
  assert(words.some((w) => w.includes("0 .. 99th percentile of a")), `${words}`);
  const drawn = await colourBarStrip(scale, 800);
  assertEquals(drawn.widthPx, 800);
  for (const t of [0.02, 0.5, 0.98]) assertNearColour(barColourAt(drawn, t), "Reds", t, `at ${t}`);
});

Deno.test("--colormap jet: the bar spans the map's minimum and maximum and says min-max", async () => {
  const { drawn, overlay } = await writtenAndReadBack(rampMap(-0.2, 0.9), "jet");
  const scale = parseColourScaleText(overlay.text[COLOUR_SCALE_PNG_KEYWORD], "overlay");
  assertEquals(scale.colormap, "jet");
  const strip = colourBarStripSvg(scale, SOURCE.widthPx);
  const bar = barAttributes(strip.svg);
  assertEquals([bar.low, bar.high], [drawn.scale.low, drawn.scale.high]);
  assert(
    Math.abs(bar.low + 0.2) < 1e-6 && Math.abs(bar.high - 0.9) < 1e-6,
    `${bar.low}..${bar.high}`,
  );
  const words = texts(strip.svg);
  assert(words.includes("map, min-max normalised (jet): min → max"), `${words}`);
  assert(words.some((w) => w.includes("minimum and maximum")), `${words}`);
  assert(!words.includes("0"), "no centre mark: jet is not centred at zero");
  const drawnStrip: RgbaImage = {
    widthPx: overlay.image.widthPx,
    heightPx: overlay.image.heightPx - SOURCE.heightPx,
    data: overlay.image.data.subarray(SOURCE.widthPx * SOURCE.heightPx * 4),
  };
  for (const t of [0.02, 0.5, 0.98]) {
    assertNearColour(barColourAt(drawnStrip, t), "jet", t, `at ${t}`);
  }
});

Deno.test("narrow pictures keep the figures' text size; a PNG without the record is all picture", async () => {
  const scale: ColourScale = { colormap: "RdBu_r", low: -1, high: 1 };
  const narrow = colourBarStripSvg(scale, 120);
  assertEquals(narrow.widthPx, 120, "laid out at the picture's width, drawn at 1x");
  assert(narrow.svg.includes('font-size="12"'));
  const strip = await colourBarStrip(scale, 120);
  assertEquals([strip.widthPx, strip.heightPx], [narrow.widthPx, narrow.heightPx]);

  const image = { widthPx: 2, heightPx: 2, data: new Uint8Array(16).fill(7) };
  assertEquals(bareExplanationPicture(image, {}, "old.png"), image);
  assertThrows(
    () => bareExplanationPicture(image, { [PICTURE_HEIGHT_PNG_KEYWORD]: "3" }, "short.png"),
    InputError,
    "short.png",
  );
  assertThrows(
    () => bareExplanationPicture(image, { [PICTURE_HEIGHT_PNG_KEYWORD]: "1.5" }, "odd.png"),
    InputError,
    "odd.png",
  );
});
