/**
 * The shapes of image batches, named by their axes, shared by every room that passes flat
 * `Float32Array`s with a shape beside them (explainers, metrics, kernels and their references).
 *
 * The arrays are channels-last and row-major: value (i, y, x, ch) of an NHWC batch lies at
 * `((i · H + y) · W + x) · C + ch`. The tuples are readonly because a shape describes data it
 * does not own; tfjs wants a mutable copy (`tf.tensor4d(values, [...shapeNHWC])`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import type { ShapeNHW, ShapeNHWC, SizeHW } from "./shapes.ts";
 * const shapeNHWC: ShapeNHWC = [8, 224, 224, 3];
 * const [n, h, w] = shapeNHWC;
 * const shapeNHW: ShapeNHW = [n, h, w];
 * const sizePx: SizeHW = [h, w];
 * assert(shapeNHWC.reduce((a, b) => a * b, 1) === 8 * 224 * 224 * 3);
 * assert(shapeNHW.join() === "8,224,224" && sizePx[1] === 224);
 * ```
 *
 * @module
 */

/** [N, H, W, C] of an NHWC batch: images, height, width, channels. */
export type ShapeNHWC = readonly [n: number, h: number, w: number, c: number];

/** [N, H, W] of a batch of one-channel maps (attributions, CAM layer maps). */
export type ShapeNHW = readonly [n: number, h: number, w: number];

/** [H, W] in pixels of an image or a map (an output size). */
export type SizeHW = readonly [h: number, w: number];
