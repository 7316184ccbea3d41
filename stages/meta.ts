/**
 * `deno task meta`: MetaQuantus's meta-evaluation of the explanation metrics (Hedström et al.
 * 2023): per model and metric, the Model and Input Perturbation Tests over a few explanation
 * methods, their intra- and inter-consistency criteria and the MC score, and the report card's
 * noise resilience and reactivity. The work is `quantus`'s grid with the metric as the
 * per-folder axis (`runs/grid.ts`): batched, spread over workers, sharded and resumable.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { METRICS } from "../metrics/registry.ts";
import type { CommonParams } from "../metrics/metric.ts";
import type { MetaBatchScores } from "../metrics/meta/meta_evaluation.ts";
import {
  checkMetaSettings,
  META_DEFAULTS,
  type MetaSettings,
} from "../metrics/meta/perturbation_tests.ts";
import { type GridJobType, type GridRun, runGrid } from "../runs/grid.ts";
import { metaBatchHandler, type MetaBatchJob } from "../runs/meta_batch.ts";
import {
  mergeMetaParts,
  META_EVALUATION_COLUMNS,
  META_ROW_COLUMNS,
  metaFolder,
  metaPartRows,
  writeMetaEvaluation,
} from "../runs/meta_outputs.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import { freshQuantusComparisons } from "../runs/quantus_comparisons.ts";
import { batchDrawsSeed } from "../runs/quantus_batch.ts";
import { SHARD_FLAGS } from "../runs/shard.ts";
import { chunkMasks, testMasks } from "../runs/test_masks.ts";
import { workersFlag } from "../runs/workers_flag.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { metricParams, parseMetrics, QUANTUS_DEFAULT_METRICS } from "./quantus.ts";
import { parseGridRun, parseMethods, XAI_CHUNK_SIZE } from "./xai.ts";

/**
 * The explanation methods compared by default: MetaQuantus's ImageNet set (Saliency,
 * InputXGradient, GradientShap) with Grad-CAM for GradientShap, each one gradient pass.
 */
export const META_DEFAULT_METHODS: readonly string[] = ["saliency", "input_x_gradient", "gradcam"];

/** Command-line description of `meta`. */
export const metaSpec: StageSpec = {
  name: "meta",
  summary: "Meta-evaluate the metrics (MetaQuantus): noise resilience and adversarial reactivity.",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "seed",
    "config",
    "backend",
    "convolutions",
    "heap-budget-mb",
    "on-bad-image",
  ],
  flags: {
    methods: {
      type: "string",
      valueName: "a,b",
      help: `explanation methods the metrics rank (default ${META_DEFAULT_METHODS.join(",")})`,
    },
    metrics: {
      type: "string",
      valueName: "a,b|all",
      help: `metrics to meta-evaluate (default ${QUANTUS_DEFAULT_METRICS.join(",")}); any of ` +
        METRICS.map((m) => m.name).join(", "),
    },
    params: {
      type: "string",
      valueName: "JSON",
      help:
        'metric parameters, as quantus takes them, e.g. \'{"max_sensitivity": {"nrSamples": 5}}\'',
    },
    iterations: {
      type: "string",
      valueName: "N",
      help: `repetitions of each test (default ${META_DEFAULTS.iterations})`,
    },
    perturbations: {
      type: "string",
      valueName: "K",
      help: `perturbations per iteration (default ${META_DEFAULTS.perturbations})`,
    },
    "model-noise": {
      type: "string",
      valueName: "NR,AR",
      help: "sigma of the multiplicative N(1, sigma^2) weight noise, minor and disruptive " +
        `(default ${META_DEFAULTS.noise.model.resilience},${META_DEFAULTS.noise.model.adversary})`,
    },
    "input-noise": {
      type: "string",
      valueName: "NR,AR",
      help: "half-width of the uniform input noise, minor and disruptive " +
        `(default ${META_DEFAULTS.noise.input.resilience},${META_DEFAULTS.noise.input.adversary})`,
    },
    workers: workersFlag("batches"),
    "chunk-size": {
      type: "string",
      valueName: "N",
      help: `images per batch and per part file (default ${XAI_CHUNK_SIZE})`,
    },
    ...SHARD_FLAGS,
  },
  details: "Per model and metric, scores each method's maps of the test split without " +
    "perturbation, then under the Model Perturbation Test (weights times N(1, sigma^2): maps " +
    "explained again and scored on the noisy model) and the Input Perturbation Test (uniform " +
    "noise on the inputs: the maps scored on the noisy inputs), each with a minor and a " +
    "disruptive noise, --iterations times --perturbations draws. Every map explains the " +
    "model's prediction.\n" +
    `Writes <out>/meta/<model>/<metric>.csv (${META_ROW_COLUMNS.join(", ")}) and rebuilds ` +
    `<out>/results/meta_evaluation.csv (${META_EVALUATION_COLUMNS.join(", ")}): per test ` +
    "space the intra-consistency (IAC: Wilcoxon p of the scores before and after, 1 - p for " +
    "the disruptive noise), the inter-consistency (IEC: the methods' ranking kept, the scores " +
    "made worse) and MC, their mean; all in [0, 1], higher better. Then fills the noise " +
    "resilience and reactivity of <out>/results/quantus_report_card.csv where quantus has " +
    "scored. A run costs methods x (1 + 4 x iterations x perturbations) metric evaluations per " +
    "image (61 per method at the defaults) and methods x (1 + 2 x iterations x perturbations) " +
    "explanations. Batches are spread over --workers; a killed run resumes from its finished " +
    "batches, --shard I/N runs every N-th (then deno task merge). See docs/metrics.md, " +
    "'Meta-evaluation'.\n" +
    "Example: deno task meta --models ecgnet --metrics max_sensitivity --limit 16",
};

