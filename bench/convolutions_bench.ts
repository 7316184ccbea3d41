/**
 * resnet18's four 3 x 3 stride-1 convolution shapes at batch 8, 16 and 2, on OpenBLAS: the
 * shifted-taps or im2col layout (`conv2dByGemm`) against Winograd F(2x2, 3x3) and F(4x4, 3x3)
 * (`winogradConv2d`), on the same arrays in one wasm memory; the row `winogradTile` picks is
 * marked. Needs OpenBLAS and `--allow-ffi` for it; says so and skips without.
 *
 * Run: `deno bench --allow-read=. --allow-ffi bench/convolutions_bench.ts`
 *
 * @module
 */
import { tf } from "../deps.ts";
import { conv2dByGemm, gemmPlan, winogradTile } from "../backends/openblas/blas_conv2d.ts";
import { loadOpenBlas } from "../backends/openblas/openblas.ts";
import { winogradConv2d } from "../backends/openblas/winograd.ts";
import { bumpHeap } from "../backends/wasm/wasm_simd.ts";

const blas = loadOpenBlas();
if (!blas) console.log("convolutions_bench: no OpenBLAS (or no --allow-ffi for it): skipped");

/** `count` random floats on `heap`. */
function randomFloats(heap: ReturnType<typeof bumpHeap>, count: number): Float32Array {
  const view = heap.floats(count);
  for (let i = 0; i < count; i++) view[i] = Math.random() - 0.5;
  return view;
}

const SHAPES: [number, number][] = [[56, 64], [28, 128], [14, 256], [7, 512]];
/**
 * Batch 8 as before; 16 (Integrated Gradients' path rows) and 2, where `winogradTile`'s choices
 * were measured, to check them on a quiet machine.
 */
const BATCHES = [8, 16, 2];

if (blas) {
  // 1 GiB: the arrays and Winograd's work area.
  const heap = bumpHeap(16384);
  for (const batch of BATCHES) {
    for (const [sizePx, channels] of SHAPES) {
      const info = tf.backend_util.computeConv2DInfo(
        [batch, sizePx, sizePx, channels],
        [3, 3, channels, channels],
        1,
        1,
        "same",
      );
      const x = randomFloats(heap, batch * sizePx * sizePx * channels);
      const filter = randomFloats(heap, 9 * channels * channels);
      const out = heap.floats(batch * sizePx * sizePx * channels);
      const group = `batch ${batch}, ${sizePx} x ${sizePx} x ${channels} -> ${channels}`;
      Deno.bench({ group, name: gemmPlan(info), baseline: true, n: 5, warmup: 1 }, () => {
        conv2dByGemm(blas.sgemm, info, x, filter, out);
      });
      for (const m of [2, 4] as const) {
        const picked = winogradTile(info) === m ? " (picked)" : "";
        Deno.bench({ group, name: `winograd F(${m}x${m}, 3x3)${picked}`, n: 5, warmup: 1 }, () => {
          winogradConv2d(heap, blas.sgemm, info, x, filter, out, undefined, undefined, m);
        });
      }
    }
  }
}
