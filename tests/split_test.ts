import { assert, assertEquals, assertRejects } from "./assert.ts";
import { splitFolder } from "../data/split_folder.ts";
import { splitCounts } from "../data/stratified_split.ts";
import { openDataset } from "../data/dataset.ts";
import { InputError } from "../core/errors.ts";
import { testDir } from "./test_dirs.ts";
import { writeRawFolder } from "./fixtures.ts";

async function snapshot(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const c of Deno.readDirSync(root)) {
    if (!c.isDirectory || ["train", "val", "test"].includes(c.name)) continue;
    for (const f of Deno.readDirSync(`${root}/${c.name}`)) {
      files.set(`${c.name}/${f.name}`, await Deno.readFile(`${root}/${c.name}/${f.name}`));
    }
  }
  return files;
}

Deno.test("data:split copies a stratified, seeded 70/15/15 split and keeps originals", async () => {
  await using dir = await testDir();
  await writeRawFolder(dir.path, { Abnormal: 20, MI: 40 });
  const before = await snapshot(dir.path);
  const result = await splitFolder({ source: dir.path, seed: 42 });
  assertEquals(result.counts.train, { Abnormal: 14, MI: 28 });
  assertEquals(result.counts.val, { Abnormal: 3, MI: 6 });
  assertEquals(result.counts.test, { Abnormal: 3, MI: 6 });
  assertEquals(await snapshot(dir.path), before);
  const ds = await openDataset(dir.path, { classes: ["Abnormal", "MI"], seed: 42 });
  assertEquals(ds.samples.length, 60);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir.path}/split.json`));
  assertEquals(manifest.seed, 42);
});

Deno.test("data:split is deterministic for a seed and differs across seeds", async () => {
  await using a = await testDir();
  await using b = await testDir();
  for (const d of [a.path, b.path]) await writeRawFolder(d, { A: 30, B: 30 });
  await splitFolder({ source: a.path, seed: 7 });
  await splitFolder({ source: b.path, seed: 7 });
  const list = (root: string) => [...Deno.readDirSync(`${root}/test/A`)].map((e) => e.name).sort();
  assertEquals(list(a.path), list(b.path));
  await splitFolder({ source: b.path, seed: 8, force: true });
  assert(list(a.path).join() !== list(b.path).join(), "a different seed should give another split");
});

Deno.test("data:split refuses to overwrite a split unless forced, and to split a split", async () => {
  await using dir = await testDir();
  await writeRawFolder(dir.path, { A: 10, B: 10 });
  await splitFolder({ source: dir.path, seed: 1 });
  await assertRejects(() => splitFolder({ source: dir.path, seed: 1 }), InputError, "--force");
  await splitFolder({
    source: dir.path,
    seed: 1,
    force: true,
    fractions: { train: 0.8, val: 0.1, test: 0.1 },
  });
  assertEquals([...Deno.readDirSync(`${dir.path}/train/A`)].length, 8);
  await using other = await testDir();
  await splitFolder({ source: dir.path, dest: other.path, seed: 1 });
  await assertRejects(
    () => splitFolder({ source: other.path, seed: 1 }),
    InputError,
    "already holds a split",
  );
});

Deno.test("data:split --force replaces only a split it made (split.json), never the user's own", async () => {
  await using dir = await testDir();
  await writeRawFolder(dir.path, { A: 10, B: 10 });
  await Deno.mkdir(`${dir.path}/test/A`, { recursive: true });
  await Deno.writeTextFile(`${dir.path}/test/A/keep.txt`, "the user's own");
  const e = await assertRejects(
    () => splitFolder({ source: dir.path, seed: 1, force: true }),
    InputError,
    "data:split did not make",
  );
  assert(e.message.includes("split.json"), e.message);
  assertEquals(await Deno.readTextFile(`${dir.path}/test/A/keep.txt`), "the user's own");
});

Deno.test("data:split: a bad image fails before anything is written, or is skipped and listed", async () => {
  await using dir = await testDir();
  await writeRawFolder(dir.path, { A: 10, B: 10 });
  await Deno.writeFile(`${dir.path}/B/B(99).jpg`, new Uint8Array());
  const e = await assertRejects(
    () => splitFolder({ source: dir.path, seed: 1 }),
    InputError,
    "zero-byte",
  );
  assert(e.message.includes("B(99).jpg"), e.message);
  assertEquals([...Deno.readDirSync(dir.path)].map((x) => x.name).sort(), ["A", "B"]);
  const result = await splitFolder({ source: dir.path, seed: 1, onBadImage: "skip" });
  assertEquals(result.skipped.length, 1);
  assert(result.skipped[0].file.endsWith("B(99).jpg"));
});

Deno.test("data:split lists every bad image, not just the first", async () => {
  await using dir = await testDir();
  await writeRawFolder(dir.path, { A: 10, B: 10 });
  await Deno.writeFile(`${dir.path}/A/A(98).jpg`, new Uint8Array());
  await Deno.writeFile(`${dir.path}/B/B(99).png`, new TextEncoder().encode("not a png"));
  const e = await assertRejects(
    () => splitFolder({ source: dir.path, seed: 1 }),
    InputError,
    "2 unreadable images",
  );
  assert(e.message.includes("A(98).jpg") && e.message.includes("B(99).png"), e.message);
  assertEquals([...Deno.readDirSync(dir.path)].map((x) => x.name).sort(), ["A", "B"]);
});

Deno.test("data:split: missing folder and empty class are clear errors", async () => {
  await using dir = await testDir();
  await assertRejects(
    () => splitFolder({ source: `${dir.path}/x`, seed: 1 }),
    InputError,
    "does not exist",
  );
  await writeRawFolder(dir.path, { A: 10 });
  await Deno.mkdir(`${dir.path}/B`);
  await assertRejects(
    () => splitFolder({ source: dir.path, seed: 1 }),
    InputError,
    "no readable images",
  );
});

Deno.test("split counts: largest remainder, every split non-empty from 3 items", () => {
  const f = { train: 0.7, val: 0.15, test: 0.15 };
  assertEquals(splitCounts(10, f), { train: 7, val: 2, test: 1 });
  assertEquals(splitCounts(100, f), { train: 70, val: 15, test: 15 });
  assertEquals(splitCounts(3, f), { train: 1, val: 1, test: 1 });
  assertEquals(splitCounts(2, f), { train: 2, val: 0, test: 0 });
  assertEquals(splitCounts(60, f), { train: 42, val: 9, test: 9 });
  for (let n = 0; n < 200; n++) {
    const c = splitCounts(n, f);
    assertEquals(c.train + c.val + c.test, n);
  }
});
