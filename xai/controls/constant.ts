/**
 * The constant control: the same value at every pixel, as Quantus's "Control Var. Constant".
 * It ranks no pixel above another, so a localisation metric gives it the score of chance (the
 * mask's share of the image), and a metric that correlates the map with anything cannot score
 * it at all.
 *
 * @module
 */
import { InputError } from "../../core/errors.ts";
import type { Explainer, ExplainOptions } from "../explainer.ts";
import { controlExplainer } from "./control.ts";

/** Options of {@link CONSTANT}. */
export interface ConstantOptions extends ExplainOptions {
  /** The value of every pixel (default 1; finite). */
  constantValue?: number;
}

/**
 * Every pixel `constantValue`.
 *
 * @throws {InputError} for a value that is not finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { CONSTANT } from "./constant.ts";
 * await tf.setBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
 * const attr = await CONSTANT.explain(model, x, Int32Array.of(2), { constantValue: 0.5 });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.mapsNHW.every((v) => v === 0.5));
 * model.dispose();
 * ```
 */
export const CONSTANT: Explainer<ConstantOptions> = controlExplainer<ConstantOptions>({
  name: "constant",
  description: "Control: the same value (1) at every pixel (Quantus's Constant)",
  fillMap(_image, map, options) {
    const value = options.constantValue ?? 1;
    if (!Number.isFinite(value)) {
      throw new InputError(`constant: constantValue must be a finite number, got ${value}`);
    }
    map.fill(value);
  },
});
