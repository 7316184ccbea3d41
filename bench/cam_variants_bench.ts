/**
 * ScoreCAM, LayerCAM, XGrad-CAM, HiResCAM and EigenCAM beside Grad-CAM on ecgnet at 128 px
 * (default layer, 4 x 4 x 256), wasm, one thread. Gradient methods and EigenCAM: batch 8;
 * ScoreCAM (one forward pass per non-constant channel of every image): batch 2.
 *
 * Run: `deno bench --allow-read=. bench/cam_variants_bench.ts`. images/s = batch · 1000 / mean ms.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import type { CamOptions } from "../xai/cam/cam.ts";
import { EIGENCAM } from "../xai/cam/eigencam.ts";
import type { Explainer } from "../xai/explainer.ts";
import { GRADCAM } from "../xai/cam/gradcam.ts";
import { HIRESCAM } from "../xai/cam/hirescam.ts";
import { LAYERCAM } from "../xai/cam/layercam.ts";
import { SCORECAM, type ScoreCamOptions } from "../xai/cam/scorecam.ts";
import { XGRADCAM } from "../xai/cam/xgradcam.ts";

const SIZE_PX = 128;
const CLASSES = 4;

await startBackend("wasm");
const model = buildModel("ecgnet", { numClasses: CLASSES, imgSizePx: SIZE_PX, seed: 1 });

function bench(
  explainer: Explainer<ScoreCamOptions>,
  batch: number,
  options: ScoreCamOptions = {},
) {
  const x = tf.randomUniform([batch, SIZE_PX, SIZE_PX, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const targets = Int32Array.from({ length: batch }, (_, i) => i % CLASSES);
  const extra = options.batchSize ? `, batchSize ${options.batchSize}` : "";
  Deno.bench({
    group: `ecgnet ${SIZE_PX} px`,
    name: `${explainer.name}, batch ${batch}${extra}`,
    baseline: explainer === GRADCAM,
    n: 3,
    warmup: 1,
  }, async () => {
    await explainer.explain(model, x, targets, options);
  });
}

for (
  const explainer of [GRADCAM, XGRADCAM, LAYERCAM, HIRESCAM, EIGENCAM] as Explainer<CamOptions>[]
) {
  bench(explainer, 8);
}
bench(SCORECAM, 2);
bench(SCORECAM, 2, { batchSize: 128 });
