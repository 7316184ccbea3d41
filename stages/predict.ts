/**
 * `deno task predict`: run one model on a `.npy` batch or on a data set's images.
 *
 * @module
 */
import { extname } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import {
  type NpyArray,
  readNpyFile,
  requireDtype,
  requireFinite,
  writeNpyFile,
} from "../data/npy.ts";
import type { Split } from "../data/stratified_split.ts";
import { SPLITS } from "../data/stratified_split.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { withinHeap } from "../backends/heap.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
import { argmaxRows, logitsOfNHWC, predictLogits } from "../models/inference.ts";
import { predictionsCsv } from "../evaluation/predictions.ts";
import { softmaxCrossEntropyRows } from "../training/cross_entropy.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadStageData } from "../data/load_data.ts";
import { type ModelBuilder, modelFromFlags, requireOneOf } from "../runs/model_source.ts";

/** Command-line description of `predict`. */
export const predictSpec: StageSpec = {
  name: "predict",
  summary: "Logits/probabilities of one model for a .npy batch or a data set's images.",
  shared: [
    "img-size",
    "limit",
    "seed",
    "config",
    "backend",
    "convolutions",
    "heap-budget-mb",
    "on-bad-image",
  ],
  flags: {
    model: { type: "string", valueName: "NAME", help: "architecture (with --weights)" },
    weights: { type: "string", valueName: "FILE", help: "torchvision-named .safetensors weights" },
    checkpoint: { type: "string", valueName: "DIR", help: "a checkpoint folder written by train" },
    input: {
      type: "string",
      valueName: "X.npy",
      help: "float32 [N,H,W,3] (NHWC) or [N,3,H,W] (NCHW), already normalised",
    },
    data: { type: "string", valueName: "DIR", help: "a data set (ImageFolder or labels.csv)" },
    split: { type: "string", valueName: "NAME", help: "split of --data to run (default test)" },
    softmax: { type: "boolean", help: "write probabilities instead of logits to the .npy" },
    out: { type: "string", valueName: "FILE", help: ".npy for --input, .csv for --data" },
  },
  details: "Layout rule for --input: the last axis of length 3 means NHWC, else an axis 1 of " +
    "length 3 means NCHW (PyTorch), which is transposed to NHWC.\n" +
    "--input writes [N, classes] float32 logits (or probabilities with --softmax) as .npy;\n" +
    "--data writes predictions.csv rows (file, true, pred, prob_<Class>...).\n" +
    "Example: deno task predict --checkpoint outputs/checkpoints/ecgnet_best " +
    "--input outputs/x.npy --out outputs/logits.npy",
};

/**
 * An NHWC float32 batch from a `.npy` array in NHWC or NCHW layout.
 *
 * @throws {InputError} naming `source` for another dtype or shape, or for NaN or infinite values
 * (which would give NaN logits and all-zero maps, not an error).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toNHWC } from "./predict.ts";
 * // One 1x2 image, channels first: R = [1, 2], G = [3, 4], B = [5, 6].
 * const x = toNHWC({ shape: [1, 3, 1, 2], dtype: "float32", data: new Float32Array([1, 2, 3, 4, 5, 6]) }, "x.npy");
 * assert(x.shape.join() === "1,1,2,3" && x.data.join() === "1,3,5,2,4,6");
 * ```
 */
export function toNHWC(
  array: NpyArray,
  source: string,
): { shape: [number, number, number, number]; data: Float32Array } {
  const { shape, data } = requireDtype(array, "float32", source);
  if (shape.length !== 4) {
    throw new InputError(`${source}: expected a 4-D image batch, got shape (${shape.join(", ")})`);
  }
  requireFinite(data, shape, source);
  const [n, a, b, c] = shape;
  if (c === 3) return { shape: [n, a, b, c], data };
  if (a !== 3) {
    throw new InputError(
      `${source}: shape (${shape.join(", ")}) is neither [N,H,W,3] nor [N,3,H,W]`,
    );
  }
  const [h, w] = [b, c];
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) {
      for (let p = 0; p < h * w; p++) {
        out[(i * h * w + p) * 3 + ch] = data[(i * 3 + ch) * h * w + p];
      }
    }
  }
  return { shape: [n, h, w, 3], data: out };
}

