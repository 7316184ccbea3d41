/**
 * The first convolution's filters as pictures: each output channel's kernel, min-max scaled
 * on its own (so weak filters stay visible) and magnified, its input channels as RGB.
 *
 * @module
 */
import type { tf } from "../../deps.ts";
import type { RgbaImage } from "../../data/image.ts";
import { topologicalNodes } from "../../graph/graph.ts";
import { magnifyNearest } from "./canvas.ts";
import { chunkRows, tileGrid } from "./tile_grid.ts";

/** Side of one kernel tap in a filter tile, in pixels. */
export const FILTER_TAP_PX = 24;

const CONV_CLASSES = new Set(["Conv2D", "DepthwiseConv2D"]);

/**
 * The convolution the input reaches first (graph order), or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { firstConvLayer } from "./filter_grid.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const y = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: "c" }).apply(x) as tf.SymbolicTensor;
 * assert(firstConvLayer(tf.model({ inputs: x, outputs: y }))?.name === "c");
 * ```
 */
export function firstConvLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  return topologicalNodes(model)
    .map((node) => node.outboundLayer)
    .find((layer) => CONV_CLASSES.has(layer.getClassName()));
}

/**
 * One tile per output channel of a kernel in tfjs layout [kh, kw, in, out]: RGB when there are
 * three input channels, else their mean in grey; each tap `tapPx` square.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { filterTiles } from "./filter_grid.ts";
 * const kernel = new Float32Array(2 * 2 * 1 * 3).map((_, i) => i);
 * const tiles = filterTiles(kernel, [2, 2, 1, 3], 4);
 * assert(tiles.length === 3 && tiles[0].widthPx === 8 && tiles[0].data[0] === 0);
 * ```
 */
export function filterTiles(
  kernelHWIO: Float32Array,
  shape: readonly [number, number, number, number],
  tapPx: number = FILTER_TAP_PX,
): RgbaImage[] {
  const [kh, kw, cin, cout] = shape;
  const at = (y: number, x: number, i: number, o: number) =>
    kernelHWIO[((y * kw + x) * cin + i) * cout + o];
  const tiles: RgbaImage[] = [];
  for (let o = 0; o < cout; o++) {
    let low = Infinity, high = -Infinity;
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < cin; i++) {
          low = Math.min(low, at(y, x, i, o));
          high = Math.max(high, at(y, x, i, o));
        }
      }
    }
    const scale = high > low ? 255 / (high - low) : 0;
    const byte = (v: number) => Math.round((v - low) * scale);
    const data = new Uint8Array(kh * kw * 4);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const p = (y * kw + x) * 4;
        for (let c = 0; c < 3; c++) {
          data[p + c] = cin === 3 ? byte(at(y, x, c, o)) : byte(
            Array.from({ length: cin }, (_, i) => at(y, x, i, o)).reduce((a, b) => a + b) /
              cin,
          );
        }
        data[p + 3] = 255;
      }
    }
    tiles.push(magnifyNearest({ widthPx: kw, heightPx: kh, data }, tapPx));
  }
  return tiles;
}

/**
 * The figure of a model's first convolution: a near-square grid with one numbered tile per
 * filter; `tiles` says where each went.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { filterGridFigure } from "./filter_grid.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [8, 8, 3] });
 * const y = tf.layers.conv2d({ filters: 5, kernelSize: 3 }).apply(x) as tf.SymbolicTensor;
 * const figure = await filterGridFigure(tf.model({ inputs: x, outputs: y }), "tiny");
 * assert(figure?.tiles.length === 5);
 * ```
 */
export async function filterGridFigure(
  model: tf.LayersModel,
  modelName: string,
): Promise<ReturnType<typeof tileGrid> | undefined> {
  const layer = firstConvLayer(model);
  if (!layer) return undefined;
  const kernel = layer.getWeights()[0];
  const shape = kernel.shape as [number, number, number, number];
  // `data()`, not `dataSync()`: the latter throws for GPU-resident tensors on webgpu under Deno.
  const tiles = filterTiles(await kernel.data() as Float32Array, shape);
  const [kh, kw, cin, cout] = shape;
  return tileGrid({
    title: [
      `${modelName}: first convolution ${layer.name}`,
      `${cout} filters of ${kh} x ${kw} x ${cin}, each scaled to its own min..max`,
    ],
    rows: chunkRows(
      tiles.map((image, i) => ({ image, pixelated: true, caption: [String(i)] })),
      Math.ceil(Math.sqrt(cout)),
    ),
  });
}
