/**
 * What `deno task meta` costs (issue 17 §3): per architecture x metric, the seconds per image of
 * one meta-evaluation batch (`metaBatchHandler`: Q*, then the four tests' iterations x
 * perturbations) on `--images` random images (default 2) at `--size` px (224) with random
 * weights, and the cost of the test split (`--test-images`, 144) per metric. Flags: `--models`
 * (ecgnet,resnet18), `--metrics` (faithfulness_correlation,max_sensitivity,mprt), `--methods`
 * (the stage's defaults), `--iterations` and `--perturbations` (the paper's 3 and 5).
 *
 * Run it on a quiet machine; for a quick check that it works:
 * `deno run --allow-read=. --allow-ffi bench/meta_cost.ts --models ecgnet --metrics sparseness --size 32 --images 1 --iterations 1 --perturbations 1`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startBackend } from "../backends/backend.ts";
import { META_DEFAULTS } from "../metrics/meta/perturbation_tests.ts";
import { getMetric } from "../metrics/registry.ts";
import { buildModel } from "../models/registry.ts";
import { metaBatchHandler } from "../runs/meta_batch.ts";
import { META_DEFAULT_METHODS } from "../stages/meta.ts";
import { QUANTUS_DEFAULT_METRICS } from "../stages/quantus.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "ecgnet,resnet18" },
    metrics: { type: "string", default: QUANTUS_DEFAULT_METRICS.join(",") },
    methods: { type: "string", default: META_DEFAULT_METHODS.join(",") },
    images: { type: "string", default: "2" },
    size: { type: "string", default: "224" },
    iterations: { type: "string", default: String(META_DEFAULTS.iterations) },
    perturbations: { type: "string", default: String(META_DEFAULTS.perturbations) },
    "test-images": { type: "string", default: "144" },
  },
});
const [images, size, testImages] = [values.images, values.size, values["test-images"]].map(Number);
const settings = {
  ...META_DEFAULTS,
  iterations: Number(values.iterations),
  perturbations: Number(values.perturbations),
};
const methods = values.methods.split(",");
await startBackend("wasm");
console.log(
  `${images} image(s) of ${size} px, methods ${methods.join(",")}, ` +
    `${settings.iterations} iteration(s) x ${settings.perturbations} perturbation(s)`,
);
console.log("model\tmetric\ts/image\ttest split (h)");
for (const name of values.models.split(",")) {
  const model = buildModel(name, { numClasses: 4, imgSizePx: size, seed: 1 });
  const handler = metaBatchHandler(model);
  const xNHWC = Float32Array.from({ length: images * size * size * 3 }, (_, j) => (j % 97) / 97);
  for (const metric of values.metrics.split(",")) {
    const start = performance.now();
    await handler.run({
      checkpoint: "random weights",
      backend: "wasm",
      openBlas: false,
      method: metric,
      params: getMetric(metric).defaults,
      methods,
      imageIds: Array.from({ length: images }, (_, i) => `image${i}`),
      settings,
      seeds: { noise: 1, draws: 2 },
      xNHWC,
      shapeNHWC: [images, size, size, 3],
      targets: new Int32Array(images),
    });
    const perImage = (performance.now() - start) / 1000 / images;
    console.log(
      `${name}\t${metric}\t${perImage.toFixed(2)}\t${(perImage * testImages / 3600).toFixed(2)}`,
    );
  }
  handler.dispose();
  model.dispose();
}
