/**
 * Reading a Quantus parity fixture set (`$QUANTUS_PARITY_DIR`, default `../shared/quantus-parity`,
 * and `$QUANTUS_PARITY_MORE_DIR`, default `../shared/quantus-parity-more`; format in their
 * READMEs): the model rebuilt in tfjs from its layer list and weights, the inputs in our layouts
 * (the second set's edge-case maps and Focus mosaics too), each metric case's recorded draws,
 * numpy sort orders and randomised layer parameters, and a tolerant deep comparison of scores.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { type RecordedDraw, ReplayDraws } from "../metrics/functions/draws.ts";
import type { LayerRandomiser } from "../metrics/randomisation/layer_randomisation.ts";
import {
  type ExplainFunction,
  type MetricBatch,
  type MetricContext,
  type RankOrder,
  type Segmenter,
  stableRankOrder,
} from "../metrics/metric.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { INPUT_X_GRADIENT } from "../xai/gradient/input_x_gradient.ts";
import { SALIENCY } from "../xai/gradient/saliency.ts";

/** The fixture folder the parity tests read. */
export const QUANTUS_PARITY_DIR = Deno.env.get("QUANTUS_PARITY_DIR") ?? "../shared/quantus-parity";

/** The second fixture folder (Quantus's remaining metrics, same format). */
export const QUANTUS_PARITY_MORE_DIR = Deno.env.get("QUANTUS_PARITY_MORE_DIR") ??
  "../shared/quantus-parity-more";

/** A tensor as the fixtures encode it. */
interface EncodedTensor {
  shape: number[];
  dtype: "float32" | "float64" | "int64" | "bool";
  data: (number | string | boolean)[];
}

/** Decodes a fixture number: "NaN"/"Infinity" strings, booleans as 0/1. */
export function decodeNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  throw new Error(`fixture: not a number: ${JSON.stringify(value)}`);
}

/** A tensor's data as float64 (float32 data rounded to float32 exactly, as the README says). */
export function decodeTensor(tensor: EncodedTensor): { shape: number[]; data: Float64Array } {
  const data = Float64Array.from(tensor.data, decodeNumber);
  if (tensor.dtype === "float32") {
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i]);
  }
  return { shape: tensor.shape, data };
}

/** NCHW data → NHWC. */
function nchwToNhwc(data: ArrayLike<number>, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        out[(i * h * w + p) * c + ch] = data[(i * c + ch) * h * w + p];
      }
    }
  }
  return out;
}

/** One image per row of `[N, 1, H, W]` data as `[N, H, W]`; refuses several channels. */
function singleChannel(name: string, tensor: EncodedTensor): Float64Array {
  if (tensor.shape[1] !== 1) {
    throw new Error(
      `fixture: ${name} has ${tensor.shape[1]} channels; metrics here take one attribution ` +
        "(or mask) value per pixel, [N, 1, H, W]",
    );
  }
  return decodeTensor(tensor).data;
}

interface LayerSpec {
  name: string;
  type: string;
  out_channels?: number;
  kernel_size?: [number, number];
  stride?: number;
  padding?: string;
  activation?: string;
  pool_size?: [number, number];
  out?: number;
}

/** The fixture model's description in `model_and_inputs.json`. */
interface FixtureModelSpec {
  input_shape_chw: number[];
  layers: LayerSpec[];
  weights: { tfjs: Record<string, EncodedTensor> };
}

/**
 * The fixture's layers applied to `input`, each ReLU as a layer of its own named `relu_<k>` (the
 * k-th ReLU): the PyTorch module names the fixtures' hidden representations list (conv outputs
 * before and after the ReLU are both representations). `suffix` is appended to every name, so
 * that copies of the model (the mosaic model's quadrants) can live in one graph.
 */
function applyFixtureLayers(
  input: tf.SymbolicTensor,
  layers: LayerSpec[],
  suffix = "",
): tf.SymbolicTensor {
  let y = input;
  let relus = 0;
  for (const spec of layers) {
    let layer: tf.layers.Layer;
    const name = spec.name + suffix;
    if (spec.type === "conv2d") {
      if (spec.padding !== "valid") {
        throw new Error(`fixture: ${spec.name}: padding ${spec.padding}`);
      }
      layer = tf.layers.conv2d({
        name,
        filters: spec.out_channels!,
        kernelSize: spec.kernel_size!,
        strides: spec.stride ?? 1,
        padding: "valid",
      });
    } else if (spec.type === "maxpool2d") {
      layer = tf.layers.maxPooling2d({ name, poolSize: spec.pool_size!, strides: spec.stride });
    } else if (spec.type === "flatten") {
      layer = tf.layers.flatten({ name });
    } else if (spec.type === "dense") {
      layer = tf.layers.dense({ name, units: spec.out! });
    } else {
      throw new Error(`fixture: layer ${spec.name} has unsupported type ${spec.type}`);
    }
    y = layer.apply(y) as tf.SymbolicTensor;
    if (spec.activation === "relu") {
      y = tf.layers.reLU({ name: `relu_${++relus}${suffix}` }).apply(y) as tf.SymbolicTensor;
    }
  }
  return y;
}

