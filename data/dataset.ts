/**
 * Finding a data set's images and labels on disk: ImageFolder roots and flat folders with
 * `labels.csv`. Nothing is decoded here; see `image_cache.ts` and `loader.ts` for pixels.
 *
 * @module
 */
import { basename, extname, join, normalize } from "node:path";
import { parseCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import { escapesFolder } from "../core/paths.ts";
import { listDirResolved, realPathInside } from "./data_root.ts";
import { type Split, SPLITS, stratifiedSplit } from "./stratified_split.ts";

/** File endings read as images (case-insensitive), as torchvision's ImageFolder would. */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"] as const;

/** One labelled image. */
export interface Sample {
  /**
   * Unique, stable id, traceable to the file: `<split>/<Class>/<file stem>`, or the file's path
   * with its ending where stems collide (see {@link sampleIds}).
   */
  id: string;
  /** Path of the image file. */
  file: string;
  /** Index of the class in {@link Dataset.classes}. */
  label: number;
  className: string;
  split: Split;
  /** Ground-truth evidence mask (`<root>/masks/<split>/<Class>/<stem>.png`), when present. */
  maskFile?: string;
}

/** A data set found on disk. */
export interface Dataset {
  root: string;
  layout: "imagefolder" | "labels-csv";
  /** Class names in label order. */
  classes: string[];
  samples: Sample[];
}

/** Options for {@link openDataset}. */
export interface OpenDatasetOptions {
  /** Splits the caller needs; a missing one is an error. Default: all three. */
  splits?: readonly Split[];
  /** Expected class names in label order (the config's `classes`). */
  classes: readonly string[];
  /** Seed of the stratified split for a `labels.csv` without a `split` column. */
  seed: number;
}

/**
 * True when `name` has an image file ending.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isImageFile } from "./dataset.ts";
 * assert(isImageFile("MI(12).JPG") && !isImageFile("labels.csv"));
 * ```
 */
export function isImageFile(name: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

/** The data folder as given (for messages and sample paths) and its real path (for checks). */
interface DataRoot {
  root: string;
  realRoot: string;
}

/** What is at `path` inside the data folder, links followed; a link leading out is an error. */
async function kindInside(
  { root, realRoot }: DataRoot,
  path: string,
): Promise<"file" | "folder" | undefined> {
  const real = await realPathInside(path, root, realRoot);
  const info = real === undefined ? undefined : await Deno.stat(real);
  return info?.isFile ? "file" : info?.isDirectory ? "folder" : undefined;
}

function stem(file: string): string {
  return basename(file, extname(file));
}

/** Where a sample's file lies: its split, class, and path below the class folder or root. */
export interface SamplePlace {
  split: Split;
  className: string;
  /**
   * The file's path relative to its class folder (ImageFolder) or the data root (labels.csv),
   * with `/` between folders.
   */
  relative: string;
}

/**
 * The id of each sample, in order. The id is `<split>/<Class>/<file stem>` (what outputs and
 * heatmap file names have always used); where two files of one split and class share that id
 * (`MI(1).jpg` beside `MI(1).png`, `a/ecg.jpg` and `b/ecg.jpg` in a labels.csv), each of them
 * gets `<split>/<Class>/<relative path with its ending>` instead, so no explanation overwrites
 * another. Ids depend only on the list of files, so every run gives the same ones.
 *
 * @throws {InputError} when the longer ids still collide (e.g. `x.jpg`, `x.png` and
 * `x.jpg.png` in one folder), naming the files to rename.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sampleIds } from "./dataset.ts";
 * const ids = sampleIds([
 *   { split: "test", className: "MI", relative: "MI(1).jpg" },
 *   { split: "test", className: "MI", relative: "MI(1).png" },
 *   { split: "test", className: "MI", relative: "MI(2).jpg" },
 * ]);
 * assert.deepStrictEqual(ids, ["test/MI/MI(1).jpg", "test/MI/MI(1).png", "test/MI/MI(2)"]);
 * ```
 */
export function sampleIds(places: readonly SamplePlace[]): string[] {
  const short = places.map((p) => `${p.split}/${p.className}/${stem(p.relative)}`);
  const uses = new Map<string, number>();
  for (const id of short) uses.set(id, (uses.get(id) ?? 0) + 1);
  const ids = places.map((p, i) =>
    uses.get(short[i])! > 1 ? `${p.split}/${p.className}/${p.relative}` : short[i]
  );
  const owner = new Map<string, string>();
  ids.forEach((id, i) => {
    const other = owner.get(id);
    if (other !== undefined) {
      throw new InputError(
        `${other} and ${places[i].relative} (${places[i].split}, class ${places[i].className}) ` +
          `would both get the sample id "${id}"; rename one of them`,
      );
    }
    owner.set(id, places[i].relative);
  });
  return ids;
}

/** A sample as found on disk, before {@link identify} names it. */
type FoundSample = Omit<Sample, "id" | "maskFile"> & SamplePlace;

/** Gives every found sample its id ({@link sampleIds}) and its mask, when there is one. */
async function identify(data: DataRoot, found: readonly FoundSample[]): Promise<Sample[]> {
  const ids = sampleIds(found);
  const samples: Sample[] = [];
  for (const [i, { relative: _, ...sample }] of found.entries()) {
    samples.push(await withMask(data, { ...sample, id: ids[i] }));
  }
  return samples;
}

async function withMask(data: DataRoot, sample: Omit<Sample, "maskFile">): Promise<Sample> {
  const { root } = data;
  const maskFile = join(root, "masks", sample.split, sample.className, `${stem(sample.file)}.png`);
  return (await kindInside(data, maskFile)) === "file" ? { ...sample, maskFile } : sample;
}

function checkClasses(found: readonly string[], expected: readonly string[], where: string): void {
  if (found.join("\n") === expected.join("\n")) return;
  throw new InputError(
    `${where}: class folders are [${found.join(", ")}] but the config expects ` +
      `[${expected.join(", ")}]; set "classes" in a --config file to the folder names, sorted`,
  );
}

async function openImageFolder(data: DataRoot, options: OpenDatasetOptions): Promise<Dataset> {
  const { root, realRoot } = data;
  const found: FoundSample[] = [];
  for (const split of options.splits ?? SPLITS) {
    const splitDir = join(root, split);
    if ((await kindInside(data, splitDir)) !== "folder") {
      throw new InputError(
        `${splitDir}: split folder missing; an ImageFolder root needs train/, val/ and test/ ` +
          `(run deno task data:split --data <raw folder> to make them)`,
      );
    }
    const classDirs = (await listDirResolved(splitDir, root, realRoot))
      .filter((e) => e.isDirectory).map((e) => e.name);
    checkClasses(classDirs, options.classes, splitDir);
    for (const [label, className] of classDirs.entries()) {
      const classDir = join(splitDir, className);
      const files = (await listDirResolved(classDir, root, realRoot))
        .filter((e) => e.isFile && isImageFile(e.name));
      if (files.length === 0) {
        throw new InputError(
          `${classDir}: class folder has no images (${IMAGE_EXTENSIONS.join(", ")}); ` +
            `add images or remove the class from every split and from "classes"`,
        );
      }
      for (const { name } of files) {
        found.push({ file: join(classDir, name), relative: name, label, className, split });
      }
    }
  }
  const samples = await identify(data, found);
  return { root, layout: "imagefolder", classes: [...options.classes], samples };
}

interface LabelRow {
  file: string;
  class: string;
  split?: string;
}

async function openLabelsCsv(data: DataRoot, options: OpenDatasetOptions): Promise<Dataset> {
  const { root } = data;
  const csvPath = join(root, "labels.csv");
  let rows: LabelRow[];
  try {
    rows = parseCsv(await Deno.readTextFile(csvPath), {
      columns: true,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (e) {
    throw new InputError(`${csvPath}: cannot parse CSV (${(e as Error).message})`);
  }
  if (rows.length === 0 || !("file" in rows[0]) || !("class" in rows[0])) {
    throw new InputError(
      `${csvPath}: needs a header row with columns file,class (and optionally split)`,
    );
  }
  const classIndex = new Map(options.classes.map((c, i) => [c, i]));
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const line = i + 2;
    if (!classIndex.has(row.class)) {
      throw new InputError(
        `${csvPath}:${line}: unknown class "${row.class}" for ${row.file}; ` +
          `known classes: ${options.classes.join(", ")} (set "classes" in a --config file)`,
      );
    }
    if (
      row.split !== undefined && row.split !== "" &&
      !(SPLITS as readonly string[]).includes(row.split)
    ) {
      throw new InputError(
        `${csvPath}:${line}: split "${row.split}" is not one of ${SPLITS.join(", ")}`,
      );
    }
    if (!isImageFile(row.file)) {
      throw new InputError(`${csvPath}:${line}: ${row.file} is not a .jpg, .jpeg or .png file`);
    }
    if (escapesFolder(row.file)) {
      throw new InputError(`${csvPath}:${line}: ${row.file} points outside the data folder`);
    }
    if (seen.has(row.file)) throw new InputError(`${csvPath}:${line}: ${row.file} is listed twice`);
    seen.add(row.file);
  });
  const assigned = rows.some((r) => !r.split)
    ? stratifiedSplit(rows.map((r) => ({ key: r.file, className: r.class })), options.seed)
    : undefined;
  const wanted = new Set(options.splits ?? SPLITS);
  const found: FoundSample[] = [];
  for (const row of rows) {
    const split = (row.split || assigned!.get(row.file)!) as Split;
    if (!wanted.has(split)) continue;
    const file = join(root, row.file);
    if ((await kindInside(data, file)) !== "file") {
      throw new InputError(`${csvPath}: ${row.file} is listed but the file does not exist`);
    }
    found.push({
      file,
      relative: normalize(row.file.replaceAll("\\", "/")),
      label: classIndex.get(row.class)!,
      className: row.class,
      split,
    });
  }
  const samples = await identify(data, found);
  for (const split of wanted) {
    for (const className of options.classes) {
      if (!samples.some((s) => s.split === split && s.className === className)) {
        throw new InputError(
          `${csvPath}: no images of class "${className}" in split ${split}; add some or adjust "classes"`,
        );
      }
    }
  }
  return { root, layout: "labels-csv", classes: [...options.classes], samples };
}

/**
 * Finds the images and labels under `root`: an ImageFolder (`<root>/{train,val,test}/<Class>/`)
 * or, when `<root>/labels.csv` exists, a flat folder listed there (`file,class[,split]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { openDataset } from "./dataset.ts";
 * const root = await Deno.makeTempDir();
 * for (const split of ["train", "val", "test"]) {
 *   for (const c of ["A", "B"]) {
 *     await Deno.mkdir(`${root}/${split}/${c}`, { recursive: true });
 *     await Deno.writeFile(`${root}/${split}/${c}/${c}(1).png`, new Uint8Array([137]));
 *   }
 * }
 * const ds = await openDataset(root, { classes: ["A", "B"], seed: 1 });
 * assert(ds.samples.length === 6 && ds.samples[0].id === "train/A/A(1)");
 * ```
 */
export async function openDataset(root: string, options: OpenDatasetOptions): Promise<Dataset> {
  if (!(await statOrUndefined(root))?.isDirectory) {
    throw new InputError(
      `--data ${root}: folder does not exist; create the synthetic set with ` +
        `deno task data:synth, or point --data at an ImageFolder root`,
    );
  }
  // The root itself may be a link (a data set kept on another disk); what lies in it may not
  // lead out of it.
  const data = { root, realRoot: await Deno.realPath(root) };
  if ((await kindInside(data, join(root, "labels.csv"))) === "file") {
    return await openLabelsCsv(data, options);
  }
  return await openImageFolder(data, options);
}

/**
 * Counts samples per split and class, for summaries.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { countSamples } from "./dataset.ts";
 * const counts = countSamples([{ split: "train", className: "A" }, { split: "train", className: "A" }]);
 * assert(counts.train.A === 2);
 * ```
 */
export function countSamples(
  samples: readonly Pick<Sample, "split" | "className">[],
): Record<Split, Record<string, number>> {
  const counts: Record<Split, Record<string, number>> = { train: {}, val: {}, test: {} };
  for (const { split, className } of samples) {
    counts[split][className] = (counts[split][className] ?? 0) + 1;
  }
  return counts;
}
