/**
 * Downloading a large file to disk with a progress bar, checking that all of it arrived
 * (the server's Content-Length, an expected size) and, where known, its SHA-256.
 *
 * The bytes go to `<dest>.part` and are renamed to `dest` only once every check passed, so an
 * interrupted or corrupt download never looks like a finished one.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { InputError } from "../core/errors.ts";
import { writeAll } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";

/** What a download must be; unset fields are not checked. */
export interface DownloadExpectations {
  /** Size in bytes. */
  sizeBytes?: number;
  /** SHA-256, lower-case hex. */
  sha256?: string;
  /** The most bytes accepted: a larger announced size is refused, a longer body cut off. */
  maxBytes?: number;
}

/** A finished, checked download. */
export interface DownloadResult {
  path: string;
  sizeBytes: number;
  /** SHA-256 of the bytes, lower-case hex (print it so users can pin it with --sha256). */
  sha256: string;
}

/**
 * Downloads `url` to `dest`, checking it arrived whole and matches `expected`.
 *
 * @throws {InputError} for an HTTP error, a connection that broke off, a short body, a body
 * over `expected.maxBytes`, or a size or SHA-256 mismatch; nothing is left at `dest` then.
 *
 * @example
 * ```ts ignore
 * const { sha256 } = await downloadFile("https://example.org/data.zip", "outputs/data.zip", {});
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  expected: DownloadExpectations,
): Promise<DownloadResult> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    throw new InputError(`--url ${url}: cannot connect (${(e as Error).message})`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new InputError(
      `--url ${url}: the server answered ${response.status} ${response.statusText}`,
    );
  }
  const header = response.headers.get("content-length");
  const announced = header === null ? undefined : Number(header);
  const tooLarge = (bytes: string) =>
    new InputError(
      `--url ${url}: ${bytes}, more than --max-unpacked-mb allows ` +
        `(${(expected.maxBytes ?? 0) / 2 ** 20} MiB); raise it if this is the file you meant`,
    );
  if (expected.maxBytes !== undefined && announced !== undefined && announced > expected.maxBytes) {
    await response.body.cancel();
    throw tooLarge(`the server announces ${announced} bytes`);
  }
  const total = expected.sizeBytes ?? announced;
  const progress = new Progress("download KiB", total === undefined ? 0 : Math.ceil(total / 1024));
  const partial = `${dest}.part`;
  await Deno.mkdir(dirname(dest), { recursive: true });
  const file = await Deno.open(partial, { write: true, create: true, truncate: true });
  const hash = createHash("sha256");
  let received = 0;
  let reported = 0;
  try {
    try {
      for await (const chunk of response.body) {
        if (expected.maxBytes !== undefined && received + chunk.length > expected.maxBytes) {
          throw tooLarge(`over ${expected.maxBytes} bytes arrived`);
        }
        hash.update(chunk);
        await writeAll(file, chunk);
        received += chunk.length;
        const kib = Math.floor(received / 1024);
        progress.tick(kib - reported);
        reported = kib;
      }
      // On disk before the rename below can make it look finished.
      await file.sync();
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(
        `--url ${url}: the download broke off after ${received} bytes` +
          (announced === undefined ? "" : ` of ${announced}`) +
          ` (${(e as Error).message}); run the command again`,
      );
    } finally {
      file.close();
    }
    progress.done();
    const short = (want: number, what: string) =>
      new InputError(
        `--url ${url}: got ${received} bytes, ${what} says ${want}: the download is truncated ` +
          "or not the expected file; run the command again",
      );
    if (announced !== undefined && received !== announced) throw short(announced, "the server");
    if (expected.sizeBytes !== undefined && received !== expected.sizeBytes) {
      throw short(expected.sizeBytes, "--size");
    }
    const sha256 = hash.digest("hex");
    if (expected.sha256 !== undefined && sha256 !== expected.sha256.toLowerCase()) {
      throw new InputError(
        `--url ${url}: SHA-256 is ${sha256}, expected ${expected.sha256}: the file is corrupt ` +
          "or another version; check --url and --sha256",
      );
    }
    await Deno.rename(partial, dest);
    return { path: dest, sizeBytes: received, sha256 };
  } catch (e) {
    await Deno.remove(partial).catch(() => {});
    throw e;
  }
}

/**
 * Checks a file downloaded earlier against `expected` (size, SHA-256).
 *
 * @throws {InputError} naming the file, what differs, and to delete it.
 *
 * @example
 * ```ts
 * import { checkFile } from "./download.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a`, "abc");
 * await checkFile(`${dir}/a`, { sizeBytes: 3, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" });
 * ```
 */
export async function checkFile(path: string, expected: DownloadExpectations): Promise<void> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of (await Deno.open(path)).readable) {
    hash.update(chunk);
    size += chunk.length;
  }
  const sha256 = hash.digest("hex");
  const wrong = (what: string) =>
    new InputError(`${path}: ${what}; delete it and run the command again to download it anew`);
  if (expected.sizeBytes !== undefined && size !== expected.sizeBytes) {
    throw wrong(`${size} bytes, --size says ${expected.sizeBytes}`);
  }
  if (expected.sha256 !== undefined && sha256 !== expected.sha256.toLowerCase()) {
    throw wrong(`SHA-256 is ${sha256}, --sha256 says ${expected.sha256}`);
  }
}
