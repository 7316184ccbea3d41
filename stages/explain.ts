/**
 * `deno task explain`: attribution maps of one model and one method for a `.npy` batch.
 *
 * @module
 */
import { extname } from "node:path";
import { InputError } from "../core/errors.ts";
import { type NpyArray, readNpyFile, writeNpyFile } from "../data/npy.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import { withinHeap } from "../backends/heap.ts";
import { argmaxRows, logitsOfNHWC } from "../models/inference.ts";
import { getExplainer } from "../xai/registry.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { type ModelBuilder, modelFromFlags, REGISTRY_BUILDER } from "../runs/model_source.ts";
import { toNHWC } from "./predict.ts";
import { XAI_CHUNK_SIZE } from "./xai.ts";
import { explainBatch } from "../runs/xai_chunk.ts";

/** Command-line description of `explain`. */
export const explainSpec: StageSpec = {
  name: "explain",
  summary: "Attribution maps of one model and one method for a .npy image batch.",
  shared: ["seed", "config", "backend", "convolutions", "heap-budget-mb"],
  flags: {
    model: {
      type: "string",
      valueName: "NAME",
      help: "architecture: with --weights, or alone for its initial weights drawn with --seed",
    },
    weights: { type: "string", valueName: "FILE", help: "torchvision-named .safetensors weights" },
    checkpoint: { type: "string", valueName: "DIR", help: "a checkpoint folder written by train" },
    method: { type: "string", valueName: "M", help: "attribution method, e.g. gradcam" },
    input: {
      type: "string",
      valueName: "X.npy",
      help: "float32 [N,H,W,3] (NHWC) or [N,3,H,W] (NCHW), already normalised",
    },
    target: {
      type: "string",
      valueName: "T.npy",
      help: "int32/int64 [N]: the class to explain per image (default: the predicted class)",
    },
    out: { type: "string", valueName: "A.npy", help: "where the normalised maps go" },
  },
  details: "Writes --out: float32 [N, H, W], each map min-max normalised to [0, 1] (a constant " +
    "map gives zeros), and beside it <out without .npy>.raw.npy: the method's raw signed maps.\n" +
    "--input follows predict's layout rule; with --weights, the classes are the config's.\n" +
    "--model without --weights or --checkpoint explains the architecture's own initial " +
    "weights drawn with --seed (random weights, e.g. for a randomisation check or a " +
    "benchmark), and says so on stderr.\n" +
    "Example: deno task explain --checkpoint outputs/checkpoints/ecgnet_best --method gradcam " +
    "--input outputs/x.npy --out outputs/gradcam.npy",
};

/**
 * One class index per image from a `[N]` int32 or int64 `.npy`.
 *
 * @throws {InputError} for another dtype or shape, or a length other than `n`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { targetsFromNpy } from "./explain.ts";
 * const t = targetsFromNpy({ shape: [2], dtype: "int64", data: BigInt64Array.of(3n, 0n) }, 2, "t.npy");
 * assert(t.join() === "3,0");
 * ```
 */
export function targetsFromNpy(array: NpyArray, n: number, source: string): Int32Array {
  if (array.dtype !== "int32" && array.dtype !== "int64") {
    throw new InputError(`${source}: expected int32 or int64 class indices, got ${array.dtype}`);
  }
  if (array.shape.length !== 1 || array.shape[0] !== n) {
    throw new InputError(
      `${source}: expected shape (${n},), one class per image, got (${array.shape.join(", ")})`,
    );
  }
  return Int32Array.from(array.data as ArrayLike<number | bigint>, Number);
}

/**
 * Runs `explain` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { explain, explainSpec } from "./explain.ts";
 * const argv = ["--checkpoint", "c", "--method", "saliency", "--input", "x.npy", "--out", "outputs/a.npy"];
 * await explain((await parseStageArgs(explainSpec, argv))!);
 * ```
 */
export async function explain(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const { method, input, out } = flags;
  if (typeof method !== "string" || typeof input !== "string") {
    throw new InputError("deno task explain: --method and --input are needed; see --help");
  }
  const explainer = getExplainer(method);
  if (typeof out !== "string" || extname(out) !== ".npy") {
    throw new InputError("deno task explain: --out must name a .npy file");
  }
  const batch = toNHWC(await readNpyFile(input), input);
  const [n, h, w] = batch.shape;
  const given = typeof flags.target === "string"
    ? targetsFromNpy(await readNpyFile(flags.target), n, flags.target)
    : undefined;
  const backend = await startBackend(config.backend, {
    openBlas: config.convolutions === "openblas",
    heapBudgetMb: config.heapBudgetMb,
  });
  console.log(describeBackend(backend));
  const randomWeights = typeof flags.model === "string" && flags.weights === undefined &&
    flags.checkpoint === undefined;
  if (randomWeights) {
    console.error(
      `explain: no --weights or --checkpoint: ${flags.model} with its initial weights drawn ` +
        `with --seed ${config.seed} (random weights)`,
    );
  }
  const { model, classes, imgSizePx } = randomWeights
    ? {
      model: (hooks.buildModel ?? REGISTRY_BUILDER)(flags.model as string, {
        numClasses: config.classes.length,
        imgSizePx: h,
        seed: config.seed,
      }),
      classes: config.classes,
      imgSizePx: h,
    }
    : await modelFromFlags("explain", flags, config.classes, h, hooks.buildModel);
  try {
    if (h !== imgSizePx || w !== imgSizePx) {
      throw new InputError(
        `${input}: images are ${h}x${w}, the model takes ${imgSizePx}x${imgSizePx}`,
      );
    }
    const pixels = h * w * 3;
    const modelLabel = typeof flags.model === "string" ? flags.model : String(flags.checkpoint);
    const [raw, normalised] = [new Float32Array(n * h * w), new Float32Array(n * h * w)];
    for (let start = 0; start < n; start += XAI_CHUNK_SIZE) {
      const count = Math.min(XAI_CHUNK_SIZE, n - start);
      const x = batch.data.subarray(start * pixels, (start + count) * pixels);
      const shape = [count, h, w, 3] as const;
      const what = `${modelLabel}, ${explainer.name}, a batch of ${count} image(s) of ${h} px`;
      const maps = await withinHeap(what, async () => {
        const targets = given?.subarray(start, start + count) ??
          argmaxRows(await logitsOfNHWC(model, x, shape), classes.length);
        return await explainBatch(explainer, model, x, shape, targets);
      });
      raw.set(maps.rawNHW, start * h * w);
      normalised.set(maps.normalisedNHW, start * h * w);
    }
    await writeNpyFile(out, [n, h, w], normalised);
    await writeNpyFile(out.replace(/\.npy$/, ".raw.npy"), [n, h, w], raw);
    console.log(`${n} ${explainer.name} maps -> ${out} (raw maps beside it)`);
  } finally {
    model.dispose();
  }
}

if (import.meta.main) Deno.exit(await runStage(explainSpec, Deno.args, explain));
