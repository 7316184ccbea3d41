/**
 * `deno task data:fetch`: download the real ECG image data set (Khan & Hussain, Mendeley Data,
 * doi 10.17632/gwbz3fsgp8.2), check it, unpack it into `<dest>/<Class>/` and split it into
 * train/val/test as `data:split` does. The only task with network access.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { checkWriteFolder } from "../core/write_folder.ts";
import { checkFile, downloadFile } from "../data/download.ts";
import {
  DEFAULT_UNPACK_LIMITS,
  UnpackLimitError,
  unzipImagesByClass,
} from "../data/unzip_classes.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { dataSplit } from "./data_split.ts";

/**
 * Mendeley Data's "Download All" archive of the data set's version 2 (the data set's page is
 * https://data.mendeley.com/datasets/gwbz3fsgp8/2). Its size and SHA-256 are not pinned here:
 * this project's machines have no internet to measure them; the stage prints the SHA-256 it
 * got so that a run can be pinned with `--sha256`.
 */
export const DATASET_URL =
  "https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/gwbz3fsgp8-2.zip";

/**
 * Where the unpacked `<Class>/` folders go by default: under `datasets/`, outside the source
 * tree (`data/` holds the loader's code).
 */
export const DATASET_DEST = "datasets/ecg_images";

/**
 * The file data:fetch leaves in every folder it makes; `--force` replaces only a folder that
 * holds it, never one the user made.
 */
export const FETCH_MARKER = ".made-by-data-fetch.json";

/** Command-line description of `data:fetch`. */
export const dataFetchSpec: StageSpec = {
  name: "data:fetch",
  summary: "Download the real ECG image data set, verify, unpack into <Class>/ and split it.",
  shared: ["seed", "on-bad-image"],
  flags: {
    url: { type: "string", valueName: "URL", help: `archive to download (default ${DATASET_URL})` },
    sha256: { type: "string", valueName: "HEX", help: "expected SHA-256 of the archive" },
    size: { type: "string", valueName: "BYTES", help: "expected size of the archive in bytes" },
    dest: {
      type: "string",
      valueName: "DIR",
      help: `folder for <Class>/ and the train/val/test split (default ${DATASET_DEST})`,
    },
    force: {
      type: "boolean",
      help: "replace an existing --dest folder an earlier data:fetch made",
    },
    "max-unpacked-mb": {
      type: "string",
      valueName: "MB",
      help: `most MiB the archive may download and unpack to (default ${
        DEFAULT_UNPACK_LIMITS.maxBytes / 2 ** 20
      })`,
    },
    "max-entries": {
      type: "string",
      valueName: "N",
      help: `most entries the archive may hold (default ${DEFAULT_UNPACK_LIMITS.maxEntries})`,
    },
  },
  details: "Downloads to <dest>.zip (kept, so a rerun does not download again), checks that " +
    "all announced bytes arrived and, when given, --size and --sha256; unpacks every image, " +
    "streamed to disk and within --max-unpacked-mb and --max-entries, into " +
    "<dest>/<Class>/ (classes Abnormal, HistoryMI, MI, Normal, from the archive's folder or " +
    "file names), rejecting an archive with absolute or ../ entries; then splits as data:split.\n" +
    "Example: deno task data:fetch --sha256 <hex printed by an earlier run>",
};

function positiveFlag(name: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^[1-9]\d*$/.test(value)) {
    throw new InputError(`--${name} ${value}: expected a positive whole number`);
  }
  return Number(value);
}

function sizeFlag(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value)) {
    throw new InputError(`--size ${value}: expected a whole number of bytes`);
  }
  return Number(value);
}

function sha256Flag(value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new InputError(`--sha256 ${value}: expected 64 hex digits`);
  }
  return value.toLowerCase();
}

/**
 * Runs `data:fetch` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { runStage } from "./cli.ts";
 * import { dataFetch, dataFetchSpec } from "./data_fetch.ts";
 * await runStage(dataFetchSpec, ["--dest", "datasets/ecg_images"], dataFetch);
 * ```
 */
export async function dataFetch({ config, flags }: StageArgs): Promise<void> {
  const url = typeof flags.url === "string" ? flags.url : DATASET_URL;
  const dest = typeof flags.dest === "string" ? flags.dest : DATASET_DEST;
  const mb = positiveFlag(
    "max-unpacked-mb",
    flags["max-unpacked-mb"],
    DEFAULT_UNPACK_LIMITS.maxBytes / 2 ** 20,
  );
  const limits = {
    maxBytes: mb * 2 ** 20,
    maxEntries: positiveFlag("max-entries", flags["max-entries"], DEFAULT_UNPACK_LIMITS.maxEntries),
  };
  const expected = {
    sizeBytes: sizeFlag(flags.size),
    sha256: sha256Flag(flags.sha256),
    maxBytes: limits.maxBytes,
  };
  await checkWriteFolder("--dest", dest);
  if (await statOrUndefined(dest)) {
    if (flags.force !== true) {
      throw new InputError(`--dest ${dest}: already exists; pass --force to replace it`);
    }
    if (!(await statOrUndefined(join(dest, FETCH_MARKER)))) {
      throw new InputError(
        `--dest ${dest}: exists and was not made by data:fetch (no ${FETCH_MARKER} in it), so ` +
          "--force does not replace it; pass another --dest, or move the folder away yourself",
      );
    }
  }
  const archive = `${dest}.zip`;
  const kept = await statOrUndefined(archive);
  if (kept) {
    console.log(`using ${archive} from an earlier download (delete it to download again)`);
    await checkFile(archive, expected);
  } else {
    console.log(`downloading ${url}`);
  }
  const download = kept ? undefined : await downloadFile(url, archive, expected);
  if (download) console.log(`${archive}: ${download.sizeBytes} bytes, SHA-256 ${download.sha256}`);
  const staging = `${dest}.unpack-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const { counts, skipped } = await unzipImagesByClass(archive, staging, limits);
    if (Object.keys(counts).length === 0) {
      throw new InputError(`${archive}: no images of a known class inside; is --url the data set?`);
    }
    console.log(
      `unpacked ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(", ")}` +
        (skipped.length > 0 ? `; skipped ${skipped.length} other entries` : ""),
    );
    const made = { tool: "data:fetch", url, at: new Date().toISOString() };
    await writeFileAtomic(join(staging, FETCH_MARKER), `${JSON.stringify(made, null, 2)}\n`);
    await Deno.remove(dest, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(staging, dest);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    // A corrupt archive must not be reused by the next run; one over the limits is kept for a
    // rerun with higher ones.
    if (e instanceof InputError && !(e instanceof UnpackLimitError)) {
      await Deno.remove(archive).catch(() => {});
    }
    throw e;
  }
  await dataSplit({ config: { ...config, data: dest }, flags: {} });
  console.log(`data set ready: deno task train --data ${dest}`);
}

if (import.meta.main) Deno.exit(await runStage(dataFetchSpec, Deno.args, dataFetch));
