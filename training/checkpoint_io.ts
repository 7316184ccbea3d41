/**
 * Model checkpoints on disk: tfjs's `model.json` + `weights.bin` pair, written through our own
 * IOHandler (tfjs's `file://` handler is Node-only) and a `meta.json` describing the run.
 *
 * A checkpoint folder is written whole into a temp folder, then renamed into place, so a
 * reader never sees a mix of two epochs. Weights are restored by position into a freshly
 * built model of the same architecture: tfjs numbers layer names per process (`conv2d_3` in
 * one run is `conv2d_7` in the next), while the order of `model.weights` is fixed by the
 * architecture.
 *
 * @module
 */
import { join } from "node:path";
import { tf, z } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { configSchema } from "../core/config.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted, statOrUndefined } from "../core/fs.ts";
import { escapesFolder, isPlainName } from "../core/paths.ts";
import { parseStateJson } from "../core/state_file.ts";

/** The weights file name inside a checkpoint folder. */
export const WEIGHTS_FILE = "weights.bin";

/** Where one model's training outputs lie under an outputs folder. */
export interface ModelPaths {
  /** The best checkpoint: `model.json`, `weights.bin`, `meta.json`. */
  best: string;
  /** The resume state after the last finished epoch. */
  last: string;
  /** The model's training metrics (`history.csv`). */
  metrics: string;
}

/** The folder below an outputs folder that holds every model's checkpoints. */
const CHECKPOINTS_DIR = "checkpoints";

/**
 * Where a model's outputs go under the outputs folder `outDir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { modelPaths } from "./checkpoint_io.ts";
 * assert(modelPaths("outputs", "ecgnet").best === "outputs/checkpoints/ecgnet_best");
 * ```
 */
export function modelPaths(outDir: string, model: string): ModelPaths {
  return {
    best: join(outDir, CHECKPOINTS_DIR, `${model}_best`),
    last: join(outDir, CHECKPOINTS_DIR, `${model}_last`),
    metrics: join(outDir, "metrics", model),
  };
}

/**
 * The models with a best or a last checkpoint folder under the outputs folder `outDir`, in
 * name order (each once); none when nothing was trained there.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkpointedModels } from "./checkpoint_io.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/checkpoints/ecgnet_best`, { recursive: true });
 * await Deno.mkdir(`${out}/checkpoints/ecgnet_last`);
 * assert((await checkpointedModels(out)).join() === "ecgnet");
 * ```
 */
export async function checkpointedModels(outDir: string): Promise<string[]> {
  const root = join(outDir, CHECKPOINTS_DIR);
  if (!(await statOrUndefined(root))) return [];
  const names = (await listDirSorted(root))
    .map((e) => /^(.+)_(best|last)$/.exec(e.name)?.[1])
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)];
}

/** `meta.json` of a best checkpoint. */
export interface CheckpointMeta {
  /** Architecture name, as `buildModel` knows it. */
  model: string;
  /** Class names in label order (the model's output order). */
  classes: string[];
  /** Square input size the model was trained at. */
  imgSizePx: number;
  /** 1-based epoch the weights come from; 0 for imported weights (no epoch was trained here). */
  epoch: number;
  /** Validation accuracy at that epoch; null for imported weights (not validated here). */
  valAccuracy: number | null;
  /** The run's settings, for the record. */
  config: Record<string, unknown>;
  /** Set when the weights were imported (`deno task import`) rather than trained here. */
  imported?: ImportedWeights;
  /** The data set it was trained on (for imported weights: the one `--data` named). */
  data?: DataIdentity;
  /** The project version that wrote it (`runs/provenance.ts`'s `projectVersion`). */
  version?: string;
}

/**
 * A data set as provenance records it: its root as given and a fingerprint of its file list and
 * sizes (`runs/provenance.ts`'s `dataIdentity`).
 */
