/**
 * The resume state of a training run: everything needed to continue after the last finished
 * epoch and end exactly where an uninterrupted run would.
 *
 * Layout of `<out>/checkpoints/<model>_last/`:
 *
 * - `epoch-NNNN/` — `model.json` + `weights.bin` (every weight, BatchNorm statistics included)
 *   and `optimizer.bin` (AdamW's first moments, then second moments, float32, variable order);
 *   written whole, then renamed into place;
 * - `state.json` — the manifest, written last and atomically: the settings, epochs done, the
 *   folder holding them, AdamW's step, early-stopping state and the history.
 *
 * A run killed at any moment leaves `state.json` naming a complete folder; anything newer is
 * ignored and redone, and since every epoch is a pure function of the state before it and the
 * seed, redoing it gives the same bytes.
 *
 * @module
 */
import { join } from "node:path";
import { tf, z } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { isPlainName } from "../core/paths.ts";
import { parseStateJson } from "../core/state_file.ts";
import type { AdamW, AdamWState } from "./adamw.ts";
import { checkpointFiles, loadWeightsInto, writeFolderAtomic } from "./checkpoint_io.ts";
import type { EarlyStoppingState } from "./early_stopping.ts";
import type { HistoryRow } from "./history.ts";

const MANIFEST = "state.json";
const OPTIMIZER_FILE = "optimizer.bin";

/** Settings that fix a run's trajectory; a resume must match them. */
export interface TrainingSettings {
  model: string;
  data: string;
  limit: number | null;
  classes: string[];
  imgSizePx: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  patience: number;
  seed: number;
  cosine: boolean;
  augment: boolean;
  augmentFillGray: number;
  /** Only part of the trajectory under the cosine schedule (its period is the epoch count). */
  epochs: number;
  pretrained: string | null;
  /**
   * The data set's fingerprint (`runs/provenance.ts`); states of older versions lack it. With
   * it, a data set that moved (`data` differs, the fingerprint not) still resumes.
   */
  dataFingerprint?: string;
}

/** `state.json`. */
export interface ResumeManifest {
  version: 1;
  settings: TrainingSettings;
  /** Epochs finished. */
  epochsDone: number;
  /** The folder (inside `_last/`) with the weights and optimizer state after `epochsDone`. */
  folder: string;
  optimizerStep: number;
  earlyStopping: EarlyStoppingState;
  history: HistoryRow[];
  /** Set when early stopping ended the run (more epochs would not be trained). */
  stoppedEarly: boolean;
}

const count = z.number().int().min(0);
/** A loss or accuracy: a diverged epoch's NaN is written to JSON as null. */
const measured = z.number().nullable();

/**
 * What `state.json` must hold. The settings are only compared with this run's, so any values
 * pass; the rest decides what is loaded and must have its type (the folder, a name inside the
 * resume folder, may not be a path).
 */
const resumeManifestSchema = z.looseObject({
  version: z.literal(1),
  settings: z.record(z.string(), z.unknown()),
  epochsDone: count,
  folder: z.string().refine(isPlainName, { message: "must be a folder name inside it" }),
  optimizerStep: count,
  earlyStopping: z.looseObject({
    bestValAccuracy: measured,
    bestEpoch: count,
    epochsWithoutImprovement: count,
  }),
  history: z.array(z.looseObject({
    epoch: count,
    trainLoss: measured,
    valLoss: measured,
    trainAccuracy: measured,
    valAccuracy: measured,
    seconds: z.number(),
  })),
  stoppedEarly: z.boolean(),
});

/**
 * The settings that differ between a saved run and this one, as `name: saved -> now` lines;
 * empty when the run can be resumed. A longer `epochs` is fine without the cosine schedule, and
 * the data set's root may differ when its fingerprint does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { settingsMismatch } from "./resume_state.ts";
 * const s = { model: "m", data: "d", limit: null, classes: ["a", "b"], imgSizePx: 64, batchSize: 8,
 *   learningRate: 1e-3, weightDecay: 0, patience: 5, seed: 1, cosine: false, epochs: 1, pretrained: null,
 *   augment: false, augmentFillGray: 0 };
 * assert(settingsMismatch(s, { ...s, epochs: 3 }).length === 0);
 * assert(settingsMismatch(s, { ...s, cosine: true, epochs: 3 })[0].startsWith("cosine"));
 * const moved = { ...s, data: "elsewhere", dataFingerprint: "f" };
 * assert(settingsMismatch({ ...s, dataFingerprint: "f" }, moved).length === 0);
 * ```
 */
