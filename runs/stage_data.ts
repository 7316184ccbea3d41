/**
 * The data set a stage runs a checkpoint on: the one `--data` names, else the one the checkpoint
 * was trained on (its `meta.json`). Running on other data is legitimate (a held-out set, another
 * hospital's scans); the stage then says so in one line, and the provenance records both.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { statOrUndefined } from "../core/fs.ts";
import type { CheckpointMeta, DataIdentity } from "../training/checkpoint_io.ts";
import { dataIdentity, describeData } from "./provenance.ts";
import { trainedOnRoot } from "./selection.ts";

/** The data set chosen for one model. */
export interface StageData {
  /** Its root, to open. */
  root: string;
  identity: DataIdentity;
  /** The data the checkpoint was trained on, when it is recorded and not this one. */
  trainedOn?: DataIdentity;
}

/**
 * The data set `stage` uses for `model`'s checkpoint (`meta`): `given` (the `--data` flag) when
 * there is one, else the checkpoint's training data, else `fallback` (the config's default).
 * Prints one line through `log` when the data is not the training data, or the checkpoint
 * records none.
 *
 * @throws {InputError} when the training data's folder is gone and no `--data` was given, or
 * the chosen folder does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dataIdentity } from "./provenance.ts";
 * import { stageData } from "./stage_data.ts";
 * const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
 * await Deno.writeTextFile(`${b}/x.png`, "x");
 * const meta = { model: "m", classes: ["A", "B"], imgSizePx: 32, epoch: 1, valAccuracy: 1,
 *   config: {}, data: await dataIdentity(a) };
 * const quiet: string[] = [], said: string[] = [];
 * assert((await stageData({ stage: "eval", model: "m", meta, fallback: b }, (l) => quiet.push(l))).root === a);
 * assert(quiet.length === 0);
 * const other = await stageData({ stage: "eval", model: "m", meta, given: b, fallback: b }, (l) => said.push(l));
 * assert(other.trainedOn?.root === a && said.length === 1 && said[0].includes("not the data"));
 * ```
 */
export async function stageData(
  choice: {
    stage: string;
    model: string;
    meta: CheckpointMeta;
    /** The `--data` the user gave, if any. */
    given?: string;
    /** The config's default data set, for a checkpoint that records none. */
    fallback: string;
  },
  log: (line: string) => void = console.log,
): Promise<StageData> {
  const { stage, model, meta, given } = choice;
  const trainedRoot = trainedOnRoot(meta);
  let root: string;
  if (given !== undefined) {
    root = given;
  } else if (trainedRoot !== undefined) {
    if (!(await statOrUndefined(trainedRoot))?.isDirectory) {
      throw new InputError(
        `${model} was trained on ${trainedRoot}, which is no longer there; pass --data DIR ` +
          `to ${stage} it on a data set (the same images, or others)`,
      );
    }
    root = trainedRoot;
  } else {
    root = choice.fallback;
    log(
      `${model}: its checkpoint records no training data; ${stage} uses ${root} (pass --data ` +
        "to choose another)",
    );
  }
  const identity = await dataIdentity(root);
  const trained = meta.data;
  if (trained && trained.fingerprint !== identity.fingerprint) {
    log(
      given !== undefined
        ? `${model}: ${stage} on ${describeData(identity)}, not the data it was trained on, ` +
          `${describeData(trained)}; recorded in the provenance`
        : `${model}: its training data ${trained.root} has changed since it was trained ` +
          `(${describeData(trained)}, now ${describeData(identity)}); recorded in the provenance`,
    );
    return { root, identity, trainedOn: trained };
  }
  if (!trained && given !== undefined && trainedRoot !== undefined && trainedRoot !== given) {
    log(`${model}: ${stage} on ${given}, not the data it was trained on, ${trainedRoot}`);
  }
  return { root, identity };
}