/** Loads the fixture's tfjs-layout weights into every layer of `built` named `<layer><suffix>`. */
function loadFixtureWeights(built: tf.LayersModel, spec: FixtureModelSpec, suffix = ""): void {
  for (const layer of built.layers) {
    if (!layer.name.endsWith(suffix)) continue;
    const name = layer.name.slice(0, layer.name.length - suffix.length);
    const kernel = spec.weights.tfjs[`${name}/kernel`];
    if (!kernel) continue;
    const tensors = [kernel, spec.weights.tfjs[`${name}/bias`]].map((t) => {
      const { shape, data } = decodeTensor(t);
      return tf.tensor(Float32Array.from(data), shape);
    });
    layer.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
  }
}

/** The fixture's model rebuilt with tfjs layers (NHWC) and its tfjs-layout weights. */
function buildFixtureModel(spec: FixtureModelSpec): tf.LayersModel {
  const [c, h, w] = spec.input_shape_chw;
  const input = tf.input({ shape: [h, w, c] });
  const built = tf.model({ inputs: input, outputs: applyFixtureLayers(input, spec.layers) });
  loadFixtureWeights(built, spec);
  return built;
}

/**
 * The second set's mosaic model: 2x2 mosaics of the model's input size, the model applied to each
 * quadrant (top-left, top-right, bottom-left, bottom-right) and the logits summed. Each quadrant
 * gets its own copy of the layers (same weights), so every graph walker sees a plain graph.
 */
function buildMosaicModel(spec: FixtureModelSpec): tf.LayersModel {
  const [c, h, w] = spec.input_shape_chw;
  const input = tf.input({ shape: [2 * h, 2 * w, c] });
  const quadrants = [[0, 0], [0, 1], [1, 0], [1, 1]].map(([row, col], q) => {
    const crop = tf.layers.cropping2D({
      name: `quadrant_${q}`,
      cropping: [[row * h, (1 - row) * h], [col * w, (1 - col) * w]],
    }).apply(input) as tf.SymbolicTensor;
    return applyFixtureLayers(crop, spec.layers, `_q${q}`);
  });
  const summed = tf.layers.add({ name: "quadrant_sum" }).apply(quadrants) as tf.SymbolicTensor;
  const built = tf.model({ inputs: input, outputs: summed });
  for (let q = 0; q < 4; q++) loadFixtureWeights(built, spec, `_q${q}`);
  return built;
}

/** One metric case of a fixture file. */
export interface QuantusCase {
  case: string;
  description: string;
  status: "ok" | "error";
  error?: string;
  /** Which Quantus computed it (second set): "Quantus main branch, …" or "Quantus release 0.6.0, …". */
  source_tree?: string;
  init_effective: Record<string, unknown>;
  call_effective: Record<string, unknown>;
  /** Which arrays were passed: `inputs.*`, `mosaics.*`; `a_batch: null` = Quantus explained. */
  arrays: Record<string, string | null>;
  scores?: unknown;
  tie_sensitive_samples?: number[];
  threshold_sensitive_samples?: number[];
  draws?: { fn: string; used: boolean; value?: EncodedTensor }[];
  extra?: Record<string, unknown>;
}

/** One `<Metric>.json`. */
export interface QuantusMetricFile {
  metric: string;
  notes: string[] | string;
  cases: QuantusCase[];
  extra?: Record<string, unknown>;
}

