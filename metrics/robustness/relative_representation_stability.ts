/**
 * Relative Representation Stability (Agarwal et al., "Rethinking Stability for Attribution-based
 * Explanations", 2022): how much the explanation changes, relative to itself, per relative change
 * of the model's hidden representation, RRS = max ‖(e − e') / ê‖₂ / ‖(L(x) − L(x')) / L̂(x)‖₂
 * over noisy copies x' that keep the predicted class (`relative_stability.ts` for the shared
 * terms). Lower is more stable.
 *
 * L(x) is the outputs of the model's layers, all of them by default (`layerNames` and
 * `layerIndices` choose some): every layer but the input and the layers that only move values or
 * pass them through at inference (flatten, reshape, permute, dropout), which would count their
 * input a second time. An activation that is a layer of its own counts beside the convolution
 * before it, as PyTorch's modules do in Quantus. The distances are computed on the backend, layer
 * by layer, in calls of half the model's batch size (each copy runs beside its original image).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { layerActivations } from "../../graph/layer_activation.ts";
import { defineMetric, type MetricBatch } from "../metric.ts";
import type { MetricModel } from "../metric_model.ts";
import {
  RELATIVE_STABILITY_DEFAULTS,
  relativeStability,
  relativeStabilityFromQuantus,
  type RelativeStabilityParams,
} from "./relative_stability.ts";

/** Parameters of {@link RELATIVE_REPRESENTATION_STABILITY}. */
export interface RelativeRepresentationStabilityParams extends RelativeStabilityParams {
  /** Layers whose outputs form the representation, by name (with `layerIndices`: either). */
  layerNames: string[];
  /**
   * Layers by position among the representation layers ({@link representationLayers}); −1 is
   * the last. Both lists empty: every representation layer.
   */
  layerIndices: number[];
}

/** Layers whose output is their input moved or passed through at inference. */
const PASS_THROUGH = new Set([
  "InputLayer",
  "Flatten",
  "Reshape",
  "Permute",
  "Dropout",
  "SpatialDropout1D",
  "SpatialDropout2D",
]);

/**
 * The layers whose outputs can form a hidden representation, in the model's order: every layer
 * but the input and those that only move or pass through values (flatten, reshape, dropout).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { representationLayers } from "./relative_representation_stability.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [2, 2, 1] });
 * const flat = tf.layers.flatten({ name: "flat" }).apply(x);
 * const d = tf.layers.dense({ units: 3, name: "d" }).apply(flat);
 * const r = tf.layers.reLU({ name: "r" }).apply(d) as tf.SymbolicTensor;
 * assert(representationLayers(tf.model({ inputs: x, outputs: r })).join() === "d,r");
 * ```
 */
export function representationLayers(model: tf.LayersModel): string[] {
  return model.layers.filter((l) => !PASS_THROUGH.has(l.getClassName())).map((l) => l.name);
}

/**
 * The layers `params` select; with `quantusCompat`, a negative index counts from one past the
 * end, as Quantus's PyTorch wrapper does (it offsets by the number of modules including the model
 * itself), so −1 selects nothing, and unknown names and indices are ignored, as there.
 *
 * @throws {InputError} for an unknown name or an index out of range (unless `quantusCompat`), or
 *   a selection of no layer.
 */
function selectedLayers(
  metric: string,
  model: tf.LayersModel,
  params: RelativeRepresentationStabilityParams,
): string[] {
  const candidates = representationLayers(model);
  const { layerNames, layerIndices } = params;
  if (!layerNames.length && !layerIndices.length) return candidates;
  const choices = `the model's representation layers are ${candidates.join(", ")}`;
  const unknown = layerNames.filter((name) => !candidates.includes(name));
  if (unknown.length && !params.quantusCompat) {
    throw new InputError(`${metric}: layerNames ${unknown.join(", ")} not found; ${choices}`);
  }
  const offset = candidates.length + (params.quantusCompat ? 1 : 0);
  const indices = layerIndices.map((i) => (i < 0 ? offset + i : i));
  const outside = layerIndices.filter((_, j) =>
    !(indices[j] >= 0 && indices[j] < candidates.length)
  );
  if (outside.length && !params.quantusCompat) {
    throw new InputError(
      `${metric}: layerIndices ${outside.join(", ")} out of range for ${candidates.length} ` +
        `representation layers (${choices})`,
    );
  }
  const selected = candidates.filter((name, j) => layerNames.includes(name) || indices.includes(j));
  if (!selected.length) {
    throw new InputError(
      `${metric}: no hidden representation selected by layerIndices [${layerIndices}] ` +
        `(as Quantus counts negative indices, -1 is one past the last layer); ${choices}`,
    );
  }
  return selected;
}

