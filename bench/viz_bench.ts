/**
 * Speed of the viz stage's parts: a thumbnail of a full-size scan, the pixel grid at 224 px,
 * a 6 x 5 heatmap grid, a UMAP of 150 x 256 features (ecgnet's width, a test split's size) and
 * its scatter plot, and resvg drawing a large figure's SVG to PNG.
 *
 * Run: `deno bench --allow-read=.,../shared --allow-write=outputs bench/viz_bench.ts`. The
 * thumbnail case needs `../shared/data` and is skipped without it.
 *
 * @module
 */
import { SeededRandom } from "../core/random.ts";
import { decodeImage } from "../data/decode_image.ts";
import { filledImage } from "../data/synth/raster.ts";
import { fitWithin } from "../plots/figures/canvas.ts";
import { heatmapGridFigure } from "../plots/figures/explanation_grids.ts";
import { pixelGridFigure } from "../plots/figures/pixel_grid.ts";
import { svgToPng } from "../svg/rasterise.ts";
import { scatterPlot } from "../plots/figures/scatter.ts";
import { umapEmbedding } from "../plots/figures/umap_embedding.ts";
import { THUMBNAIL_BOX_PX } from "../stages/viz.ts";

const FULLRES = "../shared/data/ecg-images-fullres/MI/MI(1).jpg";
const fullres = await Deno.readFile(FULLRES).catch(() => undefined);
if (fullres === undefined) console.warn(`viz_bench: thumbnail case skipped, ${FULLRES} absent`);
const scan = fullres && decodeImage(fullres, FULLRES);

Deno.bench({
  name: "thumbnail of a 2213 x 1572 scan (fit within 420 x 300)",
  ignore: scan === undefined,
  fn: () => {
    fitWithin(scan!, THUMBNAIL_BOX_PX.widthPx, THUMBNAIL_BOX_PX.heightPx);
  },
});

const random = new SeededRandom(1);
const gray = {
  widthPx: 224,
  heightPx: 224,
  data: Uint8Array.from({ length: 224 * 224 }, () => Math.floor(random.uniform() * 256)),
};
Deno.bench("pixel grid figure, 224 px input", () => {
  pixelGridFigure(gray, "test/MI/x");
});

const thumb = filledImage(420, 298, [200, 200, 200]);
const images = Array.from({ length: 6 }, (_, i) => ({
  id: `test/MI/MI(${i})`,
  file: "x.jpg",
  trueClass: "MI",
  predictedClass: "MI",
  probability: 0.9,
  input: thumb,
  overlays: [thumb, thumb, thumb, thumb],
  scales: [0, 1, 2, 3].map(() => ({ colormap: "RdBu_r" as const, low: -1, high: 1 })),
}));
const methods = ["gradcam", "gradcam_plus_plus", "integrated_gradients", "saliency"];
const grid = heatmapGridFigure("ecgnet", methods, images, "six images");
Deno.bench("heatmap grid figure, 6 images x (input + 4 methods)", () => {
  heatmapGridFigure("ecgnet", methods, images, "six images");
});
Deno.bench(`PNG of that grid's SVG (${grid.widthPx} x ${grid.heightPx}, resvg)`, async () => {
  await svgToPng(grid.svg, { scale: 1 });
});

const n = 150, width = 256;
const features = Float32Array.from(
  { length: n * width },
  (_, i) => random.normal() + (Math.floor(i / width) % 4),
);
Deno.bench("UMAP 150 x 256 -> 2-D (500 epochs)", () => {
  umapEmbedding(features, n, new SeededRandom(42));
});
const points = umapEmbedding(features, n, new SeededRandom(42));
Deno.bench("scatter plot of 150 points, 4 classes", () => {
  scatterPlot({
    pointsN2: points,
    classIndex: Array.from({ length: n }, (_, i) => i % 4),
    classNames: ["Abnormal", "HistoryMI", "MI", "Normal"],
    title: ["ecgnet: UMAP", "details"],
  });
});
