/**
 * `deno task data:synth`: write the built-in synthetic 12-lead ECG report data set
 * (ImageFolder with train/val/test, plus ground-truth evidence masks).
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { checkWriteFolder } from "../core/write_folder.ts";
import { writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";
import { SPLITS } from "../data/stratified_split.ts";
import { parseWorkers } from "../runs/workers_flag.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";

/**
 * Images per class of the demo data set (105 train, 23 val, 22 test): with 42 training images per
 * class ecgnet learnt the pages by heart (validation accuracy about 0.5); 105 let it learn the
 * findings.
 */
export const DEMO_IMAGES_PER_CLASS = 150;

/** Page width of the demo data set, as the real scans' 640 px copies. */
export const DEMO_WIDTH_PX = 640;

/** Command-line description of `data:synth`. */
export const dataSynthSpec: StageSpec = {
  name: "data:synth",
  summary: "Write the synthetic ECG report data set (images, masks, synthetic.json).",
  shared: ["seed"],
  flags: {
    out: { type: "string", valueName: "DIR", help: "data set folder (default outputs/synthetic)" },
    "per-class": {
      type: "string",
      valueName: "N",
      help: `images per class, split 70/15/15 (default ${DEMO_IMAGES_PER_CLASS})`,
    },
    width: {
      type: "string",
      valueName: "PX",
      help: `image width in px (default ${DEMO_WIDTH_PX})`,
    },
    workers: {
      type: "string",
      valueName: "N",
      help: "Web Workers rendering images in parallel (default: min(2, CPU cores)); 1 renders " +
        "in this thread; the bytes are the same either way",
    },
  },
  details: "Example: deno task data:synth --per-class 100 --seed 7",
};

function positiveIntFlag(name: string, value: string | boolean | undefined, fallback: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`--${name} ${value}: expected a positive whole number`);
  }
  return n;
}

/**
 * Runs `data:synth` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { runStage } from "./cli.ts";
 * import { dataSynth, dataSynthSpec } from "./data_synth.ts";
 * await runStage(dataSynthSpec, ["--per-class", "10"], dataSynth);
 * ```
 */
export async function dataSynth({ config, flags }: StageArgs): Promise<void> {
  const outDir = typeof flags.out === "string" ? flags.out : "outputs/synthetic";
  const perClass = positiveIntFlag("per-class", flags["per-class"], DEMO_IMAGES_PER_CLASS);
  const widthPx = positiveIntFlag("width", flags.width, DEMO_WIDTH_PX);
  if (perClass < 3) {
    throw new InputError(`--per-class ${perClass}: need at least 3 (one per split)`);
  }
  await checkWriteFolder("--out", outDir);
  let progress: Progress | undefined;
  const summary = await writeSyntheticDataset({
    outDir,
    perClass,
    seed: config.seed,
    widthPx,
    workers: parseWorkers(flags.workers),
    onImage: (_done, total) => (progress ??= new Progress("synthesise", total)).tick(),
  });
  progress?.done();
  for (const split of SPLITS) {
    const counts = Object.entries(summary.counts[split]).map(([c, n]) => `${c} ${n}`).join(", ");
    console.log(`${split}: ${counts}`);
  }
  console.log(`synthetic data set written to ${summary.root}`);
}

if (import.meta.main) Deno.exit(await runStage(dataSynthSpec, Deno.args, dataSynth));
