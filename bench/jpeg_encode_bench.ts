/**
 * Our JPEG encoder (`data/jpeg_file.ts`) against jpeg-js 0.4.4 on the same rendered report
 * pages, interleaved in one process so both see the same machine state: per page, ours then
 * jpeg-js, each at the page's own quality, after one warm-up round. Prints the median ms of
 * each, the speed ratio, and the mean absolute error per RGB channel of each after decoding
 * with jpeg-js (ours is 4:2:0, jpeg-js 4:4:4). The generator's target: about 10 ms per 640 px
 * page, at least 2.5x faster than jpeg-js.
 *
 * Run: `deno run --allow-read=. bench/jpeg_encode_bench.ts [--pages 10] [--width 640]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { jpeg } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { encodeRgbaJpeg } from "../data/jpeg_file.ts";
import type { RgbaImage } from "../data/image.ts";
import { SYNTH_CLASSES } from "../data/synth/beat_model.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";

const { values: flags } = parseArgs({
  options: { pages: { type: "string", default: "10" }, width: { type: "string", default: "640" } },
});
const root = new SeededRandom(2024);
const pages = Array.from({ length: Number(flags.pages) }, (_, i) => {
  const className = SYNTH_CLASSES[i % SYNTH_CLASSES.length];
  return renderSyntheticReport(className, root.fork(`bench/${className}/${i}`), {
    widthPx: Number(flags.width),
  });
});

const encoders = {
  ours: (image: RgbaImage, quality: number) => encodeRgbaJpeg(image, quality),
  "jpeg-js": (image: RgbaImage, quality: number) =>
    jpeg.encode({ data: image.data, width: image.widthPx, height: image.heightPx }, quality)
      .data as Uint8Array,
};
type Name = keyof typeof encoders;
const names = Object.keys(encoders) as Name[];
const ms: Record<Name, number[]> = { ours: [], "jpeg-js": [] };
const errors: Record<Name, number[]> = { ours: [], "jpeg-js": [] };

for (let round = 0; round < 2; round++) {
  for (const { image, meta } of pages) {
    for (const name of names) {
      const start = performance.now();
      const bytes = encoders[name](image, meta.jpegQuality);
      if (round === 0) continue; // warm-up
      ms[name].push(performance.now() - start);
      const decoded = jpeg.decode(bytes, { useTArray: true }).data;
      let sum = 0;
      for (let i = 0; i < image.data.length; i++) {
        if ((i & 3) !== 3) sum += Math.abs(decoded[i] - image.data[i]);
      }
      errors[name].push(sum / (image.widthPx * image.heightPx * 3));
    }
  }
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const { widthPx, heightPx } = pages[0].image;
console.log(`${pages.length} pages of ${widthPx} x ${heightPx} px, median ms per encode:`);
for (const name of names) {
  console.log(
    `  ${name}: ${median(ms[name]).toFixed(1)} ms, MAE ${mean(errors[name]).toFixed(3)} levels`,
  );
}
console.log(`ratio jpeg-js / ours: ${(median(ms["jpeg-js"]) / median(ms.ours)).toFixed(2)}x`);
