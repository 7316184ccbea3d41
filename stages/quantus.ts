/**
 * `deno task quantus`: score each model x method's explanations of the test split with the
 * explanation metrics, one row per image, and summarise every (model, method, metric) with its
 * mean and a bootstrap confidence interval.
 *
 * @module
 */
import { basename } from "node:path";
import { InputError } from "../core/errors.ts";
import { SeededRandom } from "../core/random.ts";
import { chunkMosaics, mosaicPlanner, type MosaicSource } from "../metrics/functions/mosaics.ts";
import { statOrUndefined } from "../core/fs.ts";
import type { CommonParams, MetricDefinition } from "../metrics/metric.ts";
import { getMetric, METRICS } from "../metrics/registry.ts";
import { QUANTUS_SUMMARY_COLUMNS } from "../metrics/summary.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { GridJobsFailed, type GridJobType, type GridRun, runGrid } from "../runs/grid.ts";
import type { ModelBuilder } from "../runs/model_source.ts";
import {
  batchDrawsSeed,
  quantusBatchHandler,
  type QuantusBatchJob,
  type QuantusBatchScores,
} from "../runs/quantus_batch.ts";
import {
  formatScore,
  mergeQuantusParts,
  parseQuantusFileName,
  QUANTUS_ROW_COLUMNS,
  QUANTUS_SUBJECT_SETTINGS,
  quantusFile,
  quantusPartsFolder,
  writeQuantusSummary,
} from "../runs/quantus_outputs.ts";
import { type PlannedRecord, readProvenance, sameSubject } from "../runs/provenance.ts";
import { OutputSelection } from "../runs/selection.ts";
import { fingerprint, SHARD_FLAGS } from "../runs/shard.ts";
import { chunkMasks, requireMasksFor, testMasks } from "../runs/test_masks.ts";
import { parseGridRun, XAI_CHUNK_SIZE } from "./xai.ts";
import { workersFlag } from "../runs/workers_flag.ts";

/** The label of the stream Focus's mosaics are drawn from (forked from `--seed`). */
const MOSAICS = "focus mosaics";

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
    "heap-budget-mb",
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
    "settings as the xai stage. Focus scores the method's explanations of 2x2 mosaics built " +
    "from the test split, one per image (the image, another of its true class, two of other " +
    "classes, seeded; explained for the true class; docs/metrics.md). Batches of --chunk-size images are spread over --workers; the scores do " +
    "not depend on how many. Each finished batch is kept as a part in " +
    "<out>/metrics/quantus_<model>_<method>/ until the file is complete, so a killed run " +
    "resumes where it stopped, and --shard I/N runs every N-th batch (then deno task merge). " +
    "A batch that runs out of wasm heap fails alone (no NaN rows: it is listed at the end, " +
    "exit status 1, and a rerun with a lower --heap-budget-mb or --chunk-size redoes it).\n" +
    "Example: deno task quantus --models ecgnet --methods gradcam --metrics all --limit 8",
};

/**
 * The metrics `--metrics` names (`all` for every one), or the defaults: the reference trio, plus
 * the localisation metrics that read masks when `haveMasks`.
 *
 * @throws {InputError} for an unknown name, listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseMetrics } from "./quantus.ts";
 * assert(parseMetrics(undefined, false).length === 3);
 * assert(parseMetrics(undefined, true).length === 9); // + the six that read masks
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
  // Focus is a localisation metric too, but scores mosaics the stage builds and explains on
  // top of the images (any data set): only by name, or with all.
  const localisation = haveMasks
    ? METRICS.filter((m) => m.category === "localisation" && m.needs.includes("masks"))
    : [];
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
 * The `quantus` stage's job type for `run` (its methods, target choice, batch size and seed)
 * with the metrics of `--metrics` and `--params` in `flags` (the localisation metrics join the
 * defaults for a data set with masks): a job explains one batch with one method and scores it
 * with every metric the method's per-image file does not hold yet; its part rows are the
 * batch's rows of `quantus_<model>_<method>.csv`. A metric already there, of the same
 * checkpoint, data, images, parameters and seed (its provenance record says so), is not scored
 * again, so a run for a subset of the metrics keeps the others' columns and a finished method
 * is not redone.
 *
 * @throws {InputError} (from `open`) for `--metrics` or `--params` that do not fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "../core/config.ts";
 * import { quantusJobType } from "./quantus.ts";
 * import { parseGridRun } from "./xai.ts";
 * const type = quantusJobType(parseGridRun({ config: { ...DEFAULT_CONFIG, out: "o" }, flags: {} }), {});
 * assert(type.folder("o", "ecgnet", "gradcam") === "o/metrics/quantus_ecgnet_gradcam");
 * ```
 */