/**
 * The settings `--iterations`, `--perturbations`, `--model-noise` and `--input-noise` ask for.
 *
 * @throws {InputError} naming the flag that does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseMetaSettings } from "./meta.ts";
 * const s = parseMetaSettings({ iterations: "2", "model-noise": "0.01,1" });
 * assert(s.iterations === 2 && s.perturbations === 5 && s.noise.model.adversary === 1);
 * assert.throws(() => parseMetaSettings({ "input-noise": "1" }), /--input-noise/);
 * ```
 */
export function parseMetaSettings(flags: StageArgs["flags"]): MetaSettings {
  const pair = (name: "model-noise" | "input-noise", fallback: MetaSettings["noise"]["model"]) => {
    const flag = flags[name];
    if (flag === undefined) return { ...fallback };
    const values = String(flag).split(",").map((s) => Number(s.trim()));
    if (values.length !== 2 || values.some((v) => !Number.isFinite(v))) {
      throw new InputError(
        `--${name} ${flag}: give two numbers, minor,disruptive (e.g. 0.001,0.5)`,
      );
    }
    return { resilience: values[0], adversary: values[1] };
  };
  const count = (name: "iterations" | "perturbations") => {
    const flag = flags[name];
    return flag === undefined ? META_DEFAULTS[name] : Number(String(flag).trim() || NaN);
  };
  const settings = {
    iterations: count("iterations"),
    perturbations: count("perturbations"),
    noise: {
      model: pair("model-noise", META_DEFAULTS.noise.model),
      input: pair("input-noise", META_DEFAULTS.noise.input),
    },
  };
  checkMetaSettings(settings);
  return settings;
}

/**
 * The `meta` stage's job type: per model, a job scores one batch for one metric
 * (`runs/meta_batch.ts`); its part rows are the batch's rows of `<metric>.csv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { META_DEFAULTS } from "../metrics/meta/perturbation_tests.ts";
 * import { getMetric } from "../metrics/registry.ts";
 * import { metaJobType, metaRun } from "./meta.ts";
 * const args = { config: { ...DEFAULT_CONFIG, out: "o" }, flags: { metrics: "sparseness" } };
 * const run = metaRun(args);
 * assert(run.methods.join() === "sparseness" && run.target === "pred");
 * const type = metaJobType(run, ["saliency"], new Map([["sparseness", getMetric("sparseness").defaults]]), META_DEFAULTS);
 * assert(type.folder("o", "ecgnet", "sparseness") === "o/meta/ecgnet/sparseness");
 * ```
 */
