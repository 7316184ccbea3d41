/**
 * The `data:split` tool's work: copy a raw `<Class>/` folder into train/val/test, stratified
 * and seeded. Originals are only read, never moved, renamed or deleted; the split appears
 * all at once (built in a temp folder, then renamed into place) or not at all.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { isImageFile } from "./dataset.ts";
import { unreadableImagesError } from "./loader.ts";
import { listDirResolved, type ResolvedEntry } from "./data_root.ts";
import { readImageHeader } from "./image_header.ts";
import {
  DEFAULT_SPLIT_FRACTIONS,
  type Split,
  type SplitFractions,
  SPLITS,
  stratifiedSplit,
} from "./stratified_split.ts";

/** The manifest a split leaves at its destination; it also marks the split as made here. */
const SPLIT_MANIFEST = "split.json";

/** Options of {@link splitFolder}. */
export interface SplitFolderOptions {
  /** The raw folder: `<source>/<Class>/*.{jpg,jpeg,png}`. */
  source: string;
  /** Where train/, val/ and test/ go; default: inside `source`, beside the class folders. */
  dest?: string;
  fractions?: SplitFractions;
  seed: number;
  /** Replace an existing split at `dest`, when an earlier split made it (`split.json` is there). */
  force?: boolean;
  /**
   * `skip` leaves unreadable images out (and lists them); `fail` stops before copying, listing
   * every unreadable one.
   */
  onBadImage?: "fail" | "skip";
  /** Called after each copied file. */
  onCopied?: (done: number, total: number) => void;
}

/** What {@link splitFolder} wrote. */
export interface SplitFolderResult {
  dest: string;
  counts: Record<Split, Record<string, number>>;
  skipped: { file: string; reason: string }[];
}

/**
 * Splits `source` into `<dest>/{train,val,test}/<Class>/` by copying, and writes
 * `<dest>/split.json` (seed, fractions, counts).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitFolder } from "./split_folder.ts";
 * const src = await Deno.makeTempDir();
 * const png = Uint8Array.from(atob(
 *   "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
 * ), (c) => c.charCodeAt(0));
 * for (const c of ["A", "B"]) {
 *   await Deno.mkdir(`${src}/${c}`);
 *   for (let i = 0; i < 10; i++) await Deno.writeFile(`${src}/${c}/${c}(${i}).png`, png);
 * }
 * const result = await splitFolder({ source: src, seed: 42 });
 * assert(result.counts.train.A === 7 && result.counts.test.B === 1);
 * ```
 */
export async function splitFolder(options: SplitFolderOptions): Promise<SplitFolderResult> {
  const { source, seed } = options;
  const dest = options.dest ?? source;
  const fractions = options.fractions ?? DEFAULT_SPLIT_FRACTIONS;
  let realSource: string;
  let entries: ResolvedEntry[];
  try {
    realSource = await Deno.realPath(source);
    entries = await listDirResolved(source, source, realSource);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      throw new InputError(`--data ${source}: folder does not exist; pass the raw <Class>/ folder`);
    }
    throw e;
  }
  const reserved = new Set<string>([...SPLITS, "masks"]);
  const classes = entries
    .filter((e) => e.isDirectory && !reserved.has(e.name) && !e.name.startsWith("."))
    .map((e) => e.name);
  if (classes.length === 0) {
    const hint = entries.some((e) => reserved.has(e.name))
      ? "it already holds a split (train/val/test)"
      : "it has no <Class>/ sub-folders";
    throw new InputError(`--data ${source}: nothing to split: ${hint}`);
  }
  const existing = [];
  for (const split of SPLITS) {
    if ((await statOrUndefined(join(dest, split))) !== undefined) existing.push(split);
  }
  if (existing.length > 0 && !options.force) {
    throw new InputError(
      `${dest}: a split already exists (${existing.join(", ")}); pass --force to replace it`,
    );
  }
  if (existing.length > 0 && !(await statOrUndefined(join(dest, SPLIT_MANIFEST)))) {
    const folders = existing.join(", ");
    throw new InputError(
      `${dest}: holds ${folders} that data:split did not make (no ${SPLIT_MANIFEST}), so ` +
        "--force does not replace them; pass another --dest, or move them away yourself",
    );
  }

  const items: { key: string; className: string; file: string }[] = [];
  const skipped: SplitFolderResult["skipped"] = [];
  for (const className of classes) {
    const classDir = join(source, className);
    const files = (await listDirResolved(classDir, source, realSource))
      .filter((e) => e.isFile && isImageFile(e.name));
    for (const { name } of files) {
      const file = join(classDir, name);
      try {
        // The header check (format, size) is cheap; full decoding happens when a stage loads it.
        readImageHeader(await Deno.readFile(file), file);
        items.push({ key: `${className}/${name}`, className, file });
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        skipped.push({ file, reason: e.message });
      }
    }
  }

  if (options.onBadImage !== "skip" && skipped.length > 0) throw unreadableImagesError(skipped);
  for (const className of classes) {
    if (!items.some((item) => item.className === className)) {
      throw new InputError(
        `${join(source, className)}: class folder has no readable images; add some or remove it`,
      );
    }
  }
  const assignment = stratifiedSplit(items, seed, fractions);
  const staging = join(dest, `.split-${Deno.pid}-${Date.now()}`);
  const counts: SplitFolderResult["counts"] = { train: {}, val: {}, test: {} };
  try {
    for (const split of SPLITS) {
      for (const className of classes) {
        await Deno.mkdir(join(staging, split, className), { recursive: true });
      }
    }
    for (const [i, item] of items.entries()) {
      const split = assignment.get(item.key)!;
      await Deno.copyFile(item.file, join(staging, split, item.key));
      counts[split][item.className] = (counts[split][item.className] ?? 0) + 1;
      options.onCopied?.(i + 1, items.length);
    }
    for (const split of existing) await Deno.remove(join(dest, split), { recursive: true });
    for (const split of SPLITS) await Deno.rename(join(staging, split), join(dest, split));
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  const manifest = { source, seed, fractions, counts, skipped };
  await writeFileAtomic(join(dest, SPLIT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dest, counts, skipped };
}
