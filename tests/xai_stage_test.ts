import { assert, assertEquals } from "./assert.ts";
import { parseCsv } from "../deps.ts";
import { decodeImage, readImageFile } from "../data/decode_image.ts";
import { readPngText } from "../data/png_file.ts";
import { bareExplanationPicture } from "../xai/captioned_picture.ts";
import { readNpyFile, writeNpyFile } from "../data/npy.ts";
import { runMain as run } from "./stage_runner.ts";
import { JET_RGB8, jetImage, jetIndex } from "../xai/colormap.ts";
import {
  attributionPictures,
  blendOverlay,
  explanationPictures,
  resizeMapBilinear,
} from "../xai/overlay.ts";
import { parseMethods } from "../stages/xai.ts";
import { explanationStem } from "../runs/xai_chunk.ts";
import { testDir } from "./test_dirs.ts";
import { writeTinySyntheticSet } from "./training_fixtures.ts";

Deno.test("jet: matplotlib's byte table at its breakpoints and value rule", () => {
  const rgb = (
    value: number,
  ) => [...JET_RGB8.subarray(jetIndex(value) * 3, jetIndex(value) * 3 + 3)];
  // matplotlib.cm.jet(v, bytes=True)[:3] for these v.
  assertEquals(rgb(0), [0, 0, 127]);
  assertEquals(rgb(0.5), [124, 255, 121]);
  assertEquals(rgb(1), [127, 0, 0]);
  assertEquals(rgb(0.25), [0, 128, 255]);
  assertEquals(JET_RGB8.length, 256 * 3);
  assertEquals([jetIndex(0.999), jetIndex(1 / 256), jetIndex(Number.NaN)], [255, 1, 0]);
  const image = jetImage(new Float32Array([Number.NaN, Infinity, -1]), 3, 1);
  assertEquals([...image.data], [0, 0, 127, 255, 127, 0, 0, 255, 0, 0, 127, 255]);
});

Deno.test("overlay: bilinear map scaling, blending, and a constant map's pictures", () => {
  const up = resizeMapBilinear(new Float32Array([0, 1, 1, 0]), 2, 2, 4, 4);
  assertEquals(up.length, 16);
  assert(up.every((v) => v >= 0 && v <= 1));
  assertEquals(up[0], 0);
  assertEquals(up[3], 1);
  assertEquals([...resizeMapBilinear(new Float32Array([2, 4]), 2, 1, 1, 1)], [3]);
  const white = { widthPx: 1, heightPx: 1, data: new Uint8Array([255, 255, 255, 255]) };
  const black = { widthPx: 1, heightPx: 1, data: new Uint8Array([0, 0, 0, 255]) };
  assertEquals([...blendOverlay(white, black).data], [140, 140, 140, 255]);
  const source = { widthPx: 5, heightPx: 3, data: new Uint8Array(60).fill(200) };
  const { heatmap, overlay } = explanationPictures(new Float32Array(4), 2, 2, source);
  assertEquals([heatmap.widthPx, heatmap.heightPx, overlay.widthPx, overlay.heightPx], [
    5,
    3,
    5,
    3,
  ]);
  assertEquals([...heatmap.data.subarray(0, 4)], [0, 0, 127, 255]);
});

Deno.test("xai: ids map to nested paths; bad methods are listed", () => {
  assertEquals(explanationStem("test/MI/MI(12)"), "test/MI/MI(12)");
  let message = "";
  try {
    explanationStem("test/../x");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("test/../x"), message);
  assertEquals(parseMethods(undefined).map((e) => e.name), [
    "gradcam",
    "gradcam_plus_plus",
    "integrated_gradients",
    "saliency",
  ]);
});

