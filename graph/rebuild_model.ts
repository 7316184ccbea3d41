/**
 * Rebuilding a functional model layer by layer into a new one whose layers hold the given
 * weights without copying them: the base of independent copies (`models/clone_model.ts`) and of
 * BatchNorm folding (`graph/fold_batchnorm.ts`).
 *
 * A rebuilt layer's variables share the memory of the tensors they are given (tfjs variables
 * hold a reference, and a later `setWeights` or `assign` swaps in new memory rather than writing
 * into it), so a copy costs no weight memory until its weights are replaced. Building a layer
 * from its configuration would first allocate weights from its initializers, only to free them
 * when the real ones are set; on the wasm backend, whose heap never shrinks, those freed blocks
 * became holes: vgg16_bn (512 MB of weights, 392 MB of them one kernel) grew the heap to
 * 3,433 MB for 1,926 MB of tensors at most alive in a LIME cell of the grid (BENCHMARKS.md).
 *
 * @module
 */
import { tf } from "../deps.ts";
import { topologicalNodes } from "./graph.ts";

/** A layer class as tfjs' serialization registry sees it. */
type LayerClass = tf.serialization.SerializableConstructor<tf.layers.Layer> & {
  fromConfig(
    cls: tf.serialization.SerializableConstructor<tf.layers.Layer>,
    config: tf.serialization.ConfigDict,
  ): tf.layers.Layer;
};

/** What {@link rebuildModel} makes of one layer. */
export interface LayerRebuild {
  /** Drop the layer: its output becomes its one input. */
  passThrough?: boolean;
  /** Configuration fields that differ in the new layer. */
  overrides?: tf.serialization.ConfigDict;
  /**
   * The new layer's weights, in the order it creates them (default: the layer's own). They are
   * shared, not copied: the caller may dispose its handles once the model is built.
   */
  weights?: tf.Tensor[];
}

/**
 * A layer of `layer`'s class and configuration (with `overrides`) whose initializers, when it is
 * built, hand out `weights` in turn instead of drawing values: tensors sharing their memory, for
 * every one whose shape is the one asked for (zeros otherwise). {@link rebuildModel} checks the
 * built layer's weights with {@link holdsWeights} and sets them where a layer did not take them
 * this way.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { holdsWeights, rebuiltLayer } from "./rebuild_model.ts";
 * await tf.setBackend("cpu");
 * const dense = tf.layers.dense({ units: 2, inputShape: [3] });
 * tf.sequential({ layers: [dense] });
 * const copy = rebuiltLayer(dense, dense.getWeights(), { name: "copy" });
 * copy.apply(tf.input({ shape: [3] }));
 * assert(holdsWeights(copy, dense.getWeights()) && copy.name === "copy");
 * ```
 */
export function rebuiltLayer(
  layer: tf.layers.Layer,
  weights: readonly tf.Tensor[],
  overrides: tf.serialization.ConfigDict = {},
): tf.layers.Layer {
  const config: tf.serialization.ConfigDict = { ...layer.getConfig(), ...overrides };
  let next = 0;
  const handOut = (shape: number[], dtype?: tf.DataType) => {
    const weight = weights[next++];
    return weight && tf.util.arraysEqual(weight.shape, shape)
      ? tf.clone(weight)
      : tf.zeros(shape, dtype);
  };
  for (const key of Object.keys(config)) {
    if (!key.endsWith("Initializer")) continue;
    // tfjs takes any instance of its (unexported) Initializer class: a built-in one whose apply
    // hands out the given weights.
    const initializer = tf.initializers.zeros();
    initializer.apply = handOut;
    config[key] = initializer as unknown as tf.serialization.ConfigDictValue;
  }
  const cls = layer.constructor as LayerClass;
  return cls.fromConfig(cls, config);
}

/**
 * Whether built layer `layer`'s weights are `weights`, in order, sharing their memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { holdsWeights } from "./rebuild_model.ts";
 * await tf.setBackend("cpu");
 * const dense = tf.layers.dense({ units: 2, inputShape: [3] });
 * tf.sequential({ layers: [dense] });
 * assert(holdsWeights(dense, dense.getWeights()));
 * assert(!holdsWeights(dense, [tf.zeros([3, 2]), tf.zeros([2])]));
 * ```
 */
export function holdsWeights(layer: tf.layers.Layer, weights: readonly tf.Tensor[]): boolean {
  const own = layer.getWeights();
  return own.length === weights.length && own.every((w, i) => w.dataId === weights[i].dataId);
}

/**
 * A functional model computing what `plan` makes of `model`: every layer rebuilt with
 * {@link rebuiltLayer} under its own name (same class and configuration unless the plan
 * overrides them, weights shared), or dropped where the plan says `passThrough`. Inputs keep
 * their names. Dispose the result on its own; `model` is left as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { rebuildModel } from "./rebuild_model.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [3] });
 * const hidden = tf.layers.dense({ units: 2, name: "a" }).apply(x) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2, name: "b" }).apply(hidden) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: x, outputs: y });
 * const noB = rebuildModel(model, "no-b", (layer) => ({ passThrough: layer.name === "b" }));
 * assert(noB.layers.length === 2 && noB.layers[1].name === "a");
 * const input = tf.ones([1, 3]);
 * const [h, out] = [model.getLayer("a").apply(input) as tf.Tensor, noB.predict(input) as tf.Tensor];
 * assert(tf.max(tf.abs(tf.sub(h, out))).dataSync()[0] === 0);
 * ```
 */
export function rebuildModel(
  model: tf.LayersModel,
  name: string,
  plan: (layer: tf.layers.Layer) => LayerRebuild,
): tf.LayersModel {
  const symbols = new Map<number, tf.SymbolicTensor>();
  const inputs = model.inputs.map((input) => {
    const copy = tf.input({
      shape: input.shape.slice(1) as number[],
      dtype: input.dtype,
      name: input.sourceLayer.name,
    });
    symbols.set(input.id, copy);
    return copy;
  });
  // A layer applied at several nodes is planned and rebuilt once, and shared the same way.
  const rebuilt = new Map<tf.layers.Layer, tf.layers.Layer | "passThrough">();
  for (const node of topologicalNodes(model)) {
    const layer = node.outboundLayer;
    let clone = rebuilt.get(layer);
    // The weights a layer rebuilt at this node was given: its first apply builds it.
    let given: readonly tf.Tensor[] | undefined;
    if (!clone) {
      const { passThrough, overrides, weights } = plan(layer);
      given = passThrough ? undefined : weights ?? layer.getWeights();
      clone = given ? rebuiltLayer(layer, given, overrides) : "passThrough";
      rebuilt.set(layer, clone);
    }
    if (clone === "passThrough") {
      symbols.set(node.outputTensors[0].id, symbols.get(node.inputTensors[0].id)!);
      continue;
    }
    const nodeInputs = node.inputTensors.map((t) => symbols.get(t.id)!);
    const out = clone.apply(nodeInputs.length === 1 ? nodeInputs[0] : nodeInputs, node.callArgs);
    // A layer that made a weight otherwise than through its configured initializers gets the
    // given values the usual way (shared as well, after the allocation the build made).
    if (given && !holdsWeights(clone, given)) clone.setWeights([...given]);
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((t, i) => symbols.set(t.id, outs[i] as tf.SymbolicTensor));
  }
  return tf.model({ inputs, outputs: model.outputs.map((t) => symbols.get(t.id)!), name });
}
