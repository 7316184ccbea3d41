import { png } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { decodeResizedGray, imageCachePath, loadResizedGray } from "../data/image_cache.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { testDir } from "./test_dirs.ts";

/** A 16 x 16 grey PNG with a gradient; `shade` makes different contents. */
function samplePng(shade: number): Uint8Array {
  const data = new Uint8Array(16 * 16).map((_, i) => (i * 3 + shade) % 256);
  return png.encode({ width: 16, height: 16, data, channels: 1 });
}

async function listCache(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** A well-formed cache entry whose pixels are all `value` (to tell a hit from a decode). */
function entryOf(sizePx: number, value: number): Uint8Array {
  const out = new Uint8Array(16 + sizePx * sizePx).fill(value);
  out.set(new TextEncoder().encode("ECGGRAY1"));
  new DataView(out.buffer).setUint32(8, sizePx, true);
  new DataView(out.buffer).setUint32(12, sizePx, true);
  return out;
}

Deno.test("miss decodes and stores; a hit is read back from the entry, not decoded", async () => {
  await using dir = await testDir();
  const file = `${dir.path}/MI(1).png`;
  const bytes = samplePng(1);
  await Deno.writeFile(file, bytes);
  const cache = `${dir.path}/cache`;

  const first = await loadResizedGray(file, 8, cache);
  assertEquals(first, decodeResizedGray(bytes, file, 8));
  const entry = await imageCachePath(cache, bytes, 8);
  assertEquals(await listCache(cache), [entry.slice(cache.length + 1)]);
  assertEquals((await Deno.readFile(entry)).length, 16 + 64);

  // Plant a different, well-formed entry: a hit must return it unchanged.
  await Deno.writeFile(entry, entryOf(8, 77));
  const hit = await loadResizedGray(file, 8, cache);
  assert(hit.data.every((v) => v === 77));
});

Deno.test("keyed by content and size: copies hit, edits and other sizes miss", async () => {
  await using dir = await testDir();
  const cache = `${dir.path}/cache`;
  await Deno.writeFile(`${dir.path}/a.png`, samplePng(1));
  await Deno.writeFile(`${dir.path}/copy of a.png`, samplePng(1));
  await Deno.writeFile(`${dir.path}/b.png`, samplePng(2));
  await loadResizedGray(`${dir.path}/a.png`, 8, cache);
  await loadResizedGray(`${dir.path}/copy of a.png`, 8, cache);
  assertEquals((await listCache(cache)).length, 1);
  await loadResizedGray(`${dir.path}/b.png`, 8, cache);
  await loadResizedGray(`${dir.path}/a.png`, 4, cache);
  const names = await listCache(cache);
  assertEquals(names.length, 3);
  assertEquals(names.filter((n) => n.endsWith("-4px.gray")).length, 1);
});

Deno.test("corrupt entries are ignored and rewritten, never trusted", async () => {
  await using dir = await testDir();
  const file = `${dir.path}/x.png`;
  const bytes = samplePng(3);
  await Deno.writeFile(file, bytes);
  const cache = `${dir.path}/cache`;
  const expected = decodeResizedGray(bytes, file, 8);
  const entry = await imageCachePath(cache, bytes, 8);
  await Deno.mkdir(cache, { recursive: true });

  const badMagic = entryOf(8, 5);
  badMagic[0] = 0x58;
  const wrongSize = entryOf(8, 5);
  new DataView(wrongSize.buffer).setUint32(8, 7, true);
  const corrupt = [
    new Uint8Array(0), // empty
    entryOf(8, 5).subarray(0, 40), // truncated
    new Uint8Array([...entryOf(8, 5), 0]), // one byte too many
    badMagic,
    wrongSize,
  ];
  for (const [i, content] of corrupt.entries()) {
    await Deno.writeFile(entry, content);
    assertEquals(await loadResizedGray(file, 8, cache), expected, `case ${i}`);
    assertEquals((await Deno.readFile(entry)).length, 16 + 64, `case ${i} rewritten`);
    assertEquals(Array.from((await Deno.readFile(entry)).subarray(16)), Array.from(expected.data));
  }
});

Deno.test("no cache folder: nothing written; bad files fail before any cache work", async () => {
  await using dir = await testDir();
  await Deno.writeFile(`${dir.path}/a.png`, samplePng(1));
  const image = await loadResizedGray(`${dir.path}/a.png`, 4, undefined);
  assertEquals([image.widthPx, image.heightPx, image.data.length], [4, 4, 16]);
  assertEquals(await listCache(dir.path), ["a.png"]);

  await Deno.writeTextFile(`${dir.path}/Normal(2).jpg`, "text, not a scan");
  const cache = `${dir.path}/cache`;
  await assertRejects(
    () => loadResizedGray(`${dir.path}/Normal(2).jpg`, 4, cache),
    InputError,
    "Normal(2).jpg: not a JPEG or PNG image",
  );
  await assertRejects(() => loadResizedGray(`${dir.path}/gone.png`, 4, cache), InputError);
  assertEquals(await listCache(dir.path), ["Normal(2).jpg", "a.png"]);
});
