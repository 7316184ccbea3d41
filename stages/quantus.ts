/**
 * `deno task quantus`: score each model x method's explanations of the test split with the
 * explanation metrics, one row per image, and summarise every (model, method, metric) with its
 * mean and a bootstrap confidence interval.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { inProcessRunner, type JobRunner, WorkerPool } from "../core/worker_pool.ts";
import { assembleBatch } from "../data/loader.ts";
import { loadMask } from "../data/masks.ts";
import { describeBackend, startBackend } from "../backends/backend.ts";
import type { CommonParams, MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric, METRICS } from "../metrics/registry.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import {
  loadCheckpointModel,
  type ModelBuilder,
  requireBestCheckpoints,
} from "../runs/model_source.ts";
import {
  batchDrawsSeed,
  type QuantusBatchJob,
  type QuantusBatchScores,
  scoreQuantusBatch,
} from "../runs/quantus_batch.ts";
import {
  formatScore,
  mergeQuantusParts,
  QUANTUS_ROW_COLUMNS,
  quantusPartsFolder,
  writeQuantusSummary,
} from "../runs/quantus_outputs.ts";
import {
  fingerprint,
  ownsItem,
  preparePartsDir,
  SHARD_FLAGS,
  shardFromCommandLine,
  writePart,
} from "../runs/shard.ts";
import {
  checkpointTestSplit,
  parseTargetChoice,
  testPredictions,
} from "../runs/test_predictions.ts";
import { parseChunkSize, parseMethods, XAI_CHUNK_SIZE } from "./xai.ts";
import { parseWorkers, workersFlag } from "../runs/workers_flag.ts";

/** The reference pipeline's three metrics, run by default. */
export const QUANTUS_DEFAULT_METRICS: readonly string[] = [
  "faithfulness_correlation",
  "max_sensitivity",
  "mprt",
];

