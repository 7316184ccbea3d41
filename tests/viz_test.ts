import { assert, assertEquals } from "./assert.ts";
import { parseCsv, png } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { loadResizedGray } from "../data/image_cache.ts";
import { buildModel } from "../models/registry.ts";
import { startBackend } from "../backends/backend.ts";
import { writeCheckpoint } from "../training/checkpoint_io.ts";
import { filterGridFigure, filterTiles } from "../plots/figures/filter_grid.ts";
import { inkiestWindow, pixelGridFigure } from "../plots/figures/pixel_grid.ts";
import { SCATTER_SIZE_PX, scatterPlot } from "../plots/figures/scatter.ts";
import { umapEmbedding } from "../plots/figures/umap_embedding.ts";
import { THUMBNAIL_BOX_PX, UMAP_CSV_COLUMNS } from "../stages/viz.ts";
import { decodeImage } from "../data/decode_image.ts";
import type { RgbaImage } from "../data/image.ts";
import { readPngText } from "../data/png_file.ts";
import { fitWithin } from "../plots/figures/canvas.ts";
import { overlayFile } from "../plots/figures/explanation_index.ts";
import { bareExplanationPicture } from "../xai/captioned_picture.ts";
import { runMain } from "./stage_runner.ts";
import { testDir } from "./test_dirs.ts";
import { SYNTH_CLASS_NAMES, writeTinySyntheticSet } from "./training_fixtures.ts";

const SIZE_PX = 32;

function decodeSize(bytes: Uint8Array): [number, number] {
  const image = png.decode(bytes);
  return [image.width, image.height];
}

/** The pictures an SVG figure embeds (`<image href="data:image/png;base64,...">`), decoded. */
function embeddedPictures(svg: string): RgbaImage[] {
  return [...svg.matchAll(/href="data:image\/png;base64,([^"]+)"/g)].map(([, data], i) =>
    decodeImage(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)), `embedded picture ${i}`)
  );
}

function samePixels(a: RgbaImage, b: RgbaImage): boolean {
  return a.widthPx === b.widthPx && a.heightPx === b.heightPx &&
    a.data.every((v, i) => v === b.data[i]);
}

Deno.test("figure pieces: filter tiles, inkiest window, glyph fallback, seeded UMAP", () => {
  const kernel = new Float32Array(3 * 3 * 3 * 5).map((_, i) => Math.cos(i));
  const tiles = filterTiles(kernel, [3, 3, 3, 5], 4);
  assertEquals(tiles.length, 5);
  assertEquals([tiles[0].widthPx, tiles[0].heightPx], [12, 12]);
  // Each tile spans 0..255 of its own filter.
  const bytes = [...tiles[2].data].filter((_, i) => i % 4 !== 3);
  assertEquals([Math.min(...bytes), Math.max(...bytes)], [0, 255]);

  const paper = new Uint8Array(10 * 10).fill(255);
  paper[7 * 10 + 8] = 0;
  assertEquals(inkiestWindow({ widthPx: 10, heightPx: 10, data: paper }, 3), { xPx: 6, yPx: 5 });
  // Figure text is SVG text in DejaVu Sans: no character is replaced by "?" any more.
  const legend = scatterPlot({
    pointsN2: new Float32Array([0, 0]),
    classIndex: [0],
    classNames: ["a_b@c"],
    title: ["t"],
  });
  assert(legend.svg.includes("a_b@c (1)") && !legend.svg.includes("a_b?c"));

  const features = new Float32Array(9 * 6).map((_, i) => Math.sin(i * 1.7) + (i >= 27 ? 4 : 0));
  const a = umapEmbedding(features, 9, new SeededRandom(5));
  const b = umapEmbedding(features, 9, new SeededRandom(5));
  const c = umapEmbedding(features, 9, new SeededRandom(6));
  assertEquals(a.length, 18);
  assert(a.every(Number.isFinite));
  assertEquals([...a], [...b], "same seed, same coordinates");
  assert(a.some((v, i) => v !== c[i]), "another seed gives another layout");
});

