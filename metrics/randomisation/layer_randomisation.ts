/**
 * Randomising a model's layers for the randomisation metrics (MPRT, SmoothMPRT, EfficientMPRT):
 * which layers have parameters, how a layer's parameters are re-initialised, and the cascade of
 * model states they all walk through.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { SeededRandom } from "../../core/random.ts";
import { cloneModel } from "../../models/clone_model.ts";
import { ForwardCache } from "../../graph/input_gradients.ts";

/** Replaces `layer`'s parameters, in place, with fresh ones drawn from `seed`. */
export type LayerRandomiser = (layer: tf.layers.Layer, seed: number) => void;

/**
 * The layers that have parameters, in the model's order (input to output): the modules Quantus
 * would reset.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { parameterisedLayers } from "./layer_randomisation.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const hidden = tf.layers.dense({ units: 3, name: "fc1" }).apply(input) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2, name: "fc2" }).apply(hidden) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * assert(parameterisedLayers(model).map((l) => l.name).join() === "fc1,fc2");
 * ```
 */
export function parameterisedLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((layer) => layer.weights.length > 0);
}

/**
 * Re-initialises a layer as PyTorch's `reset_parameters` does: kernels and biases uniform in
 * ±1/√fan_in (Kaiming-uniform with a = √5), BatchNorm scale 1, offset 0, running mean 0 and
 * variance 1. The values are drawn from the project's seeded generator, so they are
 * reproducible but not PyTorch's numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { torchLikeReset } from "./layer_randomisation.ts";
 * await tf.setBackend("cpu");
 * const layer = tf.layers.dense({ units: 2, inputShape: [4] });
 * tf.sequential({ layers: [layer] });
 * torchLikeReset(layer, 1);
 * const kernel = layer.getWeights()[0].dataSync();
 * assert(kernel.every((v) => Math.abs(v) <= 0.5) && new Set(kernel).size === 8);
 * ```
 */
export const torchLikeReset: LayerRandomiser = (layer, seed) => {
  const random = new SeededRandom(seed).fork(layer.name);
  const weights = layer.weights;
  const kernel = weights.find((w) => /kernel$/.test(w.originalName));
  // torch's fan_in: every kernel dimension but the output one; a depthwise kernel has one input
  // channel per group, so its channel axis does not count.
  const kernelShape = (kernel?.shape ?? [1]) as number[];
  const depthwise = kernel !== undefined && /depthwise_kernel$/.test(kernel.originalName);
  const fanIn = depthwise
    ? kernelShape.slice(0, -2).reduce((a, b) => a * b, 1)
    : kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  const fresh = weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const name = w.originalName;
    let values: Float32Array;
    if (/(gamma|moving_variance)$/.test(name)) values = new Float32Array(size).fill(1);
    else if (/(beta|moving_mean)$/.test(name)) values = new Float32Array(size);
    else values = Float32Array.from({ length: size }, () => (2 * random.uniform() - 1) * bound);
    return tf.tensor(values, shape);
  });
  layer.setWeights(fresh);
  tf.dispose(fresh);
};

/** One model state of {@link cascadingRandomisation}. */
export interface RandomisedState {
  /** The layer randomised last (every layer before it in the cascade is randomised too). */
  layer: string;
  /** The copy in this state; valid until the next state is asked for. */
  model: tf.LayersModel;
  /** The batch on the backend and the unchanged model's activations below the changed layers. */
  cache: ForwardCache;
  /** Whether this is the last state (every parameterised layer randomised). */
  last: boolean;
}

/** How {@link cascadingRandomisation} walks the layers. */
export interface CascadeOptions {
  /** `top_down`: from the output layer towards the input; `bottom_up`: from the input. */
  layerOrder: "top_down" | "bottom_up";
  /** Seed of the fresh parameters (every layer uses seed + 1, as Quantus reseeds before each). */
  seed: number;
  /** How a layer is re-initialised; {@link torchLikeReset} by default. */
  randomise?: LayerRandomiser;
}

/**
 * The model states of a cascading randomisation: a copy of `model` (the caller's is never
 * touched) with one more parameterised layer randomised per state, in `layerOrder`. Each state
 * comes with a {@link ForwardCache} of `xNHWC`: top-down, everything below the randomised layers
 * is still the original's, and explainers that can reuse those activations (Grad-CAM family) read
 * them instead of recomputing them. Everything is disposed when the loop ends or breaks.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { cascadingRandomisation } from "./layer_randomisation.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [1, 1, 1] });
 * const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
 * const hidden = tf.layers.dense({ units: 2, name: "fc1" }).apply(flat) as tf.SymbolicTensor;
 * const out = tf.layers.dense({ units: 2, name: "fc2" }).apply(hidden) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * const before = model.getWeights()[0].dataSync().join();
 * const seen: string[] = [];
 * const states = cascadingRandomisation(model, Float32Array.of(1), [1, 1, 1, 1], {
 *   layerOrder: "top_down",
 *   seed: 42,
 * });
 * for await (const state of states) seen.push(`${state.layer}${state.last ? " (last)" : ""}`);
 * assert(seen.join() === "fc2,fc1 (last)" && model.getWeights()[0].dataSync().join() === before);
 * ```
 */
export async function* cascadingRandomisation(
  model: tf.LayersModel,
  xNHWC: Float32Array,
  shapeNHWC: readonly [number, number, number, number],
  { layerOrder, seed, randomise = torchLikeReset }: CascadeOptions,
): AsyncGenerator<RandomisedState> {
  const copy = cloneModel(model);
  const cache = new ForwardCache(model, tf.tensor4d(xNHWC, [...shapeNHWC]));
  try {
    const layers = parameterisedLayers(copy);
    if (layerOrder === "top_down") layers.reverse();
    for (const [k, layer] of layers.entries()) {
      randomise(layer, seed + 1);
      cache.changedLayers.add(layer.name);
      yield { layer: layer.name, model: copy, cache, last: k === layers.length - 1 };
    }
  } finally {
    cache.dispose();
    cache.xNHWC.dispose();
    copy.dispose();
  }
}
