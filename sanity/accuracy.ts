/**
 * The sanity models' test accuracy, which says whether the data randomisation test is valid: a
 * model trained on shuffled labels must score near chance on the true test labels. One that
 * scores like the real model learned the task anyway (the labels were not really shuffled, or
 * the images leak them), and its maps then say nothing about label dependence.
 *
 * @module
 */
import type { tf } from "../deps.ts";
import { stringifyCsv } from "../deps.ts";
import { damagedFile, parseStateCsv } from "../core/state_file.ts";
import type { LoadedImages } from "../data/loader.ts";
import { argmaxRows, predictLogits } from "../models/inference.ts";
import type { SanityRole } from "./models.ts";

/** One trained model's accuracies. */
export interface AccuracyRow {
  /** The architecture. */
  model: string;
  /** The checkpoint's name. */
  checkpoint: string;
  role: SanityRole;
  seed: number;
  /** The epoch its best checkpoint comes from. */
  bestEpoch: number;
  /** Training accuracy at that epoch, on the labels it was trained on (shuffled ones too). */
  trainAccuracy: number;
  /** Accuracy on the true labels of the test images. */
  testAccuracy: number;
  /** The test accuracy of always answering the test split's most frequent class. */
  chanceAccuracy: number;
}

/** Columns of `accuracy.csv` and `sanity_accuracy.csv`. */
export const ACCURACY_COLUMNS = [
  "model",
  "checkpoint",
  "role",
  "seed",
  "best_epoch",
  "train_accuracy",
  "test_accuracy",
  "chance_accuracy",
] as const;

/**
 * The share of the most frequent label: the accuracy of a model that learned only the class
 * balance. NaN for no labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chanceAccuracy } from "./accuracy.ts";
 * assert(chanceAccuracy([0, 1, 1, 2]) === 0.5 && Number.isNaN(chanceAccuracy([])));
 * ```
 */
export function chanceAccuracy(labels: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return labels.length ? Math.max(...counts.values()) / labels.length : NaN;
}

/**
 * The accuracy of `net` on the images `indices` of `loaded`, against their labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { testAccuracy } from "./accuracy.ts";
 * await tf.setBackend("cpu");
 * // Logits = the mean grey of the input's channels, twice: ties go to class 0.
 * const input = tf.input({ shape: [1, 1, 3] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const net = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, kernelInitializer: "ones" }).apply(flat) as tf.SymbolicTensor });
 * const image = { widthPx: 1, heightPx: 1, data: new Uint8Array([128]) };
 * const sample = (label: number) => ({ id: `t${label}`, file: "f", label, className: "AB"[label], split: "test" as const });
 * const loaded = { samples: [sample(0), sample(1)], images: [image, image], skipped: [] };
 * assert((await testAccuracy(net, loaded, [0, 1], 2)) === 0.5);
 * net.dispose();
 * ```
 */
export async function testAccuracy(
  net: tf.LayersModel,
  loaded: LoadedImages,
  indices: readonly number[],
  batchSize: number,
): Promise<number> {
  const logits = await predictLogits(net, loaded, indices, batchSize);
  const predicted = argmaxRows(logits, logits.length / indices.length);
  return predicted.reduce((n, p, k) => n + (p === loaded.samples[indices[k]].label ? 1 : 0), 0) /
    indices.length;
}

/**
 * A line warning that the permuted-label model learned the true labels: its test accuracy is
 * at least halfway from chance to the real model's; undefined when it is not (or either is
 * missing).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { learnedLabelsWarning } from "./accuracy.ts";
 * const row = { model: "m", checkpoint: "m", role: "real" as const, seed: 1, bestEpoch: 1,
 *   trainAccuracy: 1, testAccuracy: 0.9, chanceAccuracy: 0.25 };
 * const permuted = { ...row, checkpoint: "m-labels-permuted", role: "permuted_labels" as const };
 * assert(learnedLabelsWarning([row, { ...permuted, testAccuracy: 0.3 }]) === undefined);
 * assert(learnedLabelsWarning([row, { ...permuted, testAccuracy: 0.8 }])!.includes("learned"));
 * ```
 */
export function learnedLabelsWarning(rows: readonly AccuracyRow[]): string | undefined {
  const real = rows.find((r) => r.role === "real");
  const permuted = rows.find((r) => r.role === "permuted_labels");
  if (!real || !permuted) return undefined;
  const halfway = (permuted.chanceAccuracy + real.testAccuracy) / 2;
  if (!(real.testAccuracy > permuted.chanceAccuracy && permuted.testAccuracy >= halfway)) {
    return undefined;
  }
  return `warning: ${permuted.checkpoint} learned the true labels (test accuracy ` +
    `${permuted.testAccuracy.toFixed(3)}, chance ${permuted.chanceAccuracy.toFixed(3)}, the real ` +
    `model ${real.testAccuracy.toFixed(3)}); its data randomisation rows do not test label ` +
    "dependence. Check that the labels are not in the images (file names, marks on the page)";
}

/**
 * The CSV of accuracy rows ({@link ACCURACY_COLUMNS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracyCsv, parseAccuracyCsv } from "./accuracy.ts";
 * const row = { model: "m", checkpoint: "m", role: "real" as const, seed: 1, bestEpoch: 2,
 *   trainAccuracy: 1, testAccuracy: 0.5, chanceAccuracy: 0.25 };
 * assert.deepStrictEqual(parseAccuracyCsv(accuracyCsv([row]), "a.csv"), [row]);
 * ```
 */
export function accuracyCsv(rows: readonly AccuracyRow[]): string {
  return stringifyCsv([
    [...ACCURACY_COLUMNS],
    ...rows.map((r) =>
      [
        r.model,
        r.checkpoint,
        r.role,
        r.seed,
        r.bestEpoch,
        r.trainAccuracy,
        r.testAccuracy,
        r.chanceAccuracy,
      ].map(String)
    ),
  ]);
}

/**
 * Reads {@link accuracyCsv}'s text back.
 *
 * @throws {InputError} naming `file` when it is not such a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseAccuracyCsv } from "./accuracy.ts";
 * assert.throws(() => parseAccuracyCsv("model,role\nm,real\n", "a.csv"), /a.csv: damaged/);
 * ```
 */
export function parseAccuracyCsv(text: string, file: string): AccuracyRow[] {
  const fix = "delete it and rerun deno task sanity";
  const [header, ...rows] = parseStateCsv(text, file, fix);
  if (header.join() !== ACCURACY_COLUMNS.join()) {
    throw damagedFile(file, `columns ${header.join(", ")}`, fix);
  }
  return rows.map(([model, checkpoint, role, seed, bestEpoch, train, test, chance], i) => {
    if (role !== "real" && role !== "permuted_labels" && role !== "seed") {
      throw damagedFile(file, `row ${i + 1}: role "${role}"`, fix);
    }
    return {
      model,
      checkpoint,
      role,
      seed: Number(seed),
      bestEpoch: Number(bestEpoch),
      trainAccuracy: Number(train),
      testAccuracy: Number(test),
      chanceAccuracy: Number(chance),
    };
  });
}
