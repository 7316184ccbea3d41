/**
 * What every architecture file provides to the registry, so that a new family (densenet,
 * vgg16_bn, efficientnet) is one file exporting its {@link ArchitectureSpec}s plus one line in
 * `registry.ts`.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { INPUT_CHANNELS } from "../data/preprocess.ts";

/** How to build a network. */
export interface BuildOptions {
  /** Size of the replaced classification head (4 for the ECG classes). */
  numClasses: number;
  /** Input height = width in pixels; inputs are NHWC [N, imgSizePx, imgSizePx, 3]. */
  imgSizePx: number;
  /** Makes the initial weights reproducible; unseeded when left out. */
  seed?: number;
}

/** One buildable architecture. */
export interface ArchitectureSpec {
  /** The torchvision builder's name (`resnet18`), or our own (`ecgnet`). */
  readonly name: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** torch module path of the classifier layer replaced for `numClasses` (`fc`, `classifier.1`). */
  readonly headModule: string;
  /** The input size the network was designed for. */
  readonly defaultImgSizePx: number;
  /** The smallest input that still leaves one pixel after the last downsampling. */
  readonly minImgSizePx: number;
  /** Builds the network; called by `buildModel` after it has checked `options`. */
  readonly build: (options: BuildOptions) => tf.LayersModel;
}

/**
 * The model input: NHWC, the grey plane replicated into 3 channels as the reference does.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { modelInputNHWC } from "./architecture.ts";
 * assert(modelInputNHWC(64).shape.join() === ",64,64,3");
 * ```
 */
export function modelInputNHWC(imgSizePx: number): tf.SymbolicTensor {
  return tf.input({ shape: [imgSizePx, imgSizePx, INPUT_CHANNELS], name: "input" });
}
