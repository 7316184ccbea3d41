/**
 * Which outputs of an outputs folder belong together: for each model, those made with its
 * current checkpoint (`<out>/checkpoints/<model>_best`) on the data set the reader describes
 * (`--data` when it is given, else the data the checkpoint was trained on). The summary, the
 * comparisons, the charts, the figures, the dashboard and `status` read through an
 * {@link OutputSelection} and name what they leave out, with why, in one line each.
 *
 * An output is left out only when its provenance record (`runs/provenance.ts`) shows that it
 * belongs elsewhere, or when it has no record although its model's checkpoint was written by a
 * version that records provenance (so the output is older than the checkpoint, or hand-made).
 * Outputs of a folder without checkpoints, or of checkpoints that record no data, are kept:
 * nothing says they belong elsewhere.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import {
  checkpointedModels,
  type CheckpointMeta,
  type DataIdentity,
  modelPaths,
  readCheckpointMeta,
} from "../training/checkpoint_io.ts";
import {
  allProvenance,
  checkpointFingerprint,
  dataIdentity,
  describeData,
  type ProvenanceRecord,
  type RecordedStage,
} from "./provenance.ts";

/** A model's current checkpoint in an outputs folder. */
export interface CurrentCheckpoint {
  dir: string;
  fingerprint: string;
  meta: CheckpointMeta;
}

/**
 * The data set a checkpoint was trained on, as its `meta.json` records it: the full identity
 * (this version), or only the root (`config.data` of older checkpoints and imported weights).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { trainedOnRoot } from "./selection.ts";
 * const meta = { model: "m", classes: ["a", "b"], imgSizePx: 32, epoch: 1, valAccuracy: 1,
 *   config: { data: "ds" } };
 * assert(trainedOnRoot(meta) === "ds");
 * assert(trainedOnRoot({ ...meta, config: {} }) === undefined);
 * ```
 */
export function trainedOnRoot(meta: CheckpointMeta): string | undefined {
  if (meta.data) return meta.data.root;
  const root = meta.config?.data;
  return typeof root === "string" ? root : undefined;
}

/**
 * The current checkpoint of `model` under `out` with its fingerprint, or undefined when there is
 * none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { currentCheckpoint } from "./selection.ts";
 * assert((await currentCheckpoint(await Deno.makeTempDir(), "ecgnet")) === undefined);
 * ```
 */
export async function currentCheckpoint(
  out: string,
  model: string,
): Promise<CurrentCheckpoint | undefined> {
  const dir = modelPaths(out, model).best;
  if (!(await statOrUndefined(join(dir, "meta.json")))) return undefined;
  return {
    dir,
    meta: await readCheckpointMeta(dir),
    fingerprint: await checkpointFingerprint(dir),
  };
}

/** A data set a reader describes: its root, and its identity when it could be read. */
interface DescribedData {
  root: string;
  identity?: DataIdentity;
}

/** What the outputs of an outputs folder are read for. */
export interface SelectionOptions {
  /** The data set the reader was given (`--data`); without it, each model's training data. */
  data?: string;
}

/**
 * The outputs of an outputs folder that belong to each model's current checkpoint and the data
 * set described, and why the others are left out.
 */
export class OutputSelection {
  private constructor(
    readonly out: string,
    private readonly checkpoints: ReadonlyMap<string, CurrentCheckpoint>,
    private readonly records: ReadonlyMap<string, ProvenanceRecord>,
    private readonly given: DescribedData | undefined,
  ) {}

  /**
   * Reads the checkpoints and provenance records of `out`; with `options.data`, fingerprints
   * that data set (a folder that cannot be read is compared by its root).
   *
   * @throws {InputError} for a damaged `meta.json` or provenance record.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { OutputSelection } from "./selection.ts";
   * const selection = await OutputSelection.open(await Deno.makeTempDir());
   * assert(selection.leftOut("xai", "ecgnet", "gradcam") === undefined);
   * ```
   */
  static async open(out: string, options: SelectionOptions = {}): Promise<OutputSelection> {
    const records = new Map<string, ProvenanceRecord>();
    for (const { record } of await allProvenance(out)) {
      records.set(recordKey(record.stage, record.model, record.method), record);
    }
    const models = new Set([
      ...await checkpointedModels(out),
      ...[...records.values()].map((r) => r.model),
    ]);
    const checkpoints = new Map<string, CurrentCheckpoint>();
    for (const model of models) {
      const current = await currentCheckpoint(out, model);
      if (current) checkpoints.set(model, current);
    }
    let given: DescribedData | undefined;
    if (options.data !== undefined) {
      const identity = await dataIdentity(options.data).catch((e) => {
        if (e instanceof InputError || e instanceof Deno.errors.NotCapable) return undefined;
        throw e;
      });
      given = { root: options.data, ...(identity ? { identity } : {}) };
    }
    return new OutputSelection(out, checkpoints, records, given);
  }

