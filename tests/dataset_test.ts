import { assert, assertEquals, assertRejects } from "./assert.ts";
import { countSamples, openDataset } from "../data/dataset.ts";
import { InputError } from "../core/errors.ts";
import { pathExists, SHARED_DIR, testDir } from "./test_dirs.ts";
import { tinyPng, writeImageFolder } from "./fixtures.ts";
import { symlink } from "./symlink.ts";

const AB = { classes: ["A", "B"], seed: 42 };

Deno.test("ImageFolder: sorted classes, stable ids, file names with parentheses, masks", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { train: 2, val: 1, test: 1 }, ["B", "A"]);
  await Deno.mkdir(`${dir.path}/masks/test/B`, { recursive: true });
  await Deno.writeFile(`${dir.path}/masks/test/B/B(1).png`, tinyPng());
  await Deno.writeTextFile(`${dir.path}/train/A/notes.txt`, "not an image");
  const ds = await openDataset(dir.path, AB);
  assertEquals(ds.layout, "imagefolder");
  assertEquals(ds.samples.map((s) => s.id), [
    "train/A/A(1)",
    "train/A/A(2)",
    "train/B/B(1)",
    "train/B/B(2)",
    "val/A/A(1)",
    "val/B/B(1)",
    "test/A/A(1)",
    "test/B/B(1)",
  ]);
  assertEquals(ds.samples.map((s) => s.label), [0, 0, 1, 1, 0, 1, 0, 1]);
  assertEquals(ds.samples.filter((s) => s.maskFile).map((s) => s.id), ["test/B/B(1)"]);
  assertEquals(countSamples(ds.samples).train, { A: 2, B: 2 });
});

Deno.test("ImageFolder: only the requested splits are needed", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { test: 1 }, ["A", "B"]);
  const ds = await openDataset(dir.path, { ...AB, splits: ["test"] });
  assertEquals(ds.samples.length, 2);
  const e = await assertRejects(
    () => openDataset(dir.path, AB),
    InputError,
    "split folder missing",
  );
  assert(e.message.includes("train"), e.message);
});

Deno.test("ImageFolder: empty class folder, class mismatch and missing root are clear errors", async () => {
  await using dir = await testDir();
  await assertRejects(
    () => openDataset(`${dir.path}/nope`, AB),
    InputError,
    "folder does not exist",
  );
  await writeImageFolder(dir.path, { train: 1, val: 1, test: 1 }, ["A", "B"]);
  await Deno.mkdir(`${dir.path}/val/C`);
  await assertRejects(() => openDataset(dir.path, AB), InputError, "class folders are [A, B, C]");
  await Deno.remove(`${dir.path}/val/C`);
  for (const f of Deno.readDirSync(`${dir.path}/test/B`)) {
    await Deno.remove(`${dir.path}/test/B/${f.name}`);
  }
  const e = await assertRejects(() => openDataset(dir.path, AB), InputError, "has no images");
  assert(e.message.includes("test/B"), e.message);
});

async function writeFlat(root: string, csv: string, files: string[]): Promise<void> {
  for (const f of files) await Deno.writeFile(`${root}/${f}`, tinyPng());
  await Deno.writeTextFile(`${root}/labels.csv`, csv);
}

Deno.test("labels.csv: explicit split column", async () => {
  await using dir = await testDir();
  const rows = ["file,class,split"];
  const files: string[] = [];
  for (const split of ["train", "val", "test"]) {
    for (const c of ["A", "B"]) {
      files.push(`${c}_${split}.png`);
      rows.push(`${c}_${split}.png,${c},${split}`);
    }
  }
  await writeFlat(dir.path, rows.join("\n"), files);
  const ds = await openDataset(dir.path, AB);
  assertEquals(ds.layout, "labels-csv");
  assertEquals(ds.samples.find((s) => s.id === "val/B/B_val")?.label, 1);
});

Deno.test("labels.csv without split: the seeded stratified 70/15/15 split", async () => {
  await using dir = await testDir();
  const files = Array.from({ length: 40 }, (_, i) => `img(${i}).png`);
  const csv = ["file,class", ...files.map((f, i) => `${f},${i % 2 ? "B" : "A"}`)].join("\n");
  await writeFlat(dir.path, csv, files);
  const ds = await openDataset(dir.path, AB);
  const counts = countSamples(ds.samples);
  assertEquals(counts.train, { A: 14, B: 14 });
  assertEquals(counts.val, { A: 3, B: 3 });
  assertEquals(counts.test, { A: 3, B: 3 });
  const again = await openDataset(dir.path, AB);
  assertEquals(again.samples.map((s) => s.id), ds.samples.map((s) => s.id));
});

Deno.test("labels.csv: unknown class, missing file, escaping path are errors naming the line", async () => {
  await using dir = await testDir();
  await writeFlat(dir.path, "file,class\na.png,A\nb.png,C\n", ["a.png", "b.png"]);
  const e = await assertRejects(() => openDataset(dir.path, AB), InputError, 'unknown class "C"');
  assert(e.message.includes("labels.csv:3"), e.message);
  await writeFlat(dir.path, "file,class,split\na.png,A,test\ngone.png,B,test\n", ["a.png"]);
  await assertRejects(() => openDataset(dir.path, AB), InputError, "gone.png is listed but");
  await writeFlat(dir.path, "file,class\n../x.png,A\n", []);
  await assertRejects(() => openDataset(dir.path, AB), InputError, "outside the data folder");
  await writeFlat(dir.path, "name,label\na.png,A\n", []);
  await assertRejects(() => openDataset(dir.path, AB), InputError, "columns file,class");
});

