/**
 * MPRT with Grad-CAM, re-explaining every randomised layer from scratch vs reusing the unchanged
 * model's activations below the randomised layers (`ForwardCache`): ecgnet at 128 px (batch 8)
 * and resnet18 at 224 px (one image), wasm, untrained weights. Then MPRT with Integrated
 * Gradients (50 steps) on resnet18 at 224 px, one image: recomputing, keeping the path rows'
 * values (`ForwardCache.rows`; at the default heap budget 32 of the 50 rows, see
 * `bench/mprt_passes.ts`), and EfficientMPRT, the fast alternative, with the same explainer.
 * The IG group takes minutes per run; `--filter IG` runs it alone.
 *
 * Run: `deno bench --allow-read=. --allow-ffi bench/mprt_reuse_bench.ts`.
 *
 * @module
 */
import { SeededRandom } from "../core/random.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { explainerFunction } from "../metrics/functions/explainer_function.ts";
import type { ExplainFunction } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { EFFICIENT_MPRT } from "../metrics/randomisation/efficient_mprt.ts";
import { MPRT } from "../metrics/randomisation/mprt.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { INTEGRATED_GRADIENTS } from "../xai/gradient/integrated_gradients.ts";

await startBackend("wasm");

for (const [name, sizePx, n] of [["ecgnet", 128, 8], ["resnet18", 224, 1]] as const) {
  const layers = buildModel(name, { numClasses: 4, imgSizePx: sizePx, seed: 1 });
  const model = new MetricModel(layers);
  const random = new SeededRandom(7);
  const xNHWC = Float32Array.from({ length: n * sizePx * sizePx * 3 }, () => random.uniform());
  const shape = [n, sizePx, sizePx, 3] as const;
  const targets = Int32Array.from({ length: n }, (_, i) => i % 4);
  const reusing = explainerFunction(GRADCAM);
  const recomputing: ExplainFunction = (m, x, s, t) => reusing(m, x, s, t);
  const batch = {
    xNHWC,
    shapeNHWC: shape,
    targets,
    attributionsNHW: await reusing(layers, xNHWC, shape, targets),
  };
  const group = `${name} ${sizePx} px, ${n} image(s), MPRT + Grad-CAM`;
  for (const [label, explain] of [["recompute", recomputing], ["reuse", reusing]] as const) {
    Deno.bench(
      { name: `${name} ${label}`, group, baseline: label === "recompute", n: 2, warmup: 1 },
      async () => {
        await MPRT.evaluate({ model, explain, draws: new SeededDraws(1) }, batch, MPRT.defaults);
      },
    );
  }
}

{
  const sizePx = 224;
  const layers = buildModel("resnet18", { numClasses: 4, imgSizePx: sizePx, seed: 1 });
  const model = new MetricModel(layers);
  const random = new SeededRandom(7);
  const xNHWC = Float32Array.from({ length: sizePx * sizePx * 3 }, () => random.uniform());
  const shape = [1, sizePx, sizePx, 3] as const;
  const targets = Int32Array.of(1);
  const keeping = explainerFunction(INTEGRATED_GRADIENTS, { nSteps: 50 });
  const recomputing: ExplainFunction = (m, x, s, t) => keeping(m, x, s, t);
  const batch = {
    xNHWC,
    shapeNHWC: shape,
    targets,
    attributionsNHW: await keeping(layers, xNHWC, shape, targets),
  };
  const group = "resnet18 224 px, 1 image, MPRT + IG-50";
  const context = (explain: ExplainFunction) => ({ model, explain, draws: new SeededDraws(1) });
  const runs = {
    "mprt recompute": () => MPRT.evaluate(context(recomputing), batch, MPRT.defaults),
    "mprt keep path rows": () => MPRT.evaluate(context(keeping), batch, MPRT.defaults),
    "efficient_mprt": () =>
      EFFICIENT_MPRT.evaluate(context(keeping), batch, EFFICIENT_MPRT.defaults),
  };
  for (const [label, run] of Object.entries(runs)) {
    Deno.bench(
      {
        name: `resnet18 IG ${label}`,
        group,
        baseline: label === "mprt recompute",
        n: 1,
        warmup: 0,
      },
      async () => {
        await run();
      },
    );
  }
}