export function quantusJobType(
  { target, chunkSize, methods, config: { seed, out } }: GridRun,
  flags: StageArgs["flags"],
): GridJobType<QuantusBatchJob, QuantusBatchScores> {
  return {
    stage: "quantus",
    worker: new URL("../runs/quantus_worker.ts", import.meta.url),
    handler: quantusBatchHandler,
    folder: quantusPartsFolder,
    output: (folder) => `${folder}.csv`,
    open: async ({ name, meta, loaded, test, data, checkpointDigest }) => {
      const { samples } = loaded;
      requireMasksFor(methods, samples);
      const masks = await testMasks(samples, meta.imgSizePx);
      const mosaicSource: MosaicSource = {
        images: loaded.images,
        ids: samples.map((s) => s.id),
        plan: mosaicPlanner(test.actual),
        ...(masks ? { masks } : {}),
      };
      const haveMasks = masks !== undefined;
      const metrics = [
        ...metricParams(
          parseMetrics(flags.metrics, haveMasks),
          flags.params,
          flags["quantus-compat"] === true,
        ),
      ].map(([metric, params]): [string, CommonParams] => [metric.name, params]);
      const pending = await pendingMetrics(
        { out, model: name, methods, metrics, seed },
        {
          checkpoint: { fingerprint: checkpointDigest },
          data: data.identity,
          settings: { "--target": target, "--chunk-size": chunkSize },
        },
        await fingerprint(samples.map((s) => [s.id, s.file])),
      );
      const todoOf = (method: string) => pending.get(method)!.metrics;
      return {
        work: (method) => {
          const { metrics: todo, columns, subject } = pending.get(method)!;
          if (todo.length === 0) return undefined;
          return {
            settings: {
              ...subject,
              "--seed": seed,
              "--metrics": todo.map(([metric]) => metric),
              "--params": Object.fromEntries(todo),
            },
            columns,
          };
        },
        job: (base, { chunk, indices }) => ({
          ...base,
          metrics: todoOf(base.method),
          drawsSeeds: todoOf(base.method).map(([metric]) =>
            batchDrawsSeed(seed, name, base.method, metric, chunk)
          ),
          masksNHW: masks && chunkMasks(masks, indices),
          ...(todoOf(base.method).some(([metric]) => getMetric(metric).needs.includes("mosaics"))
            ? { mosaics: chunkMosaics(mosaicSource, indices, new SeededRandom(seed).fork(MOSAICS)) }
            : {}),
        }),
        partRows: ({ method, indices }, { scores, reasons }) => [
          [...QUANTUS_ROW_COLUMNS, ...todoOf(method).map(([metric]) => metric), "nan_reasons"],
          ...indices.map((i, row) => [
            samples[i].id,
            samples[i].file,
            meta.classes[test.actual[i]],
            meta.classes[test.targets[i]],
            ...scores.map((byImage) => formatScore(byImage[row])),
            todoOf(method)
              .flatMap(([metric], m) =>
                Number.isNaN(scores[m][row]) ? [`${metric}: ${reasons[m][row] ?? "undefined"}`] : []
              )
              .join("; "),
          ]),
        ],
        merge: async (folder) => {
          const scored = todoOf(parseQuantusFileName(basename(folder))!.method).length;
          return `${await mergeQuantusParts(folder)} images, ${scored} metric(s) scored now -> ` +
            `${folder}.csv`;
        },
      };
    },
  };
}

/** A method's metrics still to score, and each one's column fingerprint for the record. */
interface PendingMetrics {
  metrics: [string, CommonParams][];
  columns: Record<string, string>;
  /** The settings every column of the file shares. */
  subject: Record<string, unknown>;
}

/**
 * Per method, the metrics whose column the method's per-image file does not hold for this
 * checkpoint, data set, image list (`images`, a hash), target, batch size, parameters and seed.
 */
async function pendingMetrics(
  run: {
    out: string;
    model: string;
    methods: readonly string[];
    metrics: readonly [string, CommonParams][];
    seed: number;
  },
  subject: Pick<PlannedRecord, "checkpoint" | "data" | "settings">,
  images: string,
): Promise<Map<string, PendingMetrics>> {
  const pending = new Map<string, PendingMetrics>();
  for (const method of run.methods) {
    const previous = await readProvenance(run.out, "quantus", run.model, method);
    const kept = previous !== undefined &&
      (await statOrUndefined(quantusFile(run.out, run.model, method))) !== undefined &&
      sameSubject(previous, subject, QUANTUS_SUBJECT_SETTINGS);
    const todo: [string, CommonParams][] = [];
    const columns: Record<string, string> = {};
    for (const [metric, params] of run.metrics) {
      const column = await fingerprint({
        checkpoint: subject.checkpoint.fingerprint,
        data: subject.data.fingerprint,
        ...subject.settings,
        method,
        images,
        metric,
        params,
        seed: run.seed,
      });
      if (kept && previous.columns?.[metric] === column) continue;
      todo.push([metric, params]);
      columns[metric] = column;
    }
    pending.set(method, { metrics: todo, columns, subject: subject.settings });
  }
  return pending;
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
  args: StageArgs,
  hooks: { buildModel?: ModelBuilder } = {},
): Promise<void> {
  const { config, flags } = args;
  const run = parseGridRun(args, hooks.buildModel);
  // Flags are checked before any model runs; the mask-dependent default list comes per model.
  metricParams(parseMetrics(flags.metrics, true), flags.params, false);
  // Jobs that failed for want of heap leave the finished ones' files: summarise those, then
  // report the failures.
  const failed = await runGrid(quantusJobType(run, flags), run).then(
    () => undefined,
    (e) => {
      if (e instanceof GridJobsFailed) return e;
      throw e;
    },
  );
  if (run.shard.count === 1) {
    const selection = await OutputSelection.open(
      config.out,
      run.dataGiven === false ? {} : { data: config.data },
    );
    const { file, leftOut } = await writeQuantusSummary(config.out, selection);
    for (const line of leftOut) console.log(line);
    console.log(`summary: ${file}`);
  }
  if (failed) throw failed;
}

if (import.meta.main) Deno.exit(await runStage(quantusSpec, Deno.args, quantus));
