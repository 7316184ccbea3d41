/**
 * Images per second of every registered metric on a batch of 8, wasm backend, untrained weights:
 * ecgnet at 128 px and resnet18 at 224 px, each with Grad-CAM (every metric) and Integrated
 * Gradients (the reference trio: FaithfulnessCorrelation, MaxSensitivity, MPRT). The explanation
 * of the batch itself is timed on its own line; metric times exclude it.
 *
 * resnet18 with IG re-explaining (MaxSensitivity, MPRT) takes tens of minutes at full settings,
 * so it runs on one image with IG `nSteps` 8 and MaxSensitivity `nrSamples` 2, and the time is
 * scaled linearly to the full settings (IG 50 steps, 7 samples); the table marks those rows.
 * `--full` runs them on one image at the full settings instead, unscaled (as
 * `bench/quantus_reference.py --full`): the reduced run understates what keeping MPRT's path rows
 * costs at 50 steps (more rows to keep), and linear scaling ignores how chunks fill.
 *
 * Run: `deno run --allow-read=. bench/metrics_bench.ts [--models ecgnet,resnet18] [--metrics a,b]
 * [--methods gradcam,integrated_gradients] [--convolutions openblas|xnnpack] [--full]
 * [--backend wasm|webgpu|cpu]` (openblas, the
 * default, needs `--allow-ffi`)
 * (prints a Markdown table). Besides wall-clock time it reports the process's CPU time
 * (`process.cpuUsage()`): on a machine shared with other jobs, CPU time is the better estimate of
 * what a quiet machine would take (the work is single-threaded). Quantus 0.6.0 + Captum on PyTorch 1.13, one thread, s/image on
 * resnet18: FaithfulnessCorrelation 2.03; MaxSensitivity 0.40 (GradCAM), 48.6 (IG); MPRT 2.39
 * (GradCAM), ~268 (IG).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { tf } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { backendName, describeBackend, startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import type { CommonParams, MetricBatch, MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { METRICS } from "../metrics/registry.ts";
import { QUANTUS_DEFAULT_METRICS } from "../stages/quantus.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";
import type { ExplainerOptions } from "../xai/registry.ts";
import type { Explainer } from "../xai/explainer.ts";

const BATCH = 8;
const CLASSES = 4;
const IG_FULL_STEPS = 50;

/** Quantus 0.6.0 + Captum, PyTorch 1.13, one thread, s/image on resnet18 (the issue's). */
const QUANTUS_SECONDS: Record<string, Record<string, number>> = {
  gradcam: { faithfulness_correlation: 2.03, max_sensitivity: 0.40, mprt: 2.39 },
  integrated_gradients: { faithfulness_correlation: 2.03, max_sensitivity: 48.6, mprt: 268 },
};

interface Row {
  model: string;
  method: string;
  metric: string;
  images: number;
  seconds: number;
  /** CPU seconds of this process over the same span. */
  cpuSeconds: number;
  /** Multiplier from the measured settings to the full ones (1 when measured at full). */
  scale: number;
  note: string;
}

