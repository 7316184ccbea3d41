/**
 * `deno task quantus`: score each model x method's explanations of the test split with the
 * explanation metrics, one row per image, and summarise every (model, method, metric) with its
 * mean and a bootstrap confidence interval.
 *
 * @module
 */
import { stringifyCsv } from "../deps.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { InputError } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import { SeededRandom } from "../core/random.ts";
import { assembleBatch, batchIndices } from "../data/loader.ts";
import { loadMask } from "../data/masks.ts";
import { describeBackend, startBackend } from "../models/backend.ts";
import { SeededDraws } from "../metrics/draws.ts";
import { explainerFunction } from "../metrics/explainer_function.ts";
import type {
  CommonParams,
  MetricBatch,
  MetricDefinition,
  MetricResult,
} from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { getMetric, METRICS } from "../metrics/registry.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { loadCheckpointModel, type ModelBuilder, requireBestCheckpoints } from "./model_source.ts";
import {
  formatScore,
  QUANTUS_ROW_COLUMNS,
  quantusFile,
  writeQuantusSummary,
} from "./quantus_outputs.ts";
import { parseTargetChoice, testPredictions } from "./test_predictions.ts";
import { parseMethods, XAI_CHUNK_SIZE } from "./xai.ts";

/** The reference pipeline's three metrics, run by default. */
export const QUANTUS_DEFAULT_METRICS: readonly string[] = [
  "faithfulness_correlation",
  "max_sensitivity",
  "mprt",
];

/** The columns of `quantus_summary.csv` (defined beside the summary; the plots read them too). */

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
  },
  details: "Writes <out>/metrics/quantus_<model>_<method>.csv (one row per test image: " +
    `${QUANTUS_ROW_COLUMNS.join(", ")}, one column per metric, nan_reasons) and rebuilds ` +
    `<out>/results/quantus_summary.csv (${QUANTUS_SUMMARY_COLUMNS.join(", ")}) from every ` +
    "per-image file there. The metrics explain the images in-process with the same method and " +
    "settings as the xai stage.\n" +
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
 * console.assert((params.get(metric) as { nrSamples: number }).nrSamples === 3);
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
      const expected = typeof (metric.defaults as unknown as Record<string, unknown>)[field];
      if (!allowed.includes(field)) {
        throw new InputError(
          `--params: ${metric.name} has no parameter "${field}"; it has ${allowed.join(", ")}`,
        );
      }
      const given: string = typeof value;
      if (given !== expected) {
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

/** One image's scores for the metrics, and why some are NaN. */
interface ImageScores {
  scores: Map<string, number>;
  reasons: string[];
}

/** Scores one batch with every metric; a metric that fails gives NaN with its reason. */
async function scoreBatch(
  metrics: Map<MetricDefinition<CommonParams>, CommonParams>,
  batch: MetricBatch,
  context: { model: MetricModel; explain: ReturnType<typeof explainerFunction> },
  drawsSeed: (metric: string) => number,
): Promise<ImageScores[]> {
  const n = batch.targets.length;
  const rows: ImageScores[] = Array.from({ length: n }, () => ({ scores: new Map(), reasons: [] }));
  for (const [metric, params] of metrics) {
    let result: MetricResult;
    try {
      result = await metric.evaluate(
        { ...context, draws: new SeededDraws(drawsSeed(metric.name)) },
        batch,
        params,
      );
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      result = { scores: new Float64Array(n).fill(NaN), reasons: Array(n).fill(e.message) };
    }
    for (let i = 0; i < n; i++) {
      rows[i].scores.set(metric.name, result.scores[i]);
      if (Number.isNaN(result.scores[i])) {
        rows[i].reasons.push(`${metric.name}: ${result.reasons[i] ?? "undefined"}`);
      }
    }
  }
  return rows;
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
  const checkpoints = await requireBestCheckpoints(config.out, config.models);
  // Flags are checked before any model runs; the mask-dependent default list comes per model.
  metricParams(parseMetrics(flags.metrics, true), flags.params, false);
  console.log(describeBackend(await startBackend(config.backend)));
  for (const { name, paths } of checkpoints) {
    const { model, meta } = await loadCheckpointModel(paths.best, hooks.buildModel);
    const metricModel = new MetricModel(model);
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
      for (const explainer of explainers) {
        const explain = explainerFunction(explainer);
        const progress = new Progress(`${name} ${explainer.name}`, samples.length);
        const rows: string[][] = [];
        for (
          const [batchNumber, indices] of batchIndices(samples.length, XAI_CHUNK_SIZE).entries()
        ) {
          const { xNHWC, shape } = assembleBatch(test.loaded, indices);
          const targets = Int32Array.from(indices, (i) => test.targets[i]);
          const batch: MetricBatch = {
            xNHWC,
            shapeNHWC: shape,
            targets,
            attributionsNHW: await explain(model, xNHWC, shape, targets),
            masksNHW: masks && concatMasks(indices.map((i) => masks[i])),
          };
          const scored = await scoreBatch(
            metrics,
            batch,
            { model: metricModel, explain },
            (metric) =>
              new SeededRandom(config.seed).fork(
                `${name}/${explainer.name}/${metric}/${batchNumber}`,
              )
                .seed,
          );
          for (const [row, i] of indices.entries()) {
            rows.push([
              samples[i].id,
              samples[i].file,
              meta.classes[test.actual[i]],
              meta.classes[test.targets[i]],
              ...[...metrics.keys()].map((m) => formatScore(scored[row].scores.get(m.name))),
              scored[row].reasons.join("; "),
            ]);
          }
          progress.tick(indices.length);
        }
        progress.done();
        const file = quantusFile(config.out, name, explainer.name);
        const header = [
          ...QUANTUS_ROW_COLUMNS,
          ...[...metrics.keys()].map((m) => m.name),
          "nan_reasons",
        ];
        await writeFileAtomic(file, stringifyCsv([header, ...rows]));
        console.log(
          `${name} ${explainer.name}: ${rows.length} images x ${metrics.size} metrics -> ${file}`,
        );
      }
    } finally {
      metricModel.dispose();
      model.dispose();
    }
  }
  const summary = await writeQuantusSummary(config.out);
  console.log(`summary: ${summary}`);
}

function concatMasks(masks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(masks.reduce((n, m) => n + m.length, 0));
  masks.forEach((m, k) => out.set(m, k * m.length));
  return out;
}

if (import.meta.main) Deno.exit(await runStage(quantusSpec, Deno.args, quantus));