/** A loaded fixture set. */
export interface QuantusFixtureSet {
  dir: string;
  /** Metric name → file name, from index.json. */
  metrics: Record<string, string>;
  model: tf.LayersModel;
  numClasses: number;
  shapeNHWC: [number, number, number, number];
  xNHWC: Float32Array;
  y: Int32Array;
  /** [N, H, W] the signed gradient explanations. */
  a: Float32Array;
  masks: Uint8Array;
  masksEdge: Uint8Array;
  /** numpy's argsort(-a) and argsort(a) rows, [N, H·W]. */
  argsortDesc: Int32Array;
  argsortAsc: Int32Array;
  /** [N, H, W] the second set's edge-case maps (`inputs.a_edge`), where the set has them. */
  aEdge?: Float32Array;
  /** The second set's 2x2 mosaics for Focus, where the set has them. */
  mosaics?: FixtureMosaics;
  /** The `randomised_layers` resource: per seed, each layer's parameters after randomisation. */
  randomisedLayers?: Record<string, RecordedLayer[]>;
  readMetric(name: string): Promise<QuantusMetricFile>;
}

/** The Focus mosaics of a fixture set (`mosaics` in `model_and_inputs.json`). */
export interface FixtureMosaics {
  /** The model applied to each quadrant, logits summed. */
  model: tf.LayersModel;
  shapeNHWC: [number, number, number, number];
  xNHWC: Float32Array;
  /** [M] each mosaic's target class. */
  y: Int32Array;
  /** [M, 2H, 2W] the recorded gradient explanations of the mosaics. */
  a: Float32Array;
  /**
   * [M, 4] Quantus's `p_batch` (`custom_batch`): per quadrant (top-left, top-right, bottom-left,
   * bottom-right) 1 where its image has the target class.
   */
  quadrantsWithTarget: Uint8Array;
}

/** One layer's parameters after Quantus randomised it (tfjs layout). */
interface RecordedLayer {
  layer: string;
  params_tfjs: Record<string, EncodedTensor>;
}

/**
 * Loads index.json and model_and_inputs.json of a fixture set.
 *
 * @example
 * ```ts ignore
 * const set = await loadQuantusFixtureSet(QUANTUS_PARITY_DIR);
 * ```
 */
export async function loadQuantusFixtureSet(dir: string): Promise<QuantusFixtureSet> {
  const readJson = async (name: string) => JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
  const index = await readJson("index.json");
  const { model, inputs, mosaics } = await readJson(index.inputs_file ?? "model_and_inputs.json");
  const xShape: number[] = inputs.x.shape;
  const [n, c, h, w] = xShape;
  const ints = (t: EncodedTensor | number[]) =>
    Int32Array.from(Array.isArray(t) ? t : decodeTensor(t).data);
  const metrics: Record<string, string> = Object.fromEntries(
    Object.entries(index.metrics as Record<string, { file: string }>).map(([k, v]) => [k, v.file]),
  );
  const resources: Record<string, string> = index.resources ?? {};
  return {
    dir,
    metrics,
    model: buildFixtureModel(model),
    numClasses: model.num_classes,
    shapeNHWC: [n, h, w, c],
    xNHWC: nchwToNhwc(decodeTensor(inputs.x).data, xShape),
    y: ints(inputs.y),
    a: Float32Array.from(singleChannel("inputs.a", inputs.a)),
    masks: Uint8Array.from(singleChannel("inputs.s", inputs.s)),
    masksEdge: Uint8Array.from(singleChannel("inputs.s_edge", inputs.s_edge)),
    argsortDesc: ints(inputs.a_argsort_desc),
    argsortAsc: ints(inputs.a_argsort_asc),
    aEdge: inputs.a_edge && Float32Array.from(singleChannel("inputs.a_edge", inputs.a_edge)),
    mosaics: mosaics && {
      model: buildMosaicModel(model),
      shapeNHWC: [mosaics.x.shape[0], mosaics.x.shape[2], mosaics.x.shape[3], mosaics.x.shape[1]],
      xNHWC: nchwToNhwc(decodeTensor(mosaics.x).data, mosaics.x.shape),
      y: ints(mosaics.y),
      a: Float32Array.from(singleChannel("mosaics.a", mosaics.a)),
      quadrantsWithTarget: Uint8Array.from((mosaics.p_batch as number[][]).flat()),
    },
    randomisedLayers: resources.randomised_layers &&
      (await readJson(resources.randomised_layers)).seeds,
    readMetric: async (name) =>
      resolveCaseReferences(await readJson(metrics[name] ?? `${name}.json`)),
  };
}

/**
 * Replaces `extra` entries written as "identical to case 'X'" (the fixtures store large arrays
 * once) with case X's entry.
 */