Deno.test("viz stage: missing inputs, then every figure from a checkpoint and explanations", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  const figures = `${out}/plots/figures`;
  const common = ["--backend", "cpu", "--out", out];

  // Nothing there yet: one line per figure, each naming the input and the stage, no crash.
  const bare = await runMain(["viz", ...common, "--data", data]);
  assertEquals(bare.code, 0, bare.err);
  const lines = bare.out.split("\n").filter((l) => l.includes(" — run deno task "));
  const expected = [
    ["ecg examples:", "data:synth"],
    ["ecg overview:", "data:synth"],
    ["pixel grid 224 px:", "data:synth"],
    ["filters ecgnet:", "train --models ecgnet"],
    ["umap ecgnet:", "train --models ecgnet"],
    ["heatmap grid ecgnet:", "xai --models ecgnet"],
    ["super grid ecgnet:", "xai --models ecgnet"],
  ];
  assertEquals(lines.length, expected.length, bare.out);
  for (const [i, [figure, stage]] of expected.entries()) {
    assert(lines[i].startsWith(figure) && lines[i].includes(stage), lines[i]);
  }
  assert(!(await Deno.stat(figures).catch(() => undefined)), "nothing is written");

  // An untrained ecgnet checkpoint at 32 px and the tiny synthetic set (one test image per class).
  await writeTinySyntheticSet(data);
  await startBackend("cpu");
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: SIZE_PX, seed: 1 });
  await writeCheckpoint(`${out}/checkpoints/ecgnet_best`, model, {
    model: "ecgnet",
    classes: SYNTH_CLASS_NAMES,
    imgSizePx: SIZE_PX,
    epoch: 0,
    valAccuracy: 0,
    config: {},
  });
  const expectedFilters = (await filterGridFigure(model, "ecgnet"))!;
  model.dispose();

  const first = await runMain(["viz", ...common, "--data", data]);
  assertEquals(first.code, 0, first.err);
  const missing = first.out.split("\n").filter((l) => l.includes(" — run deno task "));
  assertEquals(missing.length, 2, first.out);
  assert(missing.every((l) => l.includes("grid ecgnet: no ") && l.includes("deno task xai")));

  for (const className of SYNTH_CLASS_NAMES) {
    const [w, h] = decodeSize(await Deno.readFile(`${figures}/ecg_examples_${className}.png`));
    assert(w >= 320 && h > 200, `examples ${className}: ${w} x ${h}`); // tiles are 320 px wide
  }
  const [overviewW, overviewH] = decodeSize(await Deno.readFile(`${figures}/ecg_overview.png`));
  assert(overviewW > 2 * 320 && overviewH > 2 * 200, `overview ${overviewW} x ${overviewH}`);

  const testImage = `${data}/test/${SYNTH_CLASS_NAMES[0]}`;
  const [firstFile] = [...Deno.readDirSync(testImage)].map((e) => e.name).sort();
  const gray = await loadResizedGray(`${testImage}/${firstFile}`, SIZE_PX, undefined);
  const grid = pixelGridFigure(gray, `test/${SYNTH_CLASS_NAMES[0]}/x`);
  const gridBytes = await Deno.readFile(`${figures}/pixel_grid_${SIZE_PX}px.png`);
  assertEquals(decodeSize(gridBytes), [grid.widthPx, grid.heightPx]);

  assertEquals(expectedFilters.tiles.length, 16, "ecgnet's first convolution has 16 filters");
  assertEquals(new Set(expectedFilters.tiles.map((t) => `${t.row},${t.column}`)).size, 16);
  assertEquals(
    decodeSize(await Deno.readFile(`${figures}/filters_ecgnet.png`)),
    [expectedFilters.image.widthPx, expectedFilters.image.heightPx],
  );

  assertEquals(
    decodeSize(await Deno.readFile(`${figures}/umap_ecgnet.png`)),
    [SCATTER_SIZE_PX.widthPx, SCATTER_SIZE_PX.heightPx],
  );
  const csv = await Deno.readTextFile(`${figures}/umap_ecgnet.csv`);
  const rows: string[][] = parseCsv(csv);
  assertEquals(rows[0], [...UMAP_CSV_COLUMNS]);
  assertEquals(rows.length, 1 + 4, "one row per test image");
  assertEquals(rows.slice(1).map((r) => r[1]), SYNTH_CLASS_NAMES);
  assert(rows.slice(1).every((r) => r[0].startsWith(`test/${r[1]}/`)));
  assert(
    rows.slice(1).every((r) => Number.isFinite(Number(r[3])) && Number.isFinite(Number(r[4]))),
  );

  // Explanations of two methods; asking for a third that is not there draws the rest.
  const xai = await runMain(["xai", ...common, "--data", data, "--methods", "gradcam,saliency"]);
  assertEquals(xai.code, 0, xai.err);
  const second = await runMain([
    "viz",
    ...common,
    ...["--data", data, "--methods", "gradcam,saliency,integrated_gradients"],
  ]);
  assertEquals(second.code, 0, second.err);
  const notes = second.out.split("\n").filter((l) => l.includes(" — run deno task "));
  assertEquals(notes.length, 1, second.out);
  assert(notes[0].startsWith("heatmap grid ecgnet: drawn without integrated_gradients"), notes[0]);
  assert(notes[0].includes("--methods integrated_gradients"), notes[0]);
  assertEquals(await Deno.readTextFile(`${figures}/umap_ecgnet.csv`), csv, "UMAP is seeded");

  const [gridW, gridH] = decodeSize(await Deno.readFile(`${figures}/heatmap_grid_ecgnet.png`));
  assert(gridW > 3 * 320 && gridW < 4 * 320, `heatmap grid: input + 2 methods, ${gridW} wide`);
  assert(gridH > 4 * 200, `heatmap grid: 4 rows, ${gridH} high`);
  const [superW] = decodeSize(await Deno.readFile(`${figures}/super_grid_ecgnet.png`));
  assert(superW > 3 * 320, `super grid: 3 tiles, ${superW} wide`);

  // The overlays carry the xai stage's colour bar below the picture; the grid's tiles are the
  // picture alone (shrunk into the thumbnail box), never the whole file with its strip.
  const tiles = embeddedPictures(await Deno.readTextFile(`${figures}/heatmap_grid_ecgnet.svg`));
  for (const method of ["gradcam", "saliency"]) {
    for (const [id] of rows.slice(1)) {
      const file = overlayFile(`${out}/explanations/ecgnet/${method}`, id);
      const bytes = await Deno.readFile(file);
      const whole = decodeImage(bytes, file);
      const bare = bareExplanationPicture(whole, readPngText(bytes), file);
      assert(whole.heightPx > bare.heightPx, `${file}: no colour bar below the picture`);
      const fit = (image: RgbaImage) =>
        fitWithin(image, THUMBNAIL_BOX_PX.widthPx, THUMBNAIL_BOX_PX.heightPx);
      const [tile, wholeTile] = [fit(bare), fit(whole)];
      assert(tiles.some((t) => samePixels(t, tile)), `${method} ${id}: no tile is the picture`);
      assert(!tiles.some((t) => samePixels(t, wholeTile)), `${method} ${id}: a tile has the bar`);
    }
  }

  const reseeded = await runMain(["viz", ...common, "--data", data, "--seed", "7"]);
  assertEquals(reseeded.code, 0, reseeded.err);
  assert(
    (await Deno.readTextFile(`${figures}/umap_ecgnet.csv`)) !== csv,
    "another seed, another embedding",
  );

  // An overlay deleted since xai ran: one line per grid naming the file, no crash.
  await Deno.remove(`${out}/explanations/ecgnet/saliency/overlay/${rows[1][0]}.png`);
  const gone = await runMain(["viz", ...common, "--data", data, "--methods", "saliency"]);
  assertEquals(gone.code, 0, gone.err);
  const goneLines = gone.out.split("\n").filter((l) => l.includes("file not found"));
  assertEquals(goneLines.length, 2, gone.out);
  assert(goneLines[0].startsWith("heatmap grid ecgnet:") && goneLines[0].includes("deno task xai"));
});