Deno.test("xai and explain stages on a checkpoint trained for one epoch", async () => {
  await using dir = await testDir();
  const data = `${dir.path}/ds`;
  const out = `${dir.path}/out`;
  await writeTinySyntheticSet(data);
  const common = ["--backend", "cpu", "--out", out];
  const trained = await run([
    "train",
    ...common,
    ...["--data", data, "--img-size", "32", "--epochs", "1", "--batch-size", "8"],
  ]);
  assertEquals(trained.code, 0, trained.err);

  const bad = await run(["xai", ...common, "--data", data, "--methods", "gradcam,no_such_method"]);
  assertEquals(bad.code, 1);
  assert(bad.err.includes('"no_such_method"') && bad.err.includes("integrated_gradients"), bad.err);

  const methods = ["gradcam", "saliency"];
  const xai = await run(["xai", ...common, "--data", data, "--methods", methods.join(",")]);
  assertEquals(xai.code, 0, xai.err);
  for (const method of methods) {
    const root = `${out}/explanations/ecgnet/${method}`;
    const rows: string[][] = parseCsv(await Deno.readTextFile(`${root}/index.csv`));
    assertEquals(rows[0], [
      "id",
      "file",
      "true_class",
      "predicted_class",
      "probability",
      "target_class",
    ]);
    assertEquals(rows.length, 1 + 4, "one test image per class");
    for (const [id, file, trueClass, predicted, probability, target] of rows.slice(1)) {
      assert(id.startsWith(`test/${trueClass}/`) && file.includes(id.split("/")[2]), file);
      assertEquals(target, predicted, "the predicted class is the default target");
      assert(Number(probability) > 0 && Number(probability) <= 1, probability);
      const map = await readNpyFile(`${root}/heatmap/${id}.npy`);
      assertEquals([map.dtype, ...map.shape], ["float32", 32, 32]);
      assert([...map.data as Float32Array].every((v) => v >= 0 && v <= 1));
      const raw = await readNpyFile(`${root}/heatmap/${id}.raw.npy`);
      assertEquals(raw.shape, [32, 32]);
      const source = await readImageFile(file);
      const drawn = attributionPictures(raw.data as Float32Array, 32, 32, source);
      for (const kind of ["heatmap", "overlay"] as const) {
        // The picture at the source's size, as drawn from the raw map, then its colour bar.
        const pngFile = `${root}/${kind}/${id}.png`;
        const bytes = await Deno.readFile(pngFile);
        const written = decodeImage(bytes, pngFile);
        assertEquals(written.widthPx, source.widthPx);
        assert(written.heightPx > source.heightPx, `${pngFile}: no colour bar below the picture`);
        const picture = bareExplanationPicture(written, readPngText(bytes), pngFile);
        assertEquals([picture.widthPx, picture.heightPx], [source.widthPx, source.heightPx]);
        assert(picture.data.every((v, i) => v === drawn[kind].data[i]), `${pngFile}: not as drawn`);
      }
    }
  }

  const trueTargets = await run([
    "xai",
    ...common,
    ...["--data", data, "--methods", "saliency", "--target", "true", "--limit", "1"],
  ]);
  assertEquals(trueTargets.code, 0, trueTargets.err);
  const rows: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/explanations/ecgnet/saliency/index.csv`),
  );
  assertEquals(rows.length, 2, "--limit 1 explains one image, and the rerun replaced the folder");
  assertEquals(rows[1][5], rows[1][2], "--target true explains the true class");

  const size = 32;
  const x = new Float32Array(3 * size * size * 3).map((_, i) => Math.sin(i * 0.37));
  await writeNpyFile(`${dir.path}/x.npy`, [3, size, size, 3], x);
  await writeNpyFile(`${dir.path}/t.npy`, [3], Int32Array.of(0, 1, 2));
  const explained = await run([
    "explain",
    ...["--backend", "cpu", "--checkpoint", `${out}/checkpoints/ecgnet_best`],
    ...["--method", "gradcam", "--input", `${dir.path}/x.npy`, "--target", `${dir.path}/t.npy`],
    ...["--out", `${dir.path}/a.npy`],
  ]);
  assertEquals(explained.code, 0, explained.err);
  const maps = await readNpyFile(`${dir.path}/a.npy`);
  assertEquals([maps.dtype, ...maps.shape], ["float32", 3, size, size]);
  assert([...maps.data as Float32Array].every((v) => v >= 0 && v <= 1));
  const rawMaps = await readNpyFile(`${dir.path}/a.raw.npy`);
  assertEquals(rawMaps.shape, [3, size, size]);
});