export function metaJobType(
  { chunkSize, config: { seed } }: GridRun,
  methods: readonly string[],
  params: ReadonlyMap<string, CommonParams>,
  settings: MetaSettings,
): GridJobType<MetaBatchJob, MetaBatchScores> {
  return {
    stage: "meta",
    worker: new URL("../runs/meta_worker.ts", import.meta.url),
    handler: metaBatchHandler,
    folder: metaFolder,
    output: (folder) => `${folder}.csv`,
    open: async ({ name, meta, loaded: { samples }, test }) => {
      const masks = await testMasks(samples, meta.imgSizePx);
      return {
        work: (metric) => ({
          settings: {
            "--methods": methods,
            "--params": params.get(metric),
            "--iterations": settings.iterations,
            "--perturbations": settings.perturbations,
            "--model-noise": settings.noise.model,
            "--input-noise": settings.noise.input,
            "--seed": seed,
            "--chunk-size": chunkSize,
          },
        }),
        job: (base, { chunk, indices }) => ({
          ...base,
          params: params.get(base.method)!,
          methods: [...methods],
          imageIds: indices.map((i) => samples[i].id),
          settings,
          seeds: {
            noise: new SeededRandom(seed).fork(`meta/${name}`).seed,
            draws: batchDrawsSeed(seed, name, "meta", base.method, chunk),
          },
          masksNHW: masks && chunkMasks(masks, indices),
        }),
        partRows: ({ indices }, scores) =>
          metaPartRows(
            indices.map((i) => samples[i].id),
            Int32Array.from(indices, (i) => test.targets[i]),
            methods,
            scores,
          ),
        merge: async (folder) => `${await mergeMetaParts(folder)} score(s) -> ${folder}.csv`,
      };
    },
  };
}

/**
 * The grid run of `meta`: `quantus`'s flags, with the metrics as the per-folder axis and every
 * map of the model's prediction (MetaQuantus explains predictions).
 *
 * @throws {InputError} for a flag that does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseStageArgs } from "./cli.ts";
 * import { metaRun, metaSpec } from "./meta.ts";
 * const run = metaRun((await parseStageArgs(metaSpec, ["--metrics", "sparseness,mprt"]))!);
 * assert(run.methods.join() === "sparseness,mprt" && run.target === "pred");
 * ```
 */
export function metaRun(args: StageArgs, buildModel?: ModelBuilder): GridRun {
  const metrics = parseMetrics(args.flags.metrics, false);
  return {
    ...parseGridRun({ ...args, flags: { ...args.flags, methods: undefined } }, buildModel),
    methods: metrics.map((m) => m.name),
    target: "pred",
  };
}

/**
 * Runs `meta` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { meta, metaSpec } from "./meta.ts";
 * await meta((await parseStageArgs(metaSpec, ["--metrics", "sparseness", "--limit", "8"]))!);
 * ```
 */
export async function meta(
  args: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const { config, flags } = args;
  const methods = parseMethods(flags.methods ?? META_DEFAULT_METHODS.join(",")).map((e) => e.name);
  const settings = parseMetaSettings(flags);
  const run = metaRun(args, hooks.buildModel);
  const params = metricParams(parseMetrics(flags.metrics, false), flags.params, false);
  const byName = new Map([...params].map(([metric, p]) => [metric.name, p]));
  await runGrid(metaJobType(run, methods, byName, settings), run);
  if (run.shard.count > 1) return;
  const { file, rows } = await writeMetaEvaluation(config.out);
  if (rows.length > 0) console.log(`${rows.length} row(s) -> ${file}`);
  const tables = await freshQuantusComparisons(config.out);
  if (tables) {
    console.log("report card: noise resilience and reactivity filled where quantus has scored");
  }
}

if (import.meta.main) Deno.exit(await runStage(metaSpec, Deno.args, meta));
