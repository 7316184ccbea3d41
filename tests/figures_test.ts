import { assert, assertEquals, assertThrows } from "./assert.ts";
import { png } from "../deps.ts";
import { filledImage } from "../data/synth/raster.ts";
import { colormapRgb } from "../xai/colormap.ts";
import {
  COLOUR_SCALE_PNG_KEYWORD,
  colourScaleOf,
  colourScaleText,
  parseColourScaleText,
  scalePosition,
  scaleStrength,
} from "../xai/colour_scale.ts";
import { normaliseMinMax } from "../xai/normalise.ts";
import { attributionPictures, explanationPictures } from "../xai/overlay.ts";
import { colourBarSvg } from "../xai/colour_bar.ts";
import { PICTURE_HEIGHT_PNG_KEYWORD } from "../xai/captioned_picture.ts";
import { classOverviewFigure } from "../plots/figures/ecg_examples.ts";
import { type ExplainedPictures, heatmapGridFigure } from "../plots/figures/explanation_grids.ts";
import { encodeRgbaPng, readPngText } from "../data/png_file.ts";
import { svgToPng } from "../svg/rasterise.ts";
import { chooseGridImages } from "../stages/viz.ts";
import { parseColormap } from "../stages/xai.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { explainXaiChunk } from "../runs/xai_chunk.ts";
import { InputError } from "../core/errors.ts";
import { testDir } from "./test_dirs.ts";

/** `<g class="…">` groups of a class in an SVG text. */
function groups(svg: string, className: string): number {
  return svg.split(`<g class="${className}"`).length - 1;
}

Deno.test("diverging colours: zero is neutral, limits and colours are symmetric", () => {
  const map = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i) * (i % 7));
  const scale = colourScaleOf(map);
  assertEquals(scale.colormap, "RdBu_r");
  assertEquals(scale.low, -scale.high, "symmetric limits");
  assert(scale.high > 0 && scale.high <= 6, `the 99th percentile of |a|: ${scale.high}`);
  assertEquals(colormapRgb("RdBu_r", scalePosition(scale, 0)), [247, 247, 247]);
  for (const v of [0.3, 1, 2.5, 100]) {
    assert(Math.abs(scalePosition(scale, -v) - (1 - scalePosition(scale, v))) < 1e-12);
    assertEquals(scaleStrength(scale, -v), scaleStrength(scale, v));
    const [r, , b] = colormapRgb("RdBu_r", scalePosition(scale, v));
    const [rNeg, , bNeg] = colormapRgb("RdBu_r", scalePosition(scale, -v));
    assert(r > b && bNeg > rNeg, `+${v} is red, -${v} is blue`);
  }
  // Zero attribution leaves the picture as it was; the strongest shows at 70 %.
  const source = { widthPx: 3, heightPx: 1, data: new Uint8Array(12).fill(255) };
  source.data.set([10, 20, 30], 0);
  const { overlay, heatmap } = attributionPictures(Float32Array.of(0, -1, 1), 3, 1, source);
  assertEquals([...overlay.data.subarray(0, 4)], [10, 20, 30, 255]);
  assertEquals([...heatmap.data.subarray(0, 3)], [247, 247, 247]);
  assert(overlay.data[4 + 2] > overlay.data[4], "negative: blue over white");
  assert(overlay.data[8] > overlay.data[8 + 2], "positive: red over white");

  // Unsigned maps are sequential from 0; a sparse map falls back to its maximum.
  const unsigned = colourScaleOf(Float32Array.of(0, 0.5, 2));
  assertEquals([unsigned.colormap, unsigned.low], ["Reds", 0]);
  const sparse = new Float32Array(1000);
  sparse[3] = 5;
  assertEquals(colourScaleOf(sparse), { colormap: "Reds", low: 0, high: 5 });
  assertEquals(colourScaleOf(new Float32Array(4)).high, 0, "all zeros: limit 0, all neutral");
});

Deno.test("jet stays available under --colormap jet, byte for byte the reference drawing", () => {
  const raw = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i) - 0.2);
  const source = { widthPx: 8, heightPx: 8, data: new Uint8Array(256).map((_, i) => i) };
  const jet = attributionPictures(raw, 4, 4, source, "jet");
  const reference = explanationPictures(normaliseMinMax(raw, 1), 4, 4, source);
  assertEquals([...jet.overlay.data], [...reference.overlay.data]);
  assertEquals([...jet.heatmap.data], [...reference.heatmap.data]);
  assertEquals(jet.scale.colormap, "jet");
});

Deno.test("a picture's colour scale travels in its PNG text", () => {
  const scale = { colormap: "RdBu_r" as const, low: -0.25, high: 0.25 };
  const bytes = encodeRgbaPng(filledImage(2, 2, [1, 2, 3]), {
    [COLOUR_SCALE_PNG_KEYWORD]: colourScaleText(scale),
  });
  const text = readPngText(bytes)[COLOUR_SCALE_PNG_KEYWORD];
  assertEquals(parseColourScaleText(text, "x.png"), scale);
  assertEquals(png.decode(bytes).width, 2, "still a plain PNG");
});

function explained(id: string, trueClass: string, predictedClass: string) {
  return { id, file: `${id}.jpg`, trueClass, predictedClass, probability: 0.6 };
}

