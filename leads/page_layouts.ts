/**
 * Where the panels are on each page an explanation was made of: exactly, for a synthetic report
 * (its `synthetic.json` records how the page was tilted and shifted), else fitted on the image
 * (`page_fit.ts`), else not found with the reason. Each page is worked out once per run.
 *
 * @module
 */
import { dirname, join, relative, sep } from "node:path";
import { z } from "../deps.ts";
import { statOrUndefined } from "../core/fs.ts";
import { parseStateJson } from "../core/state_file.ts";
import { readImageFile } from "../data/decode_image.ts";
import { PageTransform } from "../data/synth/report_layout.ts";
import { fitReportLayout } from "./page_fit.ts";
import type { PageFrame, SizePx } from "./panel_boxes.ts";

/** How a page's layout was found. */
export type LayoutKind = "synthetic" | "fitted" | "not_found";

/** One page's layout. */
export interface PageLayout {
  kind: LayoutKind;
  /** The page image's size. */
  source: SizePx;
  /** Page millimetres to image pixels; absent when not found. */
  frame?: PageFrame;
  /** Image pixels per page millimetre, tilt (degrees) and where the page's origin lies. */
  geometry?: { pxPerMm: number; rotationDeg: number; originXPx: number; originYPx: number };
  /** Fitted pages: per baseline, the traces' ink peak minus where the layout puts it, mm. */
  baselineOffsetsMm?: number[];
  /** Synthetic pages: the leads whose traces carry the class's evidence. */
  affectedLeads?: string[];
  /** Not found: why. */
  reason?: string;
}

/** The fields of a `synthetic.json` image record the layout needs. */
const syntheticRecord = z.object({
  file: z.string(),
  widthPx: z.number().int().positive(),
  heightPx: z.number().int().positive(),
  rotationDeg: z.number(),
  shiftXMm: z.number(),
  shiftYMm: z.number(),
  affectedLeads: z.array(z.string()),
});
const syntheticJson = z.object({ images: z.array(syntheticRecord) });
type SyntheticRecord = z.infer<typeof syntheticRecord>;

/** How many folders above an image its data set's `synthetic.json` may be (root/split/Class). */
const SYNTHETIC_DEPTH = 3;

/**
 * The layouts of pages, each worked out once: `of(file)` reads the `synthetic.json` of the data
 * set the file is in (up to {@link SYNTHETIC_DEPTH} folders up) and takes the page's recorded
 * tilt and shift, or fits the layout on the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
 * import { PageLayouts } from "./page_layouts.ts";
 * const root = await Deno.makeTempDir();
 * await writeSyntheticDataset({ outDir: root, perClass: 3, seed: 1, widthPx: 320 });
 * const layout = await new PageLayouts().of(`${root}/test/MI/MI(3).jpg`);
 * assert(layout.kind === "synthetic" && layout.source.widthPx === 320);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class PageLayouts {
  readonly #records = new Map<string, Promise<Map<string, SyntheticRecord> | undefined>>();
  readonly #layouts = new Map<string, Promise<PageLayout>>();

  /** The layout of the page in `file`. */
  of(file: string): Promise<PageLayout> {
    let layout = this.#layouts.get(file);
    if (!layout) this.#layouts.set(file, layout = this.#find(file));
    return layout;
  }

  async #find(file: string): Promise<PageLayout> {
    let folder = dirname(file);
    for (let depth = 0; depth < SYNTHETIC_DEPTH; depth++, folder = dirname(folder)) {
      const records = await this.#syntheticRecords(folder);
      const record = records?.get(relative(folder, file).split(sep).join("/"));
      if (record) return syntheticLayout(record);
    }
    return fittedLayout(file);
  }

  #syntheticRecords(folder: string): Promise<Map<string, SyntheticRecord> | undefined> {
    let records = this.#records.get(folder);
    if (!records) this.#records.set(folder, records = readSyntheticRecords(folder));
    return records;
  }
}

async function readSyntheticRecords(
  folder: string,
): Promise<Map<string, SyntheticRecord> | undefined> {
  const file = join(folder, "synthetic.json");
  if (!(await statOrUndefined(file))?.isFile) return undefined;
  const { images } = parseStateJson(
    await Deno.readTextFile(file),
    file,
    syntheticJson,
    "regenerate the data set with deno task data:synth",
  );
  return new Map(images.map((record) => [record.file, record]));
}

function syntheticLayout(record: SyntheticRecord): PageLayout {
  const frame = new PageTransform(
    record.widthPx,
    record.rotationDeg,
    record.shiftXMm,
    record.shiftYMm,
  );
  const [originXPx, originYPx] = frame.toPx(0, 0);
  return {
    kind: "synthetic",
    source: { widthPx: record.widthPx, heightPx: record.heightPx },
    frame,
    geometry: { pxPerMm: frame.pxPerMm, rotationDeg: record.rotationDeg, originXPx, originYPx },
    affectedLeads: record.affectedLeads,
  };
}

async function fittedLayout(file: string): Promise<PageLayout> {
  const image = await readImageFile(file);
  const source = { widthPx: image.widthPx, heightPx: image.heightPx };
  const fit = fitReportLayout(image);
  if ("reason" in fit) return { kind: "not_found", source, reason: fit.reason };
  const { pxPerMm, rotationDeg, originXPx, originYPx } = fit.frame;
  return {
    kind: "fitted",
    source,
    frame: fit.frame,
    geometry: { pxPerMm, rotationDeg, originXPx, originYPx },
    baselineOffsetsMm: fit.baselineOffsetsMm,
  };
}
