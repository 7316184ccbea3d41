import { assert, assertEquals, assertRejects } from "./assert.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { testDir } from "./test_dirs.ts";

Deno.test("writeFileAtomic syncs the data to disk before the rename makes it visible", async () => {
  await using dir = await testDir();
  const events: string[] = [];
  const { sync } = Deno.FsFile.prototype;
  const rename = Deno.rename;
  Deno.FsFile.prototype.sync = function () {
    events.push("sync");
    return sync.call(this);
  };
  (Deno as { rename: typeof Deno.rename }).rename = (from, to) => {
    events.push(`rename ${String(to).slice(dir.path.length + 1)}`);
    return rename(from, to);
  };
  try {
    await writeFileAtomic(`${dir.path}/a/text.txt`, "hello");
    await writeFileAtomic(`${dir.path}/a/bytes.bin`, new Uint8Array(300_000).fill(3));
  } finally {
    Deno.FsFile.prototype.sync = sync;
    (Deno as { rename: typeof Deno.rename }).rename = rename;
  }
  assertEquals(events, ["sync", "rename a/text.txt", "sync", "rename a/bytes.bin"]);
  assertEquals(await Deno.readTextFile(`${dir.path}/a/text.txt`), "hello");
  assertEquals((await Deno.readFile(`${dir.path}/a/bytes.bin`)).length, 300_000);
  assertEquals([...Deno.readDirSync(`${dir.path}/a`)].length, 2, "no temp file is left");
});

Deno.test("writeFileAtomic leaves the old file and no temp file when the write fails", async () => {
  await using dir = await testDir();
  await writeFileAtomic(`${dir.path}/f.txt`, "old");
  const { sync } = Deno.FsFile.prototype;
  Deno.FsFile.prototype.sync = () => Promise.reject(new Error("disk full"));
  try {
    await assertRejects(() => writeFileAtomic(`${dir.path}/f.txt`, "new"), Error, "disk full");
  } finally {
    Deno.FsFile.prototype.sync = sync;
  }
  assertEquals(await Deno.readTextFile(`${dir.path}/f.txt`), "old");
  assert([...Deno.readDirSync(dir.path)].length === 1, "the temp file was removed");
});
