import { assert, assertEquals } from "./assert.ts";
import { openDataset } from "../data/dataset.ts";
import { limitPerSplit } from "../data/limit.ts";
import { assembleBatch, batchIndices, loadImages } from "../data/loader.ts";
import { SeededRandom } from "../core/random.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../data/preprocess.ts";
import { pathExists, SHARED_DIR, testDir } from "./test_dirs.ts";
import { writeImageFolder } from "./fixtures.ts";

const CLASSES = ["Abnormal", "HistoryMI", "MI", "Normal"];
const REAL = `${SHARED_DIR}/data/ecg-images`;
const FULLRES = `${SHARED_DIR}/data/ecg-images-fullres`;
const haveReal = await pathExists(REAL);
const haveFullres = await pathExists(FULLRES);

Deno.test("batches: NHWC shape, labels, ids, values in the normalised range", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { train: 3, val: 1, test: 1 }, ["A", "B"]);
  const ds = await openDataset(dir.path, { classes: ["A", "B"], seed: 1, splits: ["train"] });
  const loaded = await loadImages(ds.samples, {
    sizePx: 12,
    cacheDir: undefined,
    onBadImage: "fail",
  });
  const batch = assembleBatch(loaded, [0, 4]);
  assertEquals(batch.shape, [2, 12, 12, 3]);
  assertEquals(batch.xNHWC.length, 2 * 12 * 12 * 3);
  assertEquals(Array.from(batch.labels), [0, 1]);
  assertEquals(batch.ids, ["train/A/A(1)", "train/B/B(2)"]);
  const low = (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0],
    high = (1 - IMAGENET_MEAN[2]) / IMAGENET_STD[2];
  assert(batch.xNHWC.every((v) => v >= low - 1e-6 && v <= high + 1e-6));
});

Deno.test("augmented batches are seeded: same seed same pixels, another seed differs", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { train: 4 }, ["A"]);
  const ds = await openDataset(dir.path, { classes: ["A"], seed: 1, splits: ["train"] });
  const loaded = await loadImages(ds.samples, {
    sizePx: 40,
    cacheDir: undefined,
    onBadImage: "fail",
  });
  const a = assembleBatch(loaded, [0, 1, 2, 3], new SeededRandom(5).fork("epoch-1"));
  const b = assembleBatch(loaded, [0, 1, 2, 3], new SeededRandom(5).fork("epoch-1"));
  const c = assembleBatch(loaded, [0, 1, 2, 3], new SeededRandom(6).fork("epoch-1"));
  assertEquals(a.xNHWC, b.xNHWC);
  assert(a.xNHWC.some((v, i) => v !== c.xNHWC[i]));
});

Deno.test("batch indices cover every item once, shuffled per stream", () => {
  const plain = batchIndices(10, 4);
  assertEquals(plain.map((b) => b.length), [4, 4, 2]);
  const shuffled = batchIndices(10, 4, new SeededRandom(1));
  assertEquals(shuffled.flat().sort((x, y) => x - y), plain.flat());
  assert(shuffled.flat().join() !== plain.flat().join());
});

Deno.test({
  name: `real ECG images: every class loads through the cache into a batch${
    haveReal ? "" : ` (skipped: ${REAL} absent)`
  }`,
  ignore: !haveReal,
  fn: async () => {
    await using dir = await testDir();
    const ds = await openDataset(REAL, { classes: CLASSES, seed: 42 });
    const samples = limitPerSplit(ds.samples, 4);
    assertEquals(samples.length, 12);
    const options = { sizePx: 224, cacheDir: `${dir.path}/cache`, onBadImage: "fail" as const };
    const first = await loadImages(samples, options);
    const second = await loadImages(samples, options);
    assertEquals(second.images.map((i) => i.data), first.images.map((i) => i.data));
    const batch = assembleBatch(first, first.images.map((_, i) => i));
    assertEquals(batch.shape, [12, 224, 224, 3]);
    assertEquals(new Set(batch.labels).size, 4);
  },
});

Deno.test({
  name: `full-size 2213x1572 scans decode and resize to 224 px${
    haveFullres ? "" : ` (skipped: ${FULLRES} absent)`
  }`,
  ignore: !haveFullres,
  fn: async () => {
    const files: string[] = [];
    for (const c of CLASSES) {
      for (const f of Deno.readDirSync(`${FULLRES}/${c}`)) files.push(`${FULLRES}/${c}/${f.name}`);
    }
    assertEquals(files.length, 8);
    const samples = files.map((file, i) => ({
      id: `test/x/${i}`,
      file,
      label: 0,
      className: "x",
      split: "test" as const,
    }));
    const loaded = await loadImages(samples, {
      sizePx: 224,
      cacheDir: undefined,
      onBadImage: "fail",
    });
    for (const image of loaded.images) {
      assertEquals([image.widthPx, image.heightPx], [224, 224]);
      // A real scan is mostly paper with thin traces: the area-averaging downscale keeps the
      // ink as a visible share of grey pixels (nearest sampling would drop most of it).
      const inked = image.data.filter((v) => v < 192).length / image.data.length;
      assert(inked > 0.01 && inked < 0.5, `inked fraction ${inked}`);
      assert(Math.min(...image.data) < 128, "the darkest ink should stay dark");
    }
  },
});