Deno.test("grids: every class shows, wrong predictions are marked, every overlay has a colour bar", async () => {
  const classes = ["Abnormal", "Größe-Ω", "MI", "Normal"];
  // The index lists each class's images together, the first class first: taking the first
  // rows would show only it.
  const index = classes.flatMap((c, k) =>
    [0, 1, 2].map((i) => explained(`test/${c}/${i}`, c, i === 2 ? classes[(k + 1) % 4] : c))
  );
  const { images, rule } = chooseGridImages(index, classes, 8);
  assertEquals(new Set(images.slice(0, 4).map((i) => i.trueClass)), new Set(classes));
  assertEquals(images.length, 8);
  assert(images.some((i) => i.trueClass !== i.predictedClass), "a wrong prediction shows");
  assert(rule.includes("round-robin") && rule.includes("Größe-Ω"), rule);
  assertEquals(chooseGridImages(index, classes, 8, ["test/MI/1"]).images.map((i) => i.id), [
    "test/MI/1",
  ]);

  const picture = filledImage(300, 200, [200, 200, 200]);
  const scales = [
    { colormap: "RdBu_r" as const, low: -1, high: 1 },
    { colormap: "Reds" as const, low: 0, high: 2 },
  ];
  const pictures: ExplainedPictures[] = images.map((image) => ({
    ...image,
    input: picture,
    overlays: [picture, picture],
    scales,
  }));
  const grid = heatmapGridFigure("ecgnet", ["integrated_gradients", "gradcam"], pictures, rule);
  assertEquals(groups(grid.svg, "colour-bar"), 2 * images.length, "one bar per overlay");
  assertEquals(groups(grid.svg, "tile"), 3 * images.length);
  for (const c of classes) assert(grid.svg.includes(`true ${c}`), `class ${c} is in the grid`);
  assert(grid.svg.includes("Größe-Ω") && !grid.svg.includes("Gr??e"), "non-ASCII survives");
  assert(grid.svg.includes(">WRONG<") && grid.svg.includes(">correct<"));
  assert(grid.svg.includes('class="tile-frame"'));
  assert(grid.svg.includes("negative ← 0 → positive") && grid.svg.includes("low → high"));
  assert(grid.svg.includes("99th percentile"), "the footer states the scaling rule");

  // resvg draws it at its own size, with the bundled font.
  const drawn = png.decode(await svgToPng(grid.svg, { scale: 1 }));
  assertEquals([drawn.width, drawn.height], [grid.widthPx, grid.heightPx]);
});

Deno.test("figure text: a non-ASCII class name is drawn, not replaced", async () => {
  const picture = filledImage(200, 100, [255, 255, 255]);
  const figure = classOverviewFigure([{ label: "Größe", image: picture }]);
  assert(figure.svg.includes(">Größe</text>"));
  // The caption's ink: drawn with the font, the label leaves dark pixels under the tile.
  const bare = classOverviewFigure([{ label: "", image: picture }]);
  const ink = async (svg: string) => {
    const image = png.decode(await svgToPng(svg, { scale: 1 }));
    let dark = 0;
    for (let i = 0; i < image.data.length; i += image.channels) if (image.data[i] < 128) dark++;
    return dark;
  };
  assert((await ink(figure.svg)) > (await ink(bare.svg)) + 20, "the caption is drawn");
  assert(colourBarSvg(undefined, 0, 0, 300).includes("colour-bar-unknown"));
});

Deno.test("the xai stage records each picture's colour scale; --colormap jet draws the reference's", async () => {
  assertThrows(() => parseColormap("viridis"), InputError, "auto, jet");
  await startBackend("cpu");
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
  await using dir = await testDir();
  const file = `${dir.path}/a.png`;
  await Deno.writeFile(file, encodeRgbaPng(filledImage(40, 30, [250, 250, 250])));
  const scaleOf = async (method: string, colormap: "auto" | "jet") => {
    const out = `${dir.path}/${method}-${colormap}`;
    await explainXaiChunk(model, {
      checkpoint: "unused",
      backend: "cpu",
      openBlas: false,
      method,
      dir: out,
      colormap,
      xNHWC: Float32Array.from({ length: 32 * 32 * 3 }, (_, i) => Math.sin(i)),
      shapeNHWC: [1, 32, 32, 3],
      targets: Int32Array.of(1),
      images: [{
        id: "test/MI/a",
        file,
        trueClass: "MI",
        predictedClass: "MI",
        probability: 0.5,
        targetClass: "MI",
      }],
    });
    const scales = [];
    for (const kind of ["heatmap", "overlay"]) {
      const bytes = await Deno.readFile(`${out}/${kind}/test/MI/a.png`);
      const picture = png.decode(bytes);
      assertEquals(picture.width, 40, "at the source's size");
      assertEquals(readPngText(bytes)[PICTURE_HEIGHT_PNG_KEYWORD], "30", "the source's height");
      assert(picture.height > 30, "with the colour bar below");
      scales.push(parseColourScaleText(readPngText(bytes)[COLOUR_SCALE_PNG_KEYWORD], kind));
    }
    assertEquals(scales[0], scales[1]);
    return scales[0];
  };
  try {
    const ig = await scaleOf("integrated_gradients", "auto");
    assertEquals(ig.colormap, "RdBu_r", "Integrated Gradients is signed");
    assertEquals(ig.low, -ig.high);
    assertEquals((await scaleOf("gradcam", "auto")).colormap, "Reds", "Grad-CAM is not");
    assertEquals((await scaleOf("integrated_gradients", "jet")).colormap, "jet");
  } finally {
    model.dispose();
  }
});