export function settingsMismatch(saved: TrainingSettings, now: TrainingSettings): string[] {
  const keys = Object.keys(now) as (keyof TrainingSettings)[];
  const sameData = saved.dataFingerprint !== undefined &&
    saved.dataFingerprint === now.dataFingerprint;
  return keys
    .filter((key) => key !== "epochs" || now.cosine)
    .filter((key) => key !== "data" || !sameData)
    .filter((key) => key !== "dataFingerprint" || saved.dataFingerprint !== undefined)
    .filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(now[key]))
    .map((key) => `${key}: ${JSON.stringify(saved[key])} -> ${JSON.stringify(now[key])}`);
}

/**
 * Writes the state after an epoch: the epoch folder, then the manifest, then drops older
 * epoch folders.
 *
 * @example
 * ```ts ignore
 * await writeResumeState("outputs/checkpoints/ecgnet_last", model, optimizer, manifest);
 * ```
 */
export async function writeResumeState(
  dir: string,
  model: tf.LayersModel,
  optimizer: AdamW,
  manifest: Omit<ResumeManifest, "folder" | "optimizerStep" | "version">,
): Promise<void> {
  const folder = `epoch-${String(manifest.epochsDone).padStart(4, "0")}`;
  const state = await optimizer.exportState();
  await writeFolderAtomic(
    join(dir, folder),
    await checkpointFiles(model, { [OPTIMIZER_FILE]: packFloat32([...state.m, ...state.v]) }),
  );
  const full: ResumeManifest = { version: 1, ...manifest, folder, optimizerStep: state.step };
  await writeFileAtomic(join(dir, MANIFEST), JSON.stringify(full, null, 1));
  for (const entry of await listDirSorted(dir)) {
    if (entry.name !== folder && entry.name !== MANIFEST) {
      await Deno.remove(join(dir, entry.name), { recursive: true });
    }
  }
}

/**
 * Reads the manifest of `dir`, or `undefined` when there is none.
 *
 * @throws {InputError} naming the file and `--fresh` when it is damaged (cut short, not JSON,
 * a field missing or of the wrong type).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readResumeManifest } from "./resume_state.ts";
 * assert((await readResumeManifest("outputs/no/such/dir")) === undefined);
 * ```
 */
export async function readResumeManifest(dir: string): Promise<ResumeManifest | undefined> {
  const file = join(dir, MANIFEST);
  if (!(await statOrUndefined(file))) return undefined;
  const fix = `pass --fresh to start over (or delete the folder ${dir})`;
  const manifest = parseStateJson(await Deno.readTextFile(file), file, resumeManifestSchema, fix);
  return manifest as unknown as ResumeManifest;
}

/**
 * Restores weights and optimizer state from the folder `manifest` names.
 *
 * @example
 * ```ts ignore
 * await restoreResumeState(dir, manifest, model, optimizer);
 * ```
 */
export async function restoreResumeState(
  dir: string,
  manifest: ResumeManifest,
  model: tf.LayersModel,
  optimizer: AdamW,
): Promise<void> {
  const folder = join(dir, manifest.folder);
  await loadWeightsInto(model, folder);
  const packed = await Deno.readFile(join(folder, OPTIMIZER_FILE));
  const sizes = optimizer.variables.map((v) => v.size);
  const arrays = unpackFloat32(packed, [...sizes, ...sizes], join(folder, OPTIMIZER_FILE));
  const state: AdamWState = {
    step: manifest.optimizerStep,
    m: arrays.slice(0, sizes.length),
    v: arrays.slice(sizes.length),
  };
  optimizer.importState(state);
}

function packFloat32(arrays: readonly Float32Array[]): Uint8Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return new Uint8Array(out.buffer);
}

function unpackFloat32(bytes: Uint8Array, sizes: readonly number[], file: string): Float32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== total * 4) {
    throw new InputError(
      `${file}: holds ${bytes.byteLength} bytes, the optimizer needs ${total * 4}; ` +
        "pass --fresh to start over",
    );
  }
  const all = new Float32Array(bytes.slice().buffer);
  let offset = 0;
  return sizes.map((n) => {
    const part = all.slice(offset, offset + n);
    offset += n;
    return part;
  });
}