export interface DataIdentity {
  root: string;
  /** Hash of every file's relative path and size. */
  fingerprint: string;
  files: number;
  bytes: number;
}

/** Where the weights of an imported checkpoint came from. */
export interface ImportedWeights {
  /** The `.safetensors` file, as given. */
  file: string;
  /** SHA-256 of the whole file (hex), as `sha256sum` prints it. */
  sha256: string;
  /** When it was imported (ISO 8601). */
  at: string;
  /** The key prefix removed from every tensor name (`module.`), if there was one. */
  strippedPrefix?: string;
}

/**
 * What `meta.json` must hold for a stage to use the checkpoint; the input size has the config's
 * range, so a damaged value stops here instead of allocating gigabytes. Other fields are kept.
 */
const checkpointMetaSchema = z.looseObject({
  model: z.string(),
  classes: z.array(z.string()).min(1),
  imgSizePx: configSchema.shape.imgSizePx,
});

/** What `model.json` must hold for {@link loadWeightsInto}: tfjs's weights manifest. */
const modelJsonSchema = z.looseObject({
  weightsManifest: z.array(z.looseObject({
    paths: z.array(z.string()).optional(),
    weights: z.array(z.looseObject({
      name: z.string(),
      shape: z.array(z.number().int().min(0)),
      dtype: z.string(),
    })),
  })),
});

/**
 * The way out of a damaged checkpoint folder, for error messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkpointFix } from "./checkpoint_io.ts";
 * assert(checkpointFix("outputs/checkpoints/ecgnet_best").includes("--fresh"));
 * ```
 */
export function checkpointFix(dir: string): string {
  return `delete the folder ${dir} and train again (deno task train --fresh)`;
}

/**
 * `model.json` text and `weights.bin` bytes of a model (all weights, BatchNorm statistics
 * included), as `tf.loadLayersModel` reads them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { serializeModel } from "./checkpoint_io.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
 * const { modelJson, weightsBin } = await serializeModel(model);
 * assert(weightsBin.length === 3 * 4 && JSON.parse(modelJson).weightsManifest.length === 1);
 * ```
 */
export async function serializeModel(
  model: tf.LayersModel,
): Promise<{ modelJson: string; weightsBin: Uint8Array }> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    captured = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const artifacts = captured!;
  const weightData = artifacts.weightData ?? new ArrayBuffer(0);
  const joined = tf.io.CompositeArrayBuffer.join(weightData);
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  return { modelJson: JSON.stringify(modelJson), weightsBin: new Uint8Array(joined) };
}

/**
 * Writes `files` (name → content) as folder `dir`, replacing any folder there; the folder
 * appears whole or not at all.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeFolderAtomic } from "./checkpoint_io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFolderAtomic(`${dir}/ckpt`, { "a.txt": "1" });
 * await writeFolderAtomic(`${dir}/ckpt`, { "b.txt": "2" });
 * assert([...Deno.readDirSync(`${dir}/ckpt`)].map((e) => e.name).join() === "b.txt");
 * ```
 */
