/**
 * Forward-pass speed on the wasm backend, batch of 8: the torchvision architectures at 224 px
 * (the reference's size), ecgnet at 128 px (its demo size). Inference mode, random weights
 * (speed does not depend on their values). resnet18 and mobilenet_v2 run a second time with
 * their BatchNorms folded into the convolutions, as `predictLogits` does.
 *
 * Run: `deno task bench` (or `deno bench --allow-read=.,../shared --allow-write=outputs
 * bench/models_bench.ts`). Images/s = 8000 / the reported mean ms.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { foldBatchNorm } from "../graph/fold_batchnorm.ts";
import { buildModel } from "../models/registry.ts";

const BATCH = 8;
const CASES = [
  { arch: "resnet18", imgSizePx: 224 },
  { arch: "mobilenet_v2", imgSizePx: 224 },
  { arch: "densenet121", imgSizePx: 224 },
  { arch: "densenet169", imgSizePx: 224 },
  { arch: "vgg16_bn", imgSizePx: 224 },
  { arch: "efficientnet_b0", imgSizePx: 224 },
  { arch: "efficientnet_b1", imgSizePx: 224 },
  { arch: "ecgnet", imgSizePx: 128 },
] as const;
const FOLDED = new Set<string>(["resnet18", "mobilenet_v2"]);

await startBackend("wasm");

for (const { arch, imgSizePx } of CASES) {
  const model = buildModel(arch, { numClasses: 4, imgSizePx, seed: 1 });
  const batch = tf.randomNormal([BATCH, imgSizePx, imgSizePx, 3], 0, 1, "float32", 1);
  const variants = FOLDED.has(arch)
    ? [["forward", model], ["forward (BatchNorm folded)", foldBatchNorm(model)]] as const
    : [["forward", model]] as const;
  for (const [what, variant] of variants) {
    Deno.bench({
      name: `${arch} ${what}, ${BATCH} x ${imgSizePx} px, wasm`,
      group: "forward",
      // Each resnet18 iteration takes about a second (vgg16_bn several): a few samples suffice.
      n: 10,
      warmup: 2,
      async fn() {
        const logits = variant.predict(batch) as tf.Tensor;
        await logits.data();
        logits.dispose();
      },
    });
  }
}