/**
 * Runs `predict` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { predict, predictSpec } from "./predict.ts";
 * await predict((await parseStageArgs(predictSpec, ["--checkpoint", "c", "--input", "x.npy", "--out", "outputs/y.npy"]))!);
 * ```
 */
export async function predict(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  requireOneOf("predict", flags, "weights", "checkpoint");
  requireOneOf("predict", flags, "input", "data");
  const out = flags.out;
  const input = typeof flags.input === "string" ? flags.input : undefined;
  const wantedExtension = input ? ".npy" : ".csv";
  if (typeof out !== "string" || extname(out) !== wantedExtension) {
    throw new InputError(`deno task predict: --out must name a ${wantedExtension} file`);
  }
  const split = (typeof flags.split === "string" ? flags.split : "test") as Split;
  if (!SPLITS.includes(split)) {
    throw new InputError(`--split ${split}: choose one of ${SPLITS.join(", ")}`);
  }
  const batch = input ? toNHWC(await readNpyFile(input), input) : undefined;
  console.log(
    describeBackend(
      await startBackend(config.backend, {
        openBlas: config.convolutions === "openblas",
        heapBudgetMb: config.heapBudgetMb,
      }),
    ),
  );
  const { model, classes, imgSizePx } = await modelFromFlags(
    "predict",
    flags,
    config.classes,
    batch?.shape[1] ?? config.imgSizePx,
    hooks.buildModel,
  );
  // The training batch size, or fewer images per call where they would not fit the heap budget.
  const batchSize = rowsWithinBudget(model, "forward", config.batchSize);
  const modelLabel = typeof flags.model === "string" ? flags.model : String(flags.checkpoint);
  const what = `${modelLabel}, predict, batches of ${batchSize} images of ${imgSizePx} px`;
  try {
    if (batch) {
      const [n, h, w] = batch.shape;
      if (h !== imgSizePx || w !== imgSizePx) {
        throw new InputError(
          `${input}: images are ${h}x${w}, the model takes ${imgSizePx}x${imgSizePx}`,
        );
      }
      const pixels = h * w * 3;
      const logits = new Float32Array(n * classes.length);
      await withinHeap(what, async () => {
        for (let start = 0; start < n; start += batchSize) {
          const count = Math.min(batchSize, n - start);
          const slice = batch.data.subarray(start * pixels, (start + count) * pixels);
          logits.set(await logitsOfNHWC(model, slice, [count, h, w, 3]), start * classes.length);
        }
      });
      const values = flags.softmax
        ? Float32Array.from(
          softmaxCrossEntropyRows(logits, new Int32Array(n), classes.length).probabilities,
        )
        : logits;
      await writeNpyFile(out, [n, classes.length], values);
      console.log(`${n} ${flags.softmax ? "probability" : "logit"} rows -> ${out}`);
      return;
    }
    const { loaded } = await loadStageData(
      { ...config, data: flags.data as string, imgSizePx, classes },
      [split],
      "predict",
    );
    const indices = loaded.samples.map((_, i) => i);
    const logits = await withinHeap(
      what,
      () => predictLogits(model, loaded, indices, batchSize),
    );
    const actual = loaded.samples.map((s) => s.label);
    const predicted = argmaxRows(logits, classes.length);
    const { probabilities } = softmaxCrossEntropyRows(logits, actual, classes.length);
    await writeFileAtomic(
      out,
      predictionsCsv(
        {
          files: loaded.samples.map((s) => s.file),
          actual,
          predicted,
          probabilitiesNC: probabilities,
        },
        classes,
      ),
    );
    console.log(`${indices.length} predictions -> ${out}`);
  } finally {
    model.dispose();
  }
}

if (import.meta.main) Deno.exit(await runStage(predictSpec, Deno.args, predict));