  /** The current checkpoint of `model`, if there is one. */
  checkpoint(model: string): CurrentCheckpoint | undefined {
    return this.checkpoints.get(model);
  }

  /** The provenance record of `stage`'s outputs for `model` (and `method`), if there is one. */
  record(stage: RecordedStage, model: string, method?: string): ProvenanceRecord | undefined {
    return this.records.get(recordKey(stage, model, method));
  }

  /**
   * The data set the outputs of `model` must describe: the one given, else the one its
   * checkpoint was trained on; undefined when neither is known.
   */
  dataOf(model: string): DescribedData | undefined {
    if (this.given) return this.given;
    const meta = this.checkpoints.get(model)?.meta;
    if (!meta) return undefined;
    if (meta.data) return { root: meta.data.root, identity: meta.data };
    const root = trainedOnRoot(meta);
    return root === undefined ? undefined : { root };
  }

  /**
   * The data set charts of the data itself describe: the one given, else the one every
   * checkpoint was trained on; undefined when there is no checkpoint, one records no data, or
   * they were trained on different data sets.
   */
  dataRoot(): string | undefined {
    if (this.given) return this.given.root;
    const roots = new Set([...this.checkpoints.keys()].map((m) => this.dataOf(m)?.root));
    const [only] = roots;
    return roots.size === 1 ? only : undefined;
  }

  /**
   * Why `stage`'s outputs for `model` (and `method`) do not belong to the model's current
   * checkpoint and the data set described, or undefined when they do (or nothing says
   * otherwise).
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { OutputSelection } from "./selection.ts";
   * const selection = await OutputSelection.open(await Deno.makeTempDir());
   * assert(selection.leftOut("eval", "ecgnet") === undefined);
   * ```
   */
  leftOut(stage: RecordedStage, model: string, method?: string): string | undefined {
    const record = this.record(stage, model, method);
    const current = this.checkpoints.get(model);
    if (!record) {
      return current?.meta.data
        ? `no provenance record ties them to ${model}'s current checkpoint (they are older ` +
          `than it, or hand-made); rerun deno task ${stage} --models ${model}`
        : undefined;
    }
    const made = record.checkpoint.fingerprint.slice(0, 8);
    if (!current) {
      return `made with checkpoint ${made} of ${model}, which is no longer in ` +
        `${modelPaths(this.out, model).best}`;
    }
    if (record.checkpoint.fingerprint !== current.fingerprint) {
      return `made with another checkpoint of ${model} (${made}; the current one is ` +
        `${current.fingerprint.slice(0, 8)})`;
    }
    const expected = this.dataOf(model);
    if (!expected) return undefined;
    const same = expected.identity
      ? expected.identity.fingerprint === record.data.fingerprint
      : expected.root === record.data.root;
    if (same) return undefined;
    const which = this.given ? "the --data given" : `the data ${model} was trained on`;
    const wanted = expected.identity ? describeData(expected.identity) : expected.root;
    return `it describes ${describeData(record.data)}, not ${which}, ${wanted}`;
  }

  /**
   * {@link leftOut} as the line readers print, naming the outputs, or undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { OutputSelection } from "./selection.ts";
   * const selection = await OutputSelection.open(await Deno.makeTempDir());
   * assert(selection.leftOutLine("quantus", "ecgnet", "gradcam") === undefined);
   * ```
   */
  leftOutLine(stage: RecordedStage, model: string, method?: string): string | undefined {
    const why = this.leftOut(stage, model, method);
    if (why === undefined) return undefined;
    const what = this.record(stage, model, method)?.outputs.join(", ") ??
      `${stage} ${model}${method ? ` ${method}` : ""}`;
    return `left out ${what}: ${why}`;
  }
}

function recordKey(stage: string, model: string, method: string | undefined): string {
  return `${stage}\t${model}\t${method ?? ""}`;
}