/**
 * ‖(L(x) − L(x')) / L̂(x)‖₂ for every copy of `copies` (`[S·N, H, W, C]`, copy k·N + i of image
 * i), L the concatenated outputs of `layers`, L̂ = L with zeros replaced by `epsMin`; in float32
 * on the backend, as Quantus computes it.
 */
async function representationDistances(
  model: MetricModel,
  layers: string[],
  batch: MetricBatch,
  copies: tf.Tensor4D,
  epsMin: number,
): Promise<Float64Array> {
  const rows = copies.shape[0];
  const n = batch.shapeNHWC[0];
  const out = new Float64Array(rows);
  const perCall = Math.max(1, Math.floor(model.batchSize / 2));
  const x = tf.tensor4d(batch.xNHWC, [...batch.shapeNHWC]);
  try {
    for (let start = 0; start < rows; start += perCall) {
      const m = Math.min(perCall, rows - start);
      const sums = tf.tidy(() => {
        const originals = tf.gather(x, Int32Array.from({ length: m }, (_, j) => (start + j) % n));
        const perturbed = tf.slice(copies, [start, 0, 0, 0], [m, -1, -1, -1]);
        const both = tf.concat([originals, perturbed]) as tf.Tensor4D;
        let total: tf.Tensor = tf.zeros([m]);
        for (const output of layerActivations(model.layers, both, layers)) {
          const flat = output.reshape([2 * m, -1]);
          const before = flat.slice([0, 0], [m, -1]);
          const after = flat.slice([m, 0], [m, -1]);
          const safe = tf.where(tf.equal(before, 0), tf.fill(before.shape, epsMin), before);
          total = total.add(tf.sum(tf.square(tf.div(tf.sub(before, after), safe)), 1));
        }
        return total.sqrt();
      });
      try {
        out.set(await sums.data(), start);
      } finally {
        sums.dispose();
      }
    }
  } finally {
    x.dispose();
  }
  return out;
}

/**
 * Relative Representation Stability, with the relative stabilities' defaults and every layer's
 * output as the representation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { RELATIVE_REPRESENTATION_STABILITY } from "./relative_representation_stability.ts";
 * const p = RELATIVE_REPRESENTATION_STABILITY.fromQuantus({ layer_names: ["fc_2"] }, {});
 * assert(p.layerNames.join() === "fc_2" && p.layerIndices.length === 0 && p.nrSamples === 200);
 * ```
 */
export const RELATIVE_REPRESENTATION_STABILITY = defineMetric<
  RelativeRepresentationStabilityParams
>({
  name: "relative_representation_stability",
  quantusName: "RelativeRepresentationStability",
  category: "robustness",
  direction: "lower",
  paper: "Agarwal et al. 2022, Rethinking Stability for Attribution-based Explanations",
  description:
    "largest relative change of the explanation per relative change of the hidden representation",
  needs: ["model", "explain"],
  defaults: { ...RELATIVE_STABILITY_DEFAULTS, layerNames: [], layerIndices: [] },
  fromQuantus(init, call) {
    const list = (value: unknown) => (Array.isArray(value) ? value : value == null ? [] : [value]);
    return {
      ...relativeStabilityFromQuantus(init, call),
      layerNames: list(init.layer_names).map(String),
      layerIndices: list(init.layer_indices).map(Number),
    };
  },
  score(context, prepared, params) {
    const layers = selectedLayers(this.name, context.model.layers, params);
    return relativeStability(
      context,
      prepared,
      params,
      this.name,
      ({ measured }) => measured!,
      {
        measure: (copies) =>
          representationDistances(context.model, layers, prepared.batch, copies, params.epsMin),
      },
    );
  },
  toQuantus: (result) => Array.from(result.scores),
});
