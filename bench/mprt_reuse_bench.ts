/**
 * MPRT with Grad-CAM, re-explaining every randomised layer from scratch vs reusing the unchanged
 * model's activations below the randomised layers (`ForwardCache`): ecgnet at 128 px (batch 8)
 * and resnet18 at 224 px (one image), wasm, untrained weights.
 *
 * Run: `deno bench --allow-read=. bench/mprt_reuse_bench.ts`.
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
import { MPRT } from "../metrics/randomisation/mprt.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";

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