function resolveCaseReferences(file: QuantusMetricFile): QuantusMetricFile {
  for (const c of file.cases) {
    for (const [key, value] of Object.entries(c.extra ?? {})) {
      const match = typeof value === "string" && value.match(/^identical to case '([^']+)'/);
      if (!match) continue;
      const source = file.cases.find((other) => other.case === match[1]);
      if (!source?.extra?.[key]) throw new Error(`fixture: ${file.metric} ${c.case}: ${value}`);
      c.extra![key] = source.extra[key];
    }
  }
  return file;
}

/** The mosaics of a set, for a case that passed them; refuses a set without them. */
function caseMosaics(set: QuantusFixtureSet, c: QuantusCase): FixtureMosaics | undefined {
  if (!c.arrays?.x_batch?.startsWith("mosaics.")) return undefined;
  if (!set.mosaics) throw new Error(`fixture: ${c.case} passes mosaics, but ${set.dir} has none`);
  return set.mosaics;
}

/** The attributions `arrays.a_batch` names (undefined for `null`: Quantus explained). */
function caseAttributions(set: QuantusFixtureSet, c: QuantusCase): Float32Array | undefined {
  const name = c.arrays?.a_batch === undefined ? "inputs.a" : c.arrays.a_batch;
  if (name === null) return undefined;
  const named: Record<string, Float32Array | undefined> = {
    "inputs.a": set.a,
    "inputs.a_edge": set.aEdge,
    "mosaics.a": set.mosaics?.a,
  };
  const a = named[name];
  if (!a) throw new Error(`fixture: ${c.case}: a_batch ${name} is not in ${set.dir}`);
  return a;
}

/**
 * The batch a case was called with (`arrays` names the inputs, maps and mask set). Where Quantus
 * computed the explanations itself (`a_batch: null`), the maps are NaN: use
 * {@link explainedCaseBatch}.
 */
export function caseBatch(set: QuantusFixtureSet, c: QuantusCase): MetricBatch {
  const mosaics = caseMosaics(set, c);
  const source = mosaics ?? set;
  const [n, h, w] = source.shapeNHWC;
  return {
    xNHWC: source.xNHWC,
    shapeNHWC: source.shapeNHWC,
    targets: source.y,
    attributionsNHW: caseAttributions(set, c) ?? new Float32Array(n * h * w).fill(NaN),
    masksNHW: mosaics
      ? undefined
      : c.arrays?.s_batch === "inputs.s_edge"
      ? set.masksEdge
      : set.masks,
    mosaicQuadrantsN4: c.arrays?.custom_batch === "mosaics.p_batch"
      ? mosaics?.quadrantsWithTarget
      : undefined,
  };
}

/**
 * {@link caseBatch}, with the maps of a case that passed `a_batch: null` computed as Quantus did:
 * the case's `explain_func` on its inputs and targets.
 */
export async function explainedCaseBatch(
  set: QuantusFixtureSet,
  c: QuantusCase,
  context: MetricContext,
): Promise<MetricBatch> {
  const batch = caseBatch(set, c);
  if (caseAttributions(set, c)) return batch;
  if (!context.explain) throw new Error(`fixture: ${c.case} passes no a_batch and no explain_func`);
  const maps = await context.explain(
    context.model.layers,
    batch.xNHWC,
    batch.shapeNHWC,
    batch.targets,
  );
  return { ...batch, attributionsNHW: maps };
}

/**
 * numpy's recorded sort order wherever the values being sorted are exactly `a`'s row (numpy's
 * unstable sort decides ties there); a stable sort anywhere else.
 */
function recordedRankOrder(set: QuantusFixtureSet): RankOrder {
  const pixels = set.shapeNHWC[1] * set.shapeNHWC[2];
  return (sample, valuesHW, direction) => {
    const row = set.a.subarray(sample * pixels, (sample + 1) * pixels);
    const same = valuesHW.length === pixels && valuesHW.every((v, j) => v === row[j]);
    if (!same) return stableRankOrder(sample, valuesHW, direction);
    const orders = direction === "descending" ? set.argsortDesc : set.argsortAsc;
    return orders.slice(sample * pixels, (sample + 1) * pixels);
  };
}

/**
 * Quantus's `explain_func` of a case as one of our explainers: `Gradient` is Captum's Saliency
 * without abs, summed over channels.
 */
