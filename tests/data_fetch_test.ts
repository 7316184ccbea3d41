import { assert, assertEquals, assertRejects } from "./assert.ts";
import { createHash } from "node:crypto";
import { zipSync } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { encodeReportJpeg } from "../data/synth/synthetic_dataset.ts";
import { UnpackLimitError, unzipImagesByClass } from "../data/unzip_classes.ts";
import { main } from "../mod.ts";
import { testDir } from "./test_dirs.ts";

/** Runs `mod.ts <argv>` in process, capturing what it prints to stderr. */
async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const { log, error, warn } = console;
  Object.assign(console, {
    log: () => {},
    warn: () => {},
    error: (...a: unknown[]) => err.push(a.join(" ")),
  });
  try {
    return { code: await main(argv), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

const jpeg = (shade: number) =>
  encodeReportJpeg(
    { widthPx: 16, heightPx: 12, data: new Uint8Array(16 * 12 * 4).fill(shade) },
    90,
  );

/** An archive laid out as Mendeley's: long class folder names, one class in an inner zip. */
function datasetZip(): Uint8Array {
  const root = "ECG Images dataset of Cardiac Patients";
  const folders: Record<string, [string, string]> = {
    Abnormal: ["ECG Images of Patient that have abnormal heartbeat (233x12=2796)", "HB"],
    HistoryMI: ["ECG Images of Patient that have History of MI (172x12=2064)", "PMI"],
    MI: ["ECG Images of Myocardial Infarction Patients (240x12=2880)", "MI"],
  };
  const entries: Record<string, Uint8Array> = { [`${root}/README.txt`]: new Uint8Array([1]) };
  for (const [k, [folder, prefix]] of Object.entries(folders)) {
    for (let i = 1; i <= 4; i++) {
      entries[`${root}/${folder}/${prefix}(${i}).jpg`] = jpeg(40 * i + k.length);
    }
  }
  const normal: Record<string, Uint8Array> = {};
  for (let i = 1; i <= 4; i++) normal[`Normal(${i}).jpg`] = jpeg(200 + i);
  entries[`${root}/Normal Person ECG Images (284x12=3408).zip`] = zipSync(normal);
  return zipSync(entries);
}

/** A server that announces `announced` bytes, sends `body`, then closes the connection. */
function brokenOffServer(body: Uint8Array, announced: number): { url: string } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      const head =
        `HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: ${announced}\r\n\r\n`;
      await conn.write(new TextEncoder().encode(head));
      await conn.write(body);
      conn.close();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/cut.zip`,
    [Symbol.dispose]: () => listener.close(),
  };
}

Deno.test("data:fetch: download, verify, unpack into <Class>/, split; truncated and ../ archives are rejected", async () => {
  await using dir = await testDir();
  const good = datasetZip();
  const sha256 = createHash("sha256").update(good).digest("hex");
  const evil = zipSync({ "MI/MI(1).jpg": jpeg(9), "../escape/MI(2).jpg": jpeg(9) });
  const absolute = zipSync({ "MI/MI(1).jpg": jpeg(9), "/tmp/MI(3).jpg": jpeg(9) });
  const files: Record<string, Uint8Array> = {
    "/good.zip": good,
    "/evil.zip": evil,
    "/absolute.zip": absolute,
    "/short.zip": good.subarray(0, Math.floor(good.length * 0.6)),
  };
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const body = files[new URL(req.url).pathname];
    return body ? new Response(new Uint8Array(body)) : new Response("no", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  using cut = brokenOffServer(good.subarray(0, 1000), good.length);
  const dest = `${dir.path}/ecg_images`;
  const fetchInto = (url: string, ...more: string[]) =>
    run(["data:fetch", "--url", url, "--dest", dest, ...more]);
  const nothingLeft = () => {
    const left = [...Deno.readDirSync(dir.path)].map((e) => e.name);
    assertEquals(left, [], "no archive, staging folder or escaped file is left");
  };

  for (
    const [url, more, message] of [
      [`${base}/missing.zip`, [], "404"],
      [`${base}/short.zip`, [], "not a complete zip"],
      [`${base}/good.zip`, ["--sha256", "0".repeat(64)], "SHA-256"],
      [`${base}/good.zip`, ["--size", "12"], "--size"],
      [cut.url, [], `of ${good.length}`],
      [`${base}/evil.zip`, [], "../escape/MI(2).jpg"],
      [`${base}/absolute.zip`, [], "/tmp/MI(3).jpg"],
    ] as const
  ) {
    const { code, err } = await fetchInto(url, ...more);
    assertEquals(code, 1, `${url}: ${err}`);
    assert(err.includes(message) && !err.includes("    at "), `${url}: ${err}`);
    nothingLeft();
  }

  const fetched = await fetchInto(`${base}/good.zip`, "--sha256", sha256.toUpperCase());
  assertEquals(fetched.code, 0, fetched.err);
  for (
    const [cls, file] of [["Abnormal", "HB(1)"], ["HistoryMI", "PMI(4)"], ["MI", "MI(2)"], [
      "Normal",
      "Normal(3)",
    ]]
  ) {
    assertEquals(await Deno.readFile(`${dest}/${cls}/${file}.jpg`) instanceof Uint8Array, true);
  }
  assertEquals([...Deno.readDirSync(`${dest}/Normal`)].length, 4);
  assert(await statOrUndefined(`${dest}/split.json`), "the split ran");
  let splitImages = 0;
  for (const split of ["train", "val", "test"]) {
    for (const cls of ["Abnormal", "HistoryMI", "MI", "Normal"]) {
      splitImages += [...Deno.readDirSync(`${dest}/${split}/${cls}`)].length;
    }
  }
  assertEquals(splitImages, 16, "every image in exactly one split");

  const again = await fetchInto(`${base}/good.zip`);
  assertEquals(again.code, 1);
  assert(again.err.includes("--force"), again.err);
  const keptWrong = await fetchInto(`${base}/good.zip`, "--force", "--sha256", "1".repeat(64));
  assertEquals(keptWrong.code, 1, "the kept archive is checked against --sha256 too");
  assert(keptWrong.err.includes("delete it"), keptWrong.err);
  const forced = await fetchInto(`${base}/good.zip`, "--force", "--sha256", sha256);
  assertEquals(forced.code, 0, forced.err);
  assertEquals([...Deno.readDirSync(`${dest}/MI`)].length, 4);
});

Deno.test("data:fetch never writes a source folder, and --force replaces only a folder it made", async () => {
  const sources = [...Deno.readDirSync("data/synth")].map((e) => e.name).sort();
  const intoSource = await run([
    "data:fetch",
    "--url",
    "http://127.0.0.1:9/x.zip",
    "--dest",
    "data/synth",
    "--force",
  ]);
  assertEquals(intoSource.code, 1);
  assert(intoSource.err.includes("in the project's source tree"), intoSource.err);
  assert(intoSource.err.includes("datasets/"), intoSource.err);
  assertEquals([...Deno.readDirSync("data/synth")].map((e) => e.name).sort(), sources);
  const below = await run([
    "data:fetch",
    "--url",
    "http://127.0.0.1:9/x.zip",
    "--dest",
    "data/ecg_images",
  ]);
  assertEquals(below.code, 1);
  assert(below.err.includes("data/ecg_images is in the project's source tree"), below.err);

  await using dir = await testDir();
  const mine = `${dir.path}/mine`;
  await Deno.mkdir(mine);
  await Deno.writeTextFile(`${mine}/notes.txt`, "the user's own");
  const forced = await run([
    "data:fetch",
    "--url",
    "http://127.0.0.1:9/x.zip",
    "--dest",
    mine,
    "--force",
  ]);
  assertEquals(forced.code, 1);
  assert(forced.err.includes("was not made by data:fetch"), forced.err);
  assertEquals(await Deno.readTextFile(`${mine}/notes.txt`), "the user's own");
});

Deno.test("data:fetch caps what an archive unpacks to: bytes (declared or not) and entries, nothing left behind", async () => {
  await using dir = await testDir();
  const zeros = new Uint8Array(3 * 2 ** 20);
  const bomb = zipSync({ "MI/MI(1).jpg": jpeg(9), "MI/MI(2).jpg": zeros }, { level: 9 });
  assert(bomb.length < 2 ** 16, "a small archive that inflates to 3 MiB");
  // The same archive with the second entry's local header declaring 1 byte: only counting the
  // inflated bytes catches it.
  const lying = bomb.slice();
  const view = new DataView(lying.buffer);
  let at = 0;
  for (let entry = 0; entry < 2; entry++) {
    if (entry === 1) view.setUint32(at + 22, 1, true);
    at += 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true) +
      view.getUint32(at + 18, true);
  }
  const limits = { maxBytes: 2 ** 20, maxEntries: 10 };
  for (const [name, bytes] of [["bomb", bomb], ["lying", lying]] as const) {
    await Deno.writeFile(`${dir.path}/${name}.zip`, bytes);
    const staging = `${dir.path}/${name}-out`;
    const e = await assertRejects(
      () => unzipImagesByClass(`${dir.path}/${name}.zip`, staging, limits),
      UnpackLimitError,
      "more than 1 MiB",
    );
    assert(e.message.includes("--max-unpacked-mb"), e.message);
    const written = [...Deno.readDirSync(`${staging}/MI`)].map((f) =>
      Deno.statSync(`${staging}/MI/${f.name}`).size
    );
    assert(written.every((size) => size <= 2 ** 20), `stopped at the cap: ${written}`);
  }
  await assertRejects(
    () =>
      unzipImagesByClass(`${dir.path}/bomb.zip`, `${dir.path}/few`, {
        ...limits,
        maxBytes: 2 ** 30,
        maxEntries: 1,
      }),
    UnpackLimitError,
    "more than 1 entries",
  );
  const all = await unzipImagesByClass(`${dir.path}/bomb.zip`, `${dir.path}/all`, {
    maxBytes: 2 ** 30,
    maxEntries: 10,
  });
  assertEquals(all.counts.MI, 2);
  assertEquals(Deno.statSync(`${dir.path}/all/MI/MI(2).jpg`).size, zeros.length);

  // Through the stage: the staging folder goes, the archive stays for a rerun with higher limits.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(bomb),
  );
  const url = `http://127.0.0.1:${server.addr.port}/bomb.zip`;
  const dest = `${dir.path}/fetched/ecg`;
  const capped = await run(["data:fetch", "--url", url, "--dest", dest, "--max-unpacked-mb", "1"]);
  assertEquals(capped.code, 1);
  assert(capped.err.includes("more than 1 MiB") && !capped.err.includes("    at "), capped.err);
  assertEquals([...Deno.readDirSync(`${dir.path}/fetched`)].map((e) => e.name), ["ecg.zip"]);
  const small = await run(["data:fetch", "--url", url, "--dest", dest, "--max-unpacked-mb", "0"]);
  assert(small.code === 1 && small.err.includes("--max-unpacked-mb 0"), small.err);
  await Deno.remove(`${dest}.zip`);
  const download = await run([
    "data:fetch",
    "--url",
    url,
    "--dest",
    dest,
    "--max-unpacked-mb",
    "1",
    "--max-entries",
    "1",
  ]);
  assertEquals(download.code, 1);
  assert(download.err.includes("more than 1 entries"), download.err);
});
