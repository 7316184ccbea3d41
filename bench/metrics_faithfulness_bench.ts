/**
 * Speed of the perturbation-based faithfulness metrics on the wasm backend: each metric with its
 * defaults (IROF on its grid segmentation) on ecgnet at 128 px (the demo model and size), a batch
 * of 8 images with random weights, inputs and maps (speed does not depend on their values); and
 * ROAD's noisy linear imputation alone on one 224 px RGB image.
 *
 * Run: `deno bench --allow-read=. bench/metrics_faithfulness_bench.ts`.
 * Images/s = 8000 / the reported mean ms for the metrics.
 *
 * @module
 */
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { SeededDraws } from "../metrics/functions/draws.ts";
import { FAITHFULNESS_ESTIMATE } from "../metrics/faithfulness/faithfulness_estimate.ts";
import { IROF } from "../metrics/faithfulness/irof.ts";
import type { MetricDefinition } from "../metrics/metric.ts";
import { MetricModel } from "../metrics/metric_model.ts";
import { MONOTONICITY_ARYA } from "../metrics/faithfulness/monotonicity_arya.ts";
import { MONOTONICITY_NGUYEN } from "../metrics/faithfulness/monotonicity_nguyen.ts";
import { noisyLinearImputation } from "../metrics/faithfulness/noisy_linear_imputation.ts";
import { PIXEL_FLIPPING } from "../metrics/faithfulness/pixel_flipping.ts";
import { REGION_PERTURBATION } from "../metrics/faithfulness/region_perturbation.ts";
import { ROAD } from "../metrics/faithfulness/road.ts";
import { SELECTIVITY } from "../metrics/faithfulness/selectivity.ts";
import { SUFFICIENCY } from "../metrics/faithfulness/sufficiency.ts";

await startBackend("wasm");

const N = 8, SIZE_PX = 128;
const model = new MetricModel(buildModel("ecgnet", { numClasses: 4, imgSizePx: SIZE_PX, seed: 1 }));
const draws = new SeededDraws(1);
const batch = {
  xNHWC: Float32Array.from(draws.uniform(0, 1, N * SIZE_PX * SIZE_PX * 3)),
  shapeNHWC: [N, SIZE_PX, SIZE_PX, 3] as const,
  targets: Int32Array.from({ length: N }, (_, i) => i % 4),
  attributionsNHW: Float32Array.from(draws.uniform(-1, 1, N * SIZE_PX * SIZE_PX)),
};

// deno-lint-ignore no-explicit-any
const metrics: MetricDefinition<any>[] = [
  PIXEL_FLIPPING,
  REGION_PERTURBATION,
  SELECTIVITY,
  IROF,
  FAITHFULNESS_ESTIMATE,
  MONOTONICITY_NGUYEN,
  MONOTONICITY_ARYA,
  ROAD,
  SUFFICIENCY,
];
for (const metric of metrics) {
  Deno.bench({
    name: `${metric.name}, defaults, ${N} x ${SIZE_PX} px ecgnet, wasm`,
    group: "metrics",
    // One run takes 10 s to minutes on our machines; one sample each.
    n: 1,
    warmup: 0,
    async fn() {
      // IROF on the grid: SLIC on random pixels gives a content-dependent handful of segments.
      const params = metric === IROF
        ? { ...metric.defaults, segmentation: "grid" }
        : metric.defaults;
      await metric.evaluate({ model, draws: new SeededDraws(2) }, batch, params);
    },
  });
}

const IMPUTE_PX = 224;
const image = Float32Array.from(draws.uniform(0, 1, IMPUTE_PX * IMPUTE_PX * 3));
const order = draws.choiceWithoutReplacement(IMPUTE_PX * IMPUTE_PX, IMPUTE_PX * IMPUTE_PX);
for (const percent of [10, 50, 90]) {
  const removed = order.subarray(0, Math.trunc((IMPUTE_PX * IMPUTE_PX * percent) / 100));
  Deno.bench({
    name: `noisy linear imputation, ${percent} % of 224 x 224 x 3`,
    group: "imputation",
    n: 3,
    warmup: 1,
    fn() {
      noisyLinearImputation(image, IMPUTE_PX, IMPUTE_PX, 3, removed, 0.01, draws);
    },
  });
}