/** Command-line description of `quantus`. */
export const quantusSpec: StageSpec = {
  name: "quantus",
  summary: "Score each model x method's explanations with the explanation metrics (Quantus's).",
  shared: [
    "data",
    "out",
    "models",
    "limit",
    "seed",
    "config",
    "backend",
    "convolutions",
    "on-bad-image",
  ],
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
    workers: workersFlag("scoring batches"),
    "chunk-size": {
      type: "string",
      valueName: "N",
      help: `images per batch and per part file (default ${XAI_CHUNK_SIZE}); Sufficiency ` +
        "compares the maps within a batch",
    },
    ...SHARD_FLAGS,
  },
  details: "Writes <out>/metrics/quantus_<model>_<method>.csv (one row per test image: " +
    `${QUANTUS_ROW_COLUMNS.join(", ")}, one column per metric, nan_reasons) and rebuilds ` +
    `<out>/results/quantus_summary.csv (${QUANTUS_SUMMARY_COLUMNS.join(", ")}) from every ` +
    "per-image file there. The metrics explain the images in-process with the same method and " +
    "settings as the xai stage. Batches of --chunk-size images are spread over --workers; the scores do " +
    "not depend on how many. Each finished batch is kept as a part in " +
    "<out>/metrics/quantus_<model>_<method>/ until the file is complete, so a killed run " +
    "resumes where it stopped, and --shard I/N runs every N-th batch (then deno task merge).\n" +
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
 * import assert from "node:assert";
 * import { parseMetrics } from "./quantus.ts";
 * assert(parseMetrics(undefined, false).length === 3);
 * assert(parseMetrics("MaxSensitivity", false)[0].name === "max_sensitivity");
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
 * import assert from "node:assert";
 * import { getMetric } from "../metrics/registry.ts";
 * import { metricParams } from "./quantus.ts";
 * const metric = getMetric("max_sensitivity");
 * const params = metricParams([metric], '{"max_sensitivity": {"nrSamples": 3}}', false);
 * assert((params.get(metric) as unknown as { nrSamples: number }).nrSamples === 3);
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
  const shard = shardFromCommandLine(flags);
  const chunkSize = parseChunkSize(flags["chunk-size"]);
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  // Flags are checked before any model runs; the mask-dependent default list comes per model.
  metricParams(parseMetrics(flags.metrics, true), flags.params, false);
  const backend = await startBackend(config.backend, {
    openBlas: config.convolutions === "openblas",
  });
  console.log(describeBackend(backend));
  // Work item k (model x method x batch, in this order) is shard k mod n's.
  let item = 0;
  for (const { name, paths } of checkpoints) {
    const { meta, loaded, chunks: batches, checkpointDigest } = await checkpointTestSplit(
      config,
      paths.best,
      chunkSize,
      "quantus",
    );
    const { samples } = loaded;
    const owned = explainers.map(() => batches.map(() => ownsItem(shard, item++)));
    if (!owned.flat().includes(true)) continue;
    const { model } = await loadCheckpointModel(paths.best, hooks.buildModel);
    const metricModel = new MetricModel(model);
    // Workers build models from the registry; a caller's own builder runs in this thread.
    const runner: JobRunner<QuantusBatchJob, QuantusBatchScores> = workers > 1 && !hooks.buildModel
      ? new WorkerPool(new URL("../runs/quantus_worker.ts", import.meta.url), workers)
      : inProcessRunner((job) => scoreQuantusBatch(model, metricModel, job));
    try {
      const test = await testPredictions(loaded, meta, model, targetChoice, chunkSize);
      const haveMasks = samples.length > 0 && samples.every((s) => s.maskFile);
      const metrics = metricParams(
        parseMetrics(flags.metrics, haveMasks),
        flags.params,
        flags["quantus-compat"] === true,
      );
      const masks = haveMasks
        ? await Promise.all(samples.map((s) => loadMask(s.maskFile!, meta.imgSizePx)))
        : undefined;
      const header = [
        ...QUANTUS_ROW_COLUMNS,
        ...[...metrics.keys()].map((m) => m.name),
        "nan_reasons",
      ];
      for (const [m, explainer] of explainers.entries()) {
        const folder = quantusPartsFolder(config.out, name, explainer.name);
        const fp = await fingerprint({
          checkpoint: checkpointDigest,
          method: explainer.name,
          metrics: [...metrics].map(([metric, params]) => [metric.name, params]),
          target: targetChoice,
          images: samples.map((s) => [s.id, s.file]),
          batchSize: chunkSize,
          seed: config.seed,
        });
        const { done } = await preparePartsDir(folder, fp, batches.length);
        const todo = batches.map((_, b) => b).filter((b) => owned[m][b] && !done.includes(b));
        const progress = new Progress(
          `${name} ${explainer.name}`,
          todo.reduce((n, b) => n + batches[b].length, 0),
        );
        await runner.map(
          todo.length,
          (k): QuantusBatchJob => {
            const indices = batches[todo[k]];
            const { xNHWC, shape } = assembleBatch(test.loaded, indices);
            return {
              checkpoint: paths.best,
              backend: backend.name,
              openBlas: backend.openBlas !== undefined,
              method: explainer.name,
              metrics: [...metrics].map(([metric, params]) => [metric.name, params]),
              drawsSeeds: [...metrics.keys()].map((metric) =>
                batchDrawsSeed(config.seed, name, explainer.name, metric.name, todo[k])
              ),
              xNHWC,
              shapeNHWC: [...shape],
              targets: Int32Array.from(indices, (i) => test.targets[i]),
              masksNHW: masks && concatMasks(indices.map((i) => masks[i])),
            };
          },
          async (k, scored) => {
            const indices = batches[todo[k]];
            const rows = indices.map((i, row) => [
              samples[i].id,
              samples[i].file,
              meta.classes[test.actual[i]],
              meta.classes[test.targets[i]],
              ...scored.scores.map((scores) => formatScore(scores[row])),
              [...metrics.keys()]
                .flatMap((metric, j) =>
                  Number.isNaN(scored.scores[j][row])
                    ? [`${metric.name}: ${scored.reasons[j][row] ?? "undefined"}`]
                    : []
                )
                .join("; "),
            ]);
            await writePart(folder, fp, todo[k], batches.length, stringifyCsv([header, ...rows]));
            progress.tick(indices.length);
          },
        );
        progress.done();
        if (shard.count === 1) {
          const rows = await mergeQuantusParts(folder);
          console.log(
            `${name} ${explainer.name}: ${rows} images x ${metrics.size} metrics -> ${folder}.csv`,
          );
        }
      }
    } finally {
      runner.close();
      metricModel.dispose();
      model.dispose();
    }
  }
  if (shard.count > 1) {
    console.log(
      `shard ${shard.index}/${shard.count} done; after every shard, run: deno task merge --out ${config.out}`,
    );
  } else {
    console.log(`summary: ${await writeQuantusSummary(config.out)}`);
  }
}

function concatMasks(masks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(masks.reduce((n, m) => n + m.length, 0));
  masks.forEach((m, k) => out.set(m, k * m.length));
  return out;
}

if (import.meta.main) Deno.exit(await runStage(quantusSpec, Deno.args, quantus));
