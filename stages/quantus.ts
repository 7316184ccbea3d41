/**
 * `deno task quantus`: score each model x method's explanations of the test split with the
 * explanation metrics, one row per image, and summarise every (model, method, metric) with its
 * mean and a bootstrap confidence interval.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv, stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { listDirSorted } from "../core/fs.ts";
import { Progress } from "../core/progress.ts";
import { inProcessRunner, type JobRunner, WorkerPool } from "../core/worker_pool.ts";
import { SeededRandom } from "../core/random.ts";
import { assembleBatch, batchIndices } from "../data/loader.ts";
import { loadMask } from "../data/masks.ts";
import { describeBackend, startBackend } from "../models/backend.ts";
import { ARCHITECTURES } from "../models/registry.ts";
import type { CommonParams, MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric, METRICS } from "../metrics/registry.ts";
import { summariseScores } from "../metrics/summary.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadCheckpointModel, type ModelBuilder, requireBestCheckpoints } from "./model_source.ts";
import {
  batchDrawsSeed,
  type QuantusBatchJob,
  type QuantusBatchScores,
  scoreQuantusBatch,
} from "./quantus_batch.ts";
import { parseTargetChoice, testPredictions } from "./test_predictions.ts";
import { parseMethods, XAI_BATCH_SIZE } from "./xai.ts";

/** The reference pipeline's three metrics, run by default. */
export const QUANTUS_DEFAULT_METRICS: readonly string[] = [
  "faithfulness_correlation",
  "max_sensitivity",
  "mprt",
];

/** The columns of `quantus_summary.csv`. */
export const QUANTUS_SUMMARY_COLUMNS = [
  "model",
  "method",
  "metric",
  "label",
  "category",
  "direction",
  "n",
  "mean",
  "std",
  "ci95_low",
  "ci95_high",
  "nan_count",
] as const;

/** Columns of a per-image file before the metric columns; `nan_reasons` comes last. */
const ROW_COLUMNS = ["id", "file", "true_class", "target_class"] as const;

/** Command-line description of `quantus`. */
export const quantusSpec: StageSpec = {
  name: "quantus",
  summary: "Score each model x method's explanations with the explanation metrics (Quantus's).",
  shared: ["data", "out", "models", "limit", "seed", "config", "backend", "on-bad-image"],
  flags: {
    methods: {
      type: "string",
      valueName: "a,b",
      help: "attribution methods to evaluate (default: the xai stage's)",
    },
    metrics: {
      type: "string",
      valueName: "a,b|all",
      help: `metrics (default ${QUANTUS_DEFAULT_METRICS.join(",")}, plus the localisation ` +
        `metrics when the data set has masks); any of ${METRICS.map((m) => m.name).join(", ")}`,
    },
    target: {
      type: "string",
      valueName: "pred|true",
      help: "class the explanations are for: the predicted one (default) or the true one",
    },
    params: {
      type: "string",
      valueName: "JSON",
      help: 'metric parameters, e.g. \'{"max_sensitivity": {"nrSamples": 20}}\'',
    },
    "quantus-compat": {
      type: "boolean",
      help: "reproduce Quantus 0.6.0 where it has a defect (see the README's table)",
    },
    workers: {
      type: "string",
      valueName: "N",
      help: "Web Workers scoring batches in parallel, each with its own tfjs and model " +
        "(default: min(2, CPU cores)); 1 runs in this thread",
    },
  },
  details: "Writes <out>/metrics/quantus_<model>_<method>.csv (one row per test image: " +
    `${ROW_COLUMNS.join(", ")}, one column per metric, nan_reasons) and rebuilds ` +
    `<out>/results/quantus_summary.csv (${QUANTUS_SUMMARY_COLUMNS.join(", ")}) from every ` +
    "per-image file there. The metrics explain the images in-process with the same method and " +
    "settings as the xai stage. Batches of 8 images are spread over --workers; the scores do " +
    "not depend on how many.\n" +
    "Example: deno task quantus --models ecgnet --methods gradcam --metrics all --limit 8",
};

/**
 * The metrics `--metrics` names (`all` for every one), or the defaults: the reference trio, plus
 * the localisation metrics when `haveMasks`.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import { parseMetrics } from "./quantus.ts";
 * console.assert(parseMetrics(undefined, false).length === 3);
 * console.assert(parseMetrics("MaxSensitivity", false)[0].name === "max_sensitivity");
 * ```
 */
