/**
 * The bridge from an attribution method (`xai/`) to the re-explain function robustness and
 * randomisation metrics call.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import type { Explainer, ExplainOptions } from "../../xai/explainer.ts";
import type { ExplainFunction } from "../metric.ts";

/**
 * An {@link ExplainFunction} that runs `explainer` with `options` and returns its maps (and
 * passes on the explainer's `imagesPerCascade`, where it has one).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SALIENCY } from "../../xai/gradient/saliency.ts";
 * import { explainerFunction } from "./explainer_function.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2, 2, 1] });
 * const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * const explain = explainerFunction(SALIENCY, { abs: false });
 * const maps = await explain(model, new Float32Array(4), [1, 2, 2, 1], Int32Array.of(0));
 * assert(maps.length === 4 && explain.imagesPerCascade === undefined);
 * ```
 */
export function explainerFunction<O extends ExplainOptions>(
  explainer: Explainer<O>,
  options?: O,
): ExplainFunction {
  const explain: ExplainFunction = async (model, xNHWC, shape, targets, reuse) => {
    // A reuse cache holds the input as its own tensor; a tensor input stays the caller's.
    const x = reuse
      ? reuse.xNHWC
      : xNHWC instanceof Float32Array
      ? tf.tensor4d(xNHWC, [...shape])
      : xNHWC;
    try {
      const withReuse = reuse ? { ...options, reuse } as O : options;
      return (await explainer.explain(model, x, targets, withReuse)).mapsNHW;
    } finally {
      if (!reuse && x !== xNHWC) x.dispose();
    }
  };
  if (explainer.imagesPerCascade) {
    explain.imagesPerCascade = (model) => explainer.imagesPerCascade!(model, options);
  }
  return explain;
}
