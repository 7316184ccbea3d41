/**
 * LIME and Occlusion, one image per iteration, on wasm: ecgnet at 128 px (LIME-800, Occlusion
 * with Captum-tutorial windows 15 x 15, stride 8) and resnet18 at 224 px. The image is a
 * synthetic ECG report, grey, resized and normalised as the pipeline does it.
 *
 * resnet18 at 224 px runs LIME with 80 samples and Occlusion with stride 16 (197 forward
 * passes) to keep the bench short; per-image figures for LIME-800 and stride 8 (785 passes)
 * are extrapolated from them in BENCHMARKS.md, with quickshift's time measured on its own.
 * Each iteration also prints its process CPU seconds (`process.cpuUsage`), which a machine
 * shared with other jobs inflates less than wall time.
 *
 * Run: `deno bench --allow-read=. bench/lime_bench.ts`. Issue 4's target: LIME-800 on
 * resnet18 at 224 px at least as fast as lime on PyTorch CPU, 30.7 s per image on one thread.
 *
 * @module
 */
import process from "node:process";
import { tf } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { rgbaToGray } from "../data/grayscale.ts";
import { IMAGENET_MEAN, IMAGENET_STD, toNormalizedHWC } from "../data/preprocess.ts";
import { resizeGray } from "../data/resize.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { LIME } from "../xai/perturbation/lime.ts";
import { OCCLUSION } from "../xai/perturbation/occlusion.ts";
import { quickshiftSegments } from "../xai/perturbation/segmentation/quickshift.ts";

await startBackend("wasm");

const report = renderSyntheticReport("MI", new SeededRandom(7).fork("bench"), { widthPx: 640 });
const gray = rgbaToGray(report.image);

function reportNHWC(sizePx: number): tf.Tensor4D {
  const x = toNormalizedHWC(resizeGray(gray, sizePx, sizePx));
  return tf.tensor4d(x, [1, sizePx, sizePx, 3]);
}

/** Runs `fn` and prints its process CPU seconds. */
async function timed(label: string, fn: () => Promise<unknown> | void): Promise<void> {
  const before = process.cpuUsage();
  const start = performance.now();
  await fn();
  const cpu = process.cpuUsage(before);
  console.log(
    `${label}: wall ${((performance.now() - start) / 1000).toFixed(2)} s, ` +
      `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
  );
}

const target = Int32Array.of(0);
// Deno awaits only `async` bench functions; a plain one returning a promise would start
// hundreds of overlapping runs.
const runs = { n: 1, warmup: 0 };

{
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 128, seed: 1 });
  const x = reportNHWC(128);
  const group = "ecgnet 128 px, one image";
  Deno.bench(
    { ...runs, group, name: "ecgnet LIME-800 (quickshift)", baseline: true },
    async () => await timed("ecgnet LIME-800", () => LIME.explain(model, x, target)),
  );
  Deno.bench(
    { ...runs, group, name: "ecgnet Occlusion 15x15 stride 8 (257 passes)" },
    async () => await timed("ecgnet occlusion stride 8", () => OCCLUSION.explain(model, x, target)),
  );
}

{
  const model = buildModel("resnet18", { numClasses: 4, imgSizePx: 224, seed: 1 });
  const x = reportNHWC(224);
  const rgb = (await x.data()).map((v, i) => v * IMAGENET_STD[i % 3] + IMAGENET_MEAN[i % 3]);
  const group = "resnet18 224 px, one image";
  Deno.bench(
    { ...runs, group, name: "quickshift 224 px (lime's parameters)" },
    async () =>
      await timed("quickshift 224", () => {
        const s = quickshiftSegments(rgb as Float32Array, 224, 224, new SeededRandom(0));
        console.log(`quickshift 224: ${s.count} superpixels`);
      }),
  );
  Deno.bench(
    { ...runs, group, name: "resnet18 LIME-80 (quickshift)", baseline: true },
    async () =>
      await timed("resnet18 LIME-80", () => LIME.explain(model, x, target, { numSamples: 80 })),
  );
  Deno.bench(
    { ...runs, group, name: "resnet18 Occlusion 15x15 stride 16 (197 passes)" },
    async () =>
      await timed(
        "resnet18 occlusion stride 16",
        () => OCCLUSION.explain(model, x, target, { strides: 16 }),
      ),
  );
}