export function parseMetrics(flag: unknown, haveMasks: boolean): MetricDefinition<CommonParams>[] {
  if (flag === "all") return [...METRICS];
  if (typeof flag === "string") {
    const names = [...new Set(flag.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
    if (names.length === 0) throw new InputError("--metrics: name at least one metric, or all");
    return [...new Set(names.map(getMetric))];
  }
  const localisation = haveMasks ? METRICS.filter((m) => m.category === "localisation") : [];
  return [...QUANTUS_DEFAULT_METRICS.map(getMetric), ...localisation];
}

/**
 * Each metric's parameters: its defaults, overridden by `--params` JSON, with `quantusCompat`.
 *
 * @throws {InputError} for JSON that does not parse, an unknown metric or an unknown field.
 *
 * @example
 * ```ts
 * import { getMetric } from "../metrics/registry.ts";
 * import { metricParams } from "./quantus.ts";
 * const metric = getMetric("max_sensitivity");
 * const params = metricParams([metric], '{"max_sensitivity": {"nrSamples": 3}}', false);
 * console.assert((params.get(metric) as unknown as { nrSamples: number }).nrSamples === 3);
 * ```
 */
export function metricParams(
  metrics: readonly MetricDefinition<CommonParams>[],
  json: unknown,
  quantusCompat: boolean,
): Map<MetricDefinition<CommonParams>, CommonParams> {
  let overrides: Record<string, Record<string, unknown>> = {};
  if (typeof json === "string") {
    try {
      overrides = JSON.parse(json);
    } catch (e) {
      throw new InputError(`--params: not JSON (${(e as Error).message})`);
    }
    if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
      throw new InputError('--params: give an object, e.g. {"mprt": {"layerOrder": "bottom_up"}}');
    }
  }
  for (const [name, fields] of Object.entries(overrides)) {
    const metric = getMetric(name);
    if (!metrics.includes(metric)) {
      throw new InputError(`--params: ${name} is not among the metrics run (--metrics)`);
    }
    for (const [field, value] of Object.entries(fields ?? {})) {
      const allowed = Object.keys(metric.defaults);
      const expected: string = typeof (metric.defaults as unknown as Record<string, unknown>)[
        field
      ];
      const actual: string = typeof value;
      if (!allowed.includes(field)) {
        throw new InputError(
          `--params: ${metric.name} has no parameter "${field}"; it has ${allowed.join(", ")}`,
        );
      }
      if (actual !== expected) {
        throw new InputError(
          `--params: ${metric.name}.${field} ${JSON.stringify(value)} must be a ${expected}`,
        );
      }
    }
  }
  return new Map(metrics.map((metric) => {
    const own = Object.entries(overrides).find(([k]) => getMetric(k) === metric)?.[1] ?? {};
    return [metric, { ...metric.defaults, ...own, quantusCompat }];
  }));
}

/** A score as the CSV writes it: shortest round-trip text, `NaN` for undefined. */
function formatScore(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "NaN" : String(value);
}

/**
 * The model and method a per-image file `quantus_<model>_<method>.csv` is for, or undefined for
 * another file. Model names contain underscores (`efficientnet_b0`), so the longest registered
 * architecture name that fits wins.
 *
 * @example
 * ```ts
 * import { parseQuantusFileName } from "./quantus.ts";
 * const parsed = parseQuantusFileName("quantus_efficientnet_b0_integrated_gradients.csv");
 * console.assert(parsed?.model === "efficientnet_b0" && parsed.method === "integrated_gradients");
 * ```
 */
export function parseQuantusFileName(name: string): { model: string; method: string } | undefined {
  const match = name.match(/^quantus_(.+)\.csv$/);
  if (!match) return undefined;
  const model = ARCHITECTURES.map((a) => a.name)
    .sort((a, b) => b.length - a.length)
    .find((m) => match[1].startsWith(`${m}_`));
  return model ? { model, method: match[1].slice(model.length + 1) } : undefined;
}

/**
 * Rebuilds `<out>/results/quantus_summary.csv` from every per-image file in `<out>/metrics/`, so
 * runs of different models, methods or shards add up.
 *
 * @example
 * ```ts ignore
 * await writeQuantusSummary("outputs", 42);
 * ```
 */
export async function writeQuantusSummary(out: string, seed: number): Promise<string> {
  const rows: string[][] = [];
  const dir = join(out, "metrics");
  for (const entry of await listDirSorted(dir)) {
    const parsed = parseQuantusFileName(entry.name);
    if (!entry.isFile || !parsed) continue;
    const records: string[][] = parseCsv(await Deno.readTextFile(join(dir, entry.name)));
    const [header, ...body] = records;
    for (const [column, name] of header.entries()) {
      if (column < ROW_COLUMNS.length || name === "nan_reasons") continue;
      const metric = getMetric(name);
      const scores = body.map((r) => Number(r[column]));
      const random = new SeededRandom(seed).fork(`${parsed.model}/${parsed.method}/${name}`);
      const s = summariseScores(scores, random);
      rows.push([
        parsed.model,
        parsed.method,
        metric.name,
        metric.quantusName,
        metric.category,
        metric.direction,
        String(s.n),
        ...[s.mean, s.std, s.ci95Low, s.ci95High].map(formatScore),
        String(s.nanCount),
      ]);
    }
  }
  const file = join(out, "results", "quantus_summary.csv");
  await writeFileAtomic(file, stringifyCsv([[...QUANTUS_SUMMARY_COLUMNS], ...rows]));
  return file;
}

/**
 * Runs `quantus` with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { parseStageArgs } from "./cli.ts";
 * import { quantus, quantusSpec } from "./quantus.ts";
 * await quantus((await parseStageArgs(quantusSpec, ["--methods", "gradcam", "--limit", "8"]))!);
 * ```
 */
export async function quantus(
  { config, flags }: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const explainers = parseMethods(flags.methods);
  const targetChoice = parseTargetChoice(flags.target);
  const workers = parseWorkers(flags.workers);
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  // Flags are checked before any model runs; the mask-dependent default list comes per model.
  metricParams(parseMetrics(flags.metrics, true), flags.params, false);
  const backend = await startBackend(config.backend);
  console.log(describeBackend(backend));
  for (const { name, paths } of checkpoints) {
    const { model, meta } = await loadCheckpointModel(paths.best, hooks.buildModel);
    const metricModel = new MetricModel(model);
    // Workers build models from the registry; a caller's own builder runs in this thread.
    const runner: JobRunner<QuantusBatchJob, QuantusBatchScores> = workers > 1 && !hooks.buildModel
      ? new WorkerPool(new URL("./quantus_worker.ts", import.meta.url), workers)
      : inProcessRunner((job) => scoreQuantusBatch(model, metricModel, job));
    try {
      const test = await testPredictions(config, meta, model, targetChoice, "quantus");
      const { samples } = test.loaded;
      const haveMasks = samples.length > 0 && samples.every((s) => s.maskFile);
      const metrics = metricParams(
        parseMetrics(flags.metrics, haveMasks),
        flags.params,
        flags["quantus-compat"] === true,
      );
      const masks = haveMasks
        ? await Promise.all(samples.map((s) => loadMask(s.maskFile!, meta.imgSizePx)))
        : undefined;
      const batches = batchIndices(samples.length, XAI_BATCH_SIZE);
      for (const explainer of explainers) {
        const progress = new Progress(`${name} ${explainer.name}`, samples.length);
        const rowsOfBatch: string[][][] = [];
        await runner.map(
          batches.length,
          (batchNumber): QuantusBatchJob => {
            const indices = batches[batchNumber];
            const { xNHWC, shape } = assembleBatch(test.loaded, indices);
            return {
              checkpoint: paths.best,
              backend: backend.name,
              method: explainer.name,
              metrics: [...metrics].map(([metric, params]) => [metric.name, params]),
              drawsSeeds: [...metrics.keys()].map((metric) =>
                batchDrawsSeed(config.seed, name, explainer.name, metric.name, batchNumber)
              ),
              xNHWC,
              shapeNHWC: [...shape],
              targets: Int32Array.from(indices, (i) => test.targets[i]),
              masksNHW: masks && concatMasks(indices.map((i) => masks[i])),
            };
          },
          (batchNumber, scored) => {
            const indices = batches[batchNumber];
            rowsOfBatch[batchNumber] = indices.map((i, row) => [
              samples[i].id,
              samples[i].file,
              meta.classes[test.actual[i]],
              meta.classes[test.targets[i]],
              ...scored.scores.map((scores) => formatScore(scores[row])),
              [...metrics.keys()]
                .flatMap((metric, m) =>
                  Number.isNaN(scored.scores[m][row])
                    ? [`${metric.name}: ${scored.reasons[m][row] ?? "undefined"}`]
                    : []
                )
                .join("; "),
            ]);
            progress.tick(indices.length);
          },
        );
        progress.done();
        const rows = rowsOfBatch.flat();
        const file = join(config.out, "metrics", `quantus_${name}_${explainer.name}.csv`);
        const header = [...ROW_COLUMNS, ...[...metrics.keys()].map((m) => m.name), "nan_reasons"];
        await writeFileAtomic(file, stringifyCsv([header, ...rows]));
        console.log(
          `${name} ${explainer.name}: ${rows.length} images x ${metrics.size} metrics -> ${file}`,
        );
      }
    } finally {
      runner.close();
      metricModel.dispose();
      model.dispose();
    }
  }
  const summary = await writeQuantusSummary(config.out, config.seed);
  console.log(`summary: ${summary}`);
}

/**
 * The `--workers` count: a positive integer, or min(2, CPU cores) when absent.
 *
 * @throws {InputError} for anything but a positive integer.
 *
 * @example
 * ```ts
 * import { parseWorkers } from "./quantus.ts";
 * console.assert(parseWorkers("3") === 3 && parseWorkers(undefined) <= 2);
 * ```
 */
export function parseWorkers(flag: unknown): number {
  if (flag === undefined) return Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 1));
  const workers = Number(flag);
  if (typeof flag !== "string" || !/^\d+$/.test(flag.trim()) || workers < 1) {
    throw new InputError(`--workers ${flag}: give a whole number of workers >= 1, e.g. 2`);
  }
  return workers;
}

function concatMasks(masks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(masks.reduce((n, m) => n + m.length, 0));
  masks.forEach((m, k) => out.set(m, k * m.length));
  return out;
}

if (import.meta.main) Deno.exit(await runStage(quantusSpec, Deno.args, quantus));