function caseExplain(c: QuantusCase): ExplainFunction | undefined {
  const kwargs = c.call_effective.explain_func_kwargs as { method?: string } | null;
  if (!kwargs?.method) return undefined;
  const methods: Record<string, () => ExplainFunction> = {
    Gradient: () => explainerFunction(SALIENCY, { abs: false }),
    Saliency: () => explainerFunction(SALIENCY, { abs: true }),
    InputXGradient: () => explainerFunction(INPUT_X_GRADIENT),
  };
  const method = methods[kwargs.method];
  if (!method) throw new Error(`fixture: explain method ${kwargs.method} is not mapped`);
  return method();
}

/** The superpixels a case recorded (`extra.segments`, [N, H, W] labels), when it has them. */
function recordedSegments(c: QuantusCase): Segmenter | undefined {
  const encoded = c.extra?.segments as EncodedTensor | undefined;
  if (!encoded) return undefined;
  const [, h, w] = encoded.shape;
  const labels = Int32Array.from(decodeTensor(encoded).data);
  return (sample) => labels.slice(sample * h * w, (sample + 1) * h * w);
}

/**
 * The context a case runs in: the fixture model, its recorded draws, numpy's orders and the
 * recorded superpixels.
 */
export function caseContext(set: QuantusFixtureSet, c: QuantusCase): MetricContext & {
  draws: ReplayDraws;
} {
  const records: RecordedDraw[] = (c.draws ?? [])
    .filter((d) => d.used)
    .map((d) => ({ fn: d.fn, values: d.value ? decodeTensor(d.value).data : [] }));
  return {
    model: new MetricModel((caseMosaics(set, c) ?? set).model),
    explain: caseExplain(c),
    draws: new ReplayDraws(records),
    rankOrder: recordedRankOrder(set),
    segment: recordedSegments(c),
    randomiseLayer: recordedRandomisation(set, c),
  };
}

/**
 * The layer parameters Quantus drew with torch's generator, where the case recorded them: in the
 * case (`extra.randomised_layers` a list) or in the set's `randomised_layers` resource (`{file,
 * seed}`).
 */
function recordedRandomisation(
  set: QuantusFixtureSet,
  c: QuantusCase,
): LayerRandomiser | undefined {
  const entry = c.extra?.randomised_layers as RecordedLayer[] | { seed: string } | undefined;
  if (!entry) return undefined;
  const recorded = Array.isArray(entry) ? entry : set.randomisedLayers?.[entry.seed];
  if (!recorded) {
    throw new Error(`fixture: ${c.case}: no randomised layers for seed ${JSON.stringify(entry)}`);
  }
  return (layer) => {
    const params = recorded.find((r) => r.layer === layer.name)?.params_tfjs;
    if (!params) throw new Error(`fixture: no recorded parameters for layer ${layer.name}`);
    const tensors = ["kernel", "bias"].map((part) => {
      const { shape, data } = decodeTensor(params[`${layer.name}/${part}`]);
      return tf.tensor(Float32Array.from(data), shape);
    });
    layer.setWeights(tensors);
    tf.dispose(tensors);
  };
}

/** Absolute and relative tolerance of a comparison. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Where `actual` differs from `expected` (Quantus's structure: numbers, booleans, "NaN" strings,
 * lists, dicts) beyond `tolerance`; empty when they agree. NaN equals NaN.
 */
export function scoreDifferences(
  actual: unknown,
  expected: unknown,
  tolerance: Tolerance,
  path = "scores",
): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected a list of ${expected.length}, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => scoreDifferences(actual[i], e, tolerance, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return [`${path}: expected an object`];
    const keys = Object.keys(expected);
    const extra = Object.keys(actual).filter((k) => !keys.includes(k));
    return [
      ...(extra.length ? [`${path}: unexpected keys ${extra.join(", ")}`] : []),
      ...keys.flatMap((k) =>
        scoreDifferences(
          (actual as Record<string, unknown>)[k],
          (expected as Record<string, unknown>)[k],
          tolerance,
          `${path}.${k}`,
        )
      ),
    ];
  }
  if (typeof expected === "boolean") {
    return actual === expected ? [] : [`${path}: expected ${expected}, got ${actual}`];
  }
  const e = decodeNumber(expected);
  const a = typeof actual === "number" ? actual : NaN;
  if (Number.isNaN(e) && Number.isNaN(a)) return [];
  if (typeof actual !== "number") return [`${path}: expected ${e}, got ${JSON.stringify(actual)}`];
  const ok = a === e || Math.abs(a - e) <= tolerance.atol + tolerance.rtol * Math.abs(e);
  return ok ? [] : [`${path}: expected ${e}, got ${a} (difference ${Math.abs(a - e)})`];
}