export async function writeFolderAtomic(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  const suffix = `${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const temp = `${dir}.tmp-${suffix}`;
  for (const [name, content] of Object.entries(files)) {
    await writeFileAtomic(join(temp, name), content);
  }
  const old = `${dir}.old-${suffix}`;
  const hadOld = (await statOrUndefined(dir)) !== undefined;
  if (hadOld) await Deno.rename(dir, old);
  await Deno.rename(temp, dir);
  if (hadOld) await Deno.remove(old, { recursive: true });
}

/** The files of a checkpoint folder for `model` plus any extra files. */
export async function checkpointFiles(
  model: tf.LayersModel,
  extra: Record<string, string | Uint8Array> = {},
): Promise<Record<string, string | Uint8Array>> {
  const { modelJson, weightsBin } = await serializeModel(model);
  return { "model.json": modelJson, [WEIGHTS_FILE]: weightsBin, ...extra };
}

/**
 * Writes a best checkpoint: `model.json`, `weights.bin` and `meta.json`.
 *
 * @example
 * ```ts ignore
 * await writeCheckpoint("outputs/checkpoints/ecgnet_best", model, meta);
 * ```
 */
export async function writeCheckpoint(
  dir: string,
  model: tf.LayersModel,
  meta: CheckpointMeta,
): Promise<void> {
  await writeFolderAtomic(
    dir,
    await checkpointFiles(model, { "meta.json": JSON.stringify(meta, null, 2) }),
  );
}

/**
 * Reads a checkpoint's `meta.json`.
 *
 * @throws {InputError} when the folder or its `meta.json` is missing or damaged (not JSON, a
 * field missing or out of range), or a model or class name in it is a path (`../x`), since names
 * become folder names.
 *
 * @example
 * ```ts ignore
 * const meta = await readCheckpointMeta("outputs/checkpoints/ecgnet_best");
 * ```
 */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const file = join(dir, "meta.json");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`${file}: checkpoint not found; train the model first`);
    }
    throw e;
  }
  const meta = parseStateJson(text, file, checkpointMetaSchema, checkpointFix(dir));
  const notPlain = [meta.model, ...meta.classes].find((n) =>
    typeof n !== "string" || !isPlainName(n)
  );
  if (notPlain !== undefined) {
    throw new InputError(
      `${file}: ${JSON.stringify(notPlain)} is not a plain model or class name; names become ` +
        "folder names and may not contain / or \\ or be . or .. (fix or re-save the checkpoint)",
    );
  }
  return meta as unknown as CheckpointMeta;
}

/**
 * Loads the weights of checkpoint folder `dir` into `model` (same architecture), by position.
 *
 * @throws {InputError} naming the file when the weights do not fit the model, when `model.json`
 * is damaged, or when it names a weights file outside the folder (`../`, absolute).
 *
 * @example
 * ```ts ignore
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 224 });
 * await loadWeightsInto(model, "outputs/checkpoints/ecgnet_best");
 * ```
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const jsonFile = join(dir, "model.json");
  const weightsFile = join(dir, WEIGHTS_FILE);
  let jsonText: string;
  let bytes: Uint8Array;
  try {
    jsonText = await Deno.readTextFile(jsonFile);
    bytes = await Deno.readFile(weightsFile);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`${dir}: checkpoint incomplete (${(e as Error).message}); retrain`);
    }
    throw e;
  }
  const groups = parseStateJson(jsonText, jsonFile, modelJsonSchema, checkpointFix(dir))
    .weightsManifest;
  const escaping = groups.flatMap((group) => group.paths ?? []).find(escapesFolder);
  if (escaping !== undefined) {
    throw new InputError(
      `${jsonFile}: weights path ${JSON.stringify(escaping)} is absolute or leaves the ` +
        `checkpoint folder; a checkpoint's files must lie inside it (re-save the checkpoint)`,
    );
  }
  const specs = groups.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[];
  const targets = model.weights;
  const misfit = (why: string) =>
    new InputError(`${weightsFile}: does not fit this ${model.name} model (${why})`);
  if (specs.length !== targets.length) {
    throw misfit(`${specs.length} tensors in the file, ${targets.length} in the model`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let decoded: tf.NamedTensorMap;
  try {
    decoded = tf.io.decodeWeights(buffer as ArrayBuffer, specs);
  } catch (e) {
    throw misfit((e as Error).message);
  }
  const tensors = specs.map((spec, i) => {
    const shape = targets[i].shape;
    if (JSON.stringify(spec.shape) !== JSON.stringify(shape)) {
      throw misfit(`tensor ${i} (${spec.name}) is [${spec.shape}], the model wants [${shape}]`);
    }
    return decoded[spec.name];
  });
  model.setWeights(tensors);
  tf.dispose(Object.values(decoded));
}