Deno.test("ids stay unique where stems collide: MI(1).jpg beside MI(1).png, a/ecg.jpg and b/ecg.jpg", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { train: 1, val: 1, test: 2 }, ["A", "B"]);
  await Deno.writeFile(`${dir.path}/test/A/A(1).jpg`, tinyPng());
  const folder = await openDataset(dir.path, AB);
  assertEquals(folder.samples.filter((s) => s.split === "test").map((s) => s.id), [
    "test/A/A(1).jpg",
    "test/A/A(1).png",
    "test/A/A(2)",
    "test/B/B(1)",
    "test/B/B(2)",
  ]);
  assert(folder.samples.find((s) => s.id === "test/A/A(1).jpg")!.file.endsWith("A(1).jpg"));

  await using flat = await testDir();
  for (const sub of ["a", "b"]) await Deno.mkdir(`${flat.path}/${sub}`);
  const rows = ["file,class,split", "a/ecg.jpg,A,test", "b/ecg.jpg,A,test", "c.png,B,test"];
  await writeFlat(flat.path, rows.join("\n"), ["a/ecg.jpg", "b/ecg.jpg", "c.png"]);
  const listed = await openDataset(flat.path, { ...AB, splits: ["test"] });
  assertEquals(listed.samples.map((s) => s.id), [
    "test/A/a/ecg.jpg",
    "test/A/b/ecg.jpg",
    "test/B/c",
  ]);
  assertEquals(new Set(listed.samples.map((s) => s.file)).size, 3);
});

Deno.test("ids that would still collide are an error naming both files", async () => {
  await using dir = await testDir();
  await writeImageFolder(dir.path, { test: 1 }, ["A", "B"]);
  for (const name of ["x.jpg", "x.png", "x.jpg.png"]) {
    await Deno.writeFile(`${dir.path}/test/A/${name}`, tinyPng());
  }
  const e = await assertRejects(
    () => openDataset(dir.path, { ...AB, splits: ["test"] }),
    InputError,
    'would both get the sample id "test/A/x.jpg"',
  );
  assert(e.message.includes("rename one"), e.message);
});

Deno.test("symbolic links: followed inside the data folder, refused outside it, in both layouts", async () => {
  await using outside = await testDir();
  await Deno.writeFile(`${outside.path}/secret.png`, tinyPng());
  const outsideReal = await Deno.realPath(outside.path);

  // labels.csv: a row through a linked folder inside the root reads; one leading out does not.
  await using flat = await testDir();
  await Deno.mkdir(`${flat.path}/store`);
  for (const name of ["a.png", "b.png"]) {
    await Deno.writeFile(`${flat.path}/store/${name}`, tinyPng());
  }
  await symlink(`${flat.path}/store`, `${flat.path}/inside`);
  await symlink(outsideReal, `${flat.path}/away`);
  const rows = ["file,class,split", "inside/a.png,A,test", "store/b.png,B,test"];
  await Deno.writeTextFile(`${flat.path}/labels.csv`, rows.join("\n"));
  const listed = await openDataset(flat.path, { ...AB, splits: ["test"] });
  assertEquals(listed.samples.map((s) => s.id), ["test/A/a", "test/B/b"]);
  await Deno.writeTextFile(
    `${flat.path}/labels.csv`,
    [...rows, "away/secret.png,A,test"].join("\n"),
  );
  const escaped = await assertRejects(
    () => openDataset(flat.path, { ...AB, splits: ["test"] }),
    InputError,
    "outside the data folder",
  );
  assert(escaped.message.includes("away/secret.png") && escaped.message.includes(outsideReal));

  // ImageFolder: a linked image and a linked class folder count; a link out is named.
  await using dir = await testDir();
  await writeImageFolder(dir.path, { test: 1 }, ["A"]);
  await Deno.mkdir(`${dir.path}/pool/B`, { recursive: true });
  await Deno.writeFile(`${dir.path}/pool/B/B(1).png`, tinyPng());
  await symlink(`${dir.path}/pool/B`, `${dir.path}/test/B`);
  await symlink(`${dir.path}/pool/B/B(1).png`, `${dir.path}/test/A/A(2).png`);
  const folder = await openDataset(dir.path, { ...AB, splits: ["test"] });
  assertEquals(folder.samples.map((s) => s.id), ["test/A/A(1)", "test/A/A(2)", "test/B/B(1)"]);
  await symlink(`${outsideReal}/secret.png`, `${dir.path}/test/A/A(3).png`);
  const image = await assertRejects(
    () => openDataset(dir.path, { ...AB, splits: ["test"] }),
    InputError,
    "outside the data folder",
  );
  assert(image.message.includes("A(3).png"), image.message);
  await Deno.remove(`${dir.path}/test/A/A(3).png`);
  await Deno.remove(`${dir.path}/test/B`);
  await symlink(outsideReal, `${dir.path}/test/B`);
  const classDir = await assertRejects(
    () => openDataset(dir.path, { ...AB, splits: ["test"] }),
    InputError,
    "outside the data folder",
  );
  assert(classDir.message.includes("test/B"), classDir.message);
});

const REAL = `${SHARED_DIR}/data/ecg-images`;
const haveReal = await pathExists(REAL);
if (!haveReal) console.warn(`skipping real-data discovery test: ${REAL} is absent`);

Deno.test({
  name: "real ECG images: 928 images in the fixed 648/136/144 split",
  ignore: !haveReal,
  fn: async () => {
    const ds = await openDataset(REAL, {
      classes: ["Abnormal", "HistoryMI", "MI", "Normal"],
      seed: 42,
    });
    const counts = countSamples(ds.samples);
    const total = (split: "train" | "val" | "test") =>
      Object.values(counts[split]).reduce((a, b) => a + b, 0);
    assertEquals([total("train"), total("val"), total("test")], [648, 136, 144]);
    assert(ds.samples.some((s) => s.id === "train/MI/MI(12)"));
  },
});
