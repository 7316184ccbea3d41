/**
 * Synthetic report generator speed at 640 px: render (image + mask) and encode (JPEG +
 * PNG), one image per iteration, cycling through the classes. The target is 20 images/s
 * on one core, i.e. under 50 ms per iteration.
 *
 * Run: `deno bench --allow-read --allow-write bench/synth_bench.ts`
 *
 * @module
 */
import { SeededRandom } from "../core/random.ts";
import { SYNTH_CLASSES } from "../data/synth/beat_model.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";
import {
  encodeMaskPng,
  encodeReportJpeg,
  writeSyntheticDataset,
} from "../data/synth/synthetic_dataset.ts";

const root = new SeededRandom(2024);
let index = 0;

function nextReport() {
  const className = SYNTH_CLASSES[index % SYNTH_CLASSES.length];
  return renderSyntheticReport(className, root.fork(`bench/${className}/${index++}`), {
    widthPx: 640,
  });
}

Deno.bench("synthetic report 640 px: render + JPEG + mask PNG", { baseline: true }, () => {
  const report = nextReport();
  encodeReportJpeg(report.image, report.meta.jpegQuality);
  encodeMaskPng(report.mask);
});

Deno.bench("synthetic report 640 px: render only (image + mask)", () => {
  nextReport();
});

Deno.bench("synthetic data set: write 8 images at 640 px (with file I/O)", async () => {
  await Deno.mkdir("outputs/tmp", { recursive: true });
  const outDir = await Deno.makeTempDir({ dir: "outputs/tmp", prefix: "synth_bench_" });
  await writeSyntheticDataset({ outDir, perClass: 2, seed: index++ });
  await Deno.remove(outDir, { recursive: true });
});