/** Reduced settings for resnet18 + IG re-explaining metrics, and the linear scale back. */
/** User + system CPU seconds of this process so far, all threads. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function reduced(
  model: string,
  method: string,
  metric: MetricDefinition<CommonParams>,
  fullSettings: boolean,
): { images: number; nSteps: number; params: Record<string, unknown>; scale: number } | undefined {
  if (model !== "resnet18" || method !== "integrated_gradients") return undefined;
  if (!metric.needs.includes("explain")) return undefined;
  const full = metric.defaults as unknown as { nrSamples?: number };
  if (fullSettings) return { images: 1, nSteps: IG_FULL_STEPS, params: {}, scale: 1 };
  const nSteps = 8;
  const samples = full.nrSamples === undefined ? undefined : 2;
  const scale = (IG_FULL_STEPS / nSteps) * (samples ? full.nrSamples! / samples : 1);
  return { images: 1, nSteps, params: samples ? { nrSamples: samples } : {}, scale };
}

async function benchModel(
  name: string,
  sizePx: number,
  metricFilter: (m: MetricDefinition<CommonParams>) => boolean,
  methodNames: readonly string[] | undefined,
  fullSettings: boolean,
): Promise<Row[]> {
  const layers = buildModel(name, { numClasses: CLASSES, imgSizePx: sizePx, seed: 1 });
  const model = new MetricModel(layers);
  const random = new SeededRandom(7);
  const shape = [BATCH, sizePx, sizePx, 3] as const;
  const xNHWC = Float32Array.from(
    { length: BATCH * sizePx * sizePx * 3 },
    () => 2 * random.uniform() - 1,
  );
  const targets = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
  // A centred square as every image's "lesion", so localisation metrics have a mask.
  const masksNHW = Uint8Array.from({ length: BATCH * sizePx * sizePx }, (_, j) => {
    const p = j % (sizePx * sizePx), y = Math.floor(p / sizePx), x = p % sizePx;
    return Math.abs(y - sizePx / 2) < sizePx / 4 && Math.abs(x - sizePx / 2) < sizePx / 4 ? 1 : 0;
  });
  const rows: Row[] = [];
  const methods: [Explainer<ExplainerOptions>, string[] | undefined][] = [
    [GRADCAM, undefined],
    [INTEGRATED_GRADIENTS, [...QUANTUS_DEFAULT_METRICS]],
  ];
  try {
    for (const [explainer, only] of methods) {
      if (methodNames && !methodNames.includes(explainer.name)) continue;
      const metrics = METRICS.filter((m) => (!only || only.includes(m.name)) && metricFilter(m));
      if (metrics.length === 0) continue;
      const explain = explainerFunction(explainer);
      let start = performance.now();
      let cpuStart = cpuSeconds();
      const attributionsNHW = await explain(layers, xNHWC, shape, targets);
      rows.push({
        model: name,
        method: explainer.name,
        metric: "(explain the batch)",
        images: BATCH,
        seconds: (performance.now() - start) / 1000,
        cpuSeconds: cpuSeconds() - cpuStart,
        scale: 1,
        note: "",
      });
      const batch: MetricBatch = { xNHWC, shapeNHWC: shape, targets, attributionsNHW, masksNHW };
      for (const metric of metrics) {
        const small = reduced(name, explainer.name, metric, fullSettings);
        const images = small?.images ?? BATCH;
        const pixels = sizePx * sizePx;
        const part: MetricBatch = small
          ? {
            xNHWC: xNHWC.subarray(0, images * pixels * 3),
            shapeNHWC: [images, sizePx, sizePx, 3],
            targets: targets.subarray(0, images),
            attributionsNHW: attributionsNHW.subarray(0, images * pixels),
            masksNHW: masksNHW.subarray(0, images * pixels),
          }
          : batch;
        const context = {
          model,
          explain: small ? explainerFunction(explainer, { nSteps: small.nSteps }) : explain,
          draws: new SeededDraws(3),
        };
        start = performance.now();
        cpuStart = cpuSeconds();
        await metric.evaluate(context, part, { ...metric.defaults, ...small?.params });
        const seconds = (performance.now() - start) / 1000;
        const cpu = cpuSeconds() - cpuStart;
        const note = small?.scale === 1
          ? "1 image, full settings"
          : small
          ? `1 image, IG nSteps ${small.nSteps}` +
            ("nrSamples" in small.params ? `, nrSamples ${small.params.nrSamples}` : "") +
            `; x${small.scale.toFixed(2)} to full settings`
          : "";
        rows.push({
          model: name,
          method: explainer.name,
          metric: metric.name,
          images,
          seconds,
          cpuSeconds: cpu,
          scale: small?.scale ?? 1,
          note,
        });
        console.error(
          `${name} ${explainer.name} ${metric.name}: ${seconds.toFixed(2)} s (CPU ${
            cpu.toFixed(2)
          } s)`,
        );
      }
    }
  } finally {
    model.dispose();
    layers.dispose();
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    "| model | method | metric | s/image | images/s | CPU s/image | Quantus s/image | " +
    "speed-up (CPU) | note |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const perImage = (r.seconds * r.scale) / r.images;
    const cpuPerImage = (r.cpuSeconds * r.scale) / r.images;
    const quantus = r.model === "resnet18" ? QUANTUS_SECONDS[r.method]?.[r.metric] : undefined;
    lines.push(
      `| ${r.model} | ${r.method} | ${r.metric} | ${perImage.toPrecision(3)} | ` +
        `${(1 / perImage).toPrecision(3)} | ${cpuPerImage.toPrecision(3)} | ${quantus ?? ""} | ` +
        `${
          quantus
            ? `${(quantus / perImage).toFixed(2)}x (${(quantus / cpuPerImage).toFixed(2)}x)`
            : ""
        } | ${r.note} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string" },
      metrics: { type: "string" },
      methods: { type: "string" },
      convolutions: { type: "string", default: "openblas" },
      full: { type: "boolean", default: false },
      backend: { type: "string", default: "wasm" },
    },
  });
  const backend = backendName(values.backend, "bench/metrics_bench.ts: --backend");
  const models = (values.models ?? "ecgnet,resnet18").split(",");
  const wanted = values.metrics?.split(",");
  const filter = (m: MetricDefinition<CommonParams>) => !wanted || wanted.includes(m.name);
  const choice = await startBackend(backend, { openBlas: values.convolutions === "openblas" });
  console.error(`tfjs ${tf.version.tfjs}, ${describeBackend(choice)}`);
  const rows: Row[] = [];
  for (const name of models) {
    rows.push(
      ...await benchModel(
        name,
        name === "ecgnet" ? 128 : 224,
        filter,
        values.methods?.split(","),
        values.full,
      ),
    );
  }
  console.log(table(rows));
}
