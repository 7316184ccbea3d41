/**
 * MetaQuantus's perturbation tests (Hedström et al. 2023): the Model Perturbation Test (MPT)
 * multiplies every trainable weight by noise drawn from N(1, σ²), the Input Perturbation Test
 * (IPT) adds uniform noise in [−ε, ε] to every input value. Each comes as a minor perturbation
 * (noise resilience: the metric's verdict should stay) and a disruptive one (adversarial
 * reactivity: it should move).
 *
 * Defaults are MetaQuantus's ImageNet settings (`setup_test_suite`): MPT σ = 0.001 and 0.5, IPT
 * ε = 0.001 and 5, with 3 iterations of 5 perturbations each (`run_benchmarking.py`'s `--iters`
 * and `--K`). The ImageNet ones, not the MNIST ones (σ = 2 for the adversary), because the
 * models here are ImageNet architectures on ImageNet-normalised 3-channel images.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import type { Random } from "../../core/random.ts";
import { cloneModel } from "../../models/clone_model.ts";
import type { PerturbationKind } from "./consistency.ts";

/** Where a test perturbs: the model's weights (MPT) or the inputs (IPT). */
export type PerturbationSpace = "model" | "input";

/** The noise of each test, by space and kind. */
export interface MetaNoise {
  /** σ of the multiplicative N(1, σ²) weight noise. */
  model: Record<PerturbationKind, number>;
  /** ε, the half-width of the additive uniform input noise. */
  input: Record<PerturbationKind, number>;
}

/** How a meta-evaluation runs: noise, iterations and perturbations per iteration. */
export interface MetaSettings {
  noise: MetaNoise;
  /** Repetitions of each test (MetaQuantus's `iterations`). */
  iterations: number;
  /** Perturbations per iteration, each a fresh draw (MetaQuantus's `nr_perturbations`, K). */
  perturbations: number;
}

/** MetaQuantus's ImageNet settings (see the module comment). */
export const META_DEFAULTS: Readonly<MetaSettings> = Object.freeze({
  noise: {
    model: { resilience: 0.001, adversary: 0.5 },
    input: { resilience: 0.001, adversary: 5 },
  },
  iterations: 3,
  perturbations: 5,
});

/** The four tests, in the order runs walk and files list them. */
export const PERTURBATION_TESTS: readonly { space: PerturbationSpace; kind: PerturbationKind }[] = [
  { space: "model", kind: "resilience" },
  { space: "model", kind: "adversary" },
  { space: "input", kind: "resilience" },
  { space: "input", kind: "adversary" },
];

/**
 * Checks settings: whole numbers of iterations and perturbations of at least 1, noise above 0
 * (MetaQuantus refuses zero noise too).
 *
 * @throws {InputError} naming the flag to fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkMetaSettings, META_DEFAULTS } from "./perturbation_tests.ts";
 * checkMetaSettings(META_DEFAULTS);
 * assert.throws(() => checkMetaSettings({ ...META_DEFAULTS, iterations: 0 }), /--iterations/);
 * ```
 */
export function checkMetaSettings(settings: MetaSettings): void {
  for (
    const [flag, value] of [
      ["--iterations", settings.iterations],
      ["--perturbations", settings.perturbations],
    ] as const
  ) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InputError(`${flag} ${value}: give a whole number of at least 1`);
    }
  }
  for (const space of ["model", "input"] as const) {
    for (const kind of ["resilience", "adversary"] as const) {
      const value = settings.noise[space][kind];
      if (!(value > 0) || !Number.isFinite(value)) {
        throw new InputError(
          `--${space}-noise: the ${kind} noise ${value} must be a number above 0`,
        );
      }
    }
  }
}

/**
 * A copy of `model` (the caller's is untouched) with every trainable weight multiplied by its
 * own draw from N(1, σ²), as Quantus's `sample(mean=1, std=σ, noise_type="multiplicative")`
 * does to each of PyTorch's `parameters()`: kernels, biases and BatchNorm's scale and offset,
 * never its running statistics. Weight tensor k draws from `random.fork(k)`, so the same
 * random gives the same model in any process. The caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { SeededRandom } from "../../core/random.ts";
 * import { perturbedModel } from "./perturbation_tests.ts";
 * await tf.setBackend("cpu");
 * const input = tf.input({ shape: [2] });
 * const out = tf.layers.dense({ units: 1, kernelInitializer: "ones" }).apply(input) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: out });
 * const a = perturbedModel(model, 0.1, new SeededRandom(3));
 * const b = perturbedModel(model, 0.1, new SeededRandom(3));
 * const kernel = a.getWeights()[0].dataSync();
 * assert(kernel[0] !== 1 && Math.abs(kernel[0] - 1) < 0.6);
 * assert(kernel.join() === b.getWeights()[0].dataSync().join());
 * assert(model.getWeights()[0].dataSync().join() === "1,1");
 * a.dispose();
 * b.dispose();
 * ```
 */
export function perturbedModel(
  model: tf.LayersModel,
  sigma: number,
  random: Random,
): tf.LayersModel {
  const copy = cloneModel(model);
  for (const [k, variable] of copy.trainableWeights.entries()) {
    const draws = random.fork(k);
    const values = Float32Array.from(
      variable.read().dataSync() as Float32Array,
      (v) => v * (1 + sigma * draws.normal()),
    );
    const noisy = tf.tensor(values, variable.shape as number[]);
    variable.write(noisy);
    noisy.dispose();
  }
  return copy;
}

/**
 * Inputs with uniform noise in [−ε, ε] added to every value, each image's noise drawn from
 * `randomOf(i)` (so an image gets the same noise whichever batch it is in), then clipped from
 * below at the image's own minimum. MetaQuantus clips at the minimum of the whole batch (its
 * upper bound is the perturbed batch's own maximum, so only the lower one acts); per image, the
 * result does not depend on how images are batched.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { perturbedInputs } from "./perturbation_tests.ts";
 * const x = Float32Array.of(0, 1, 2, 3);
 * const noisy = perturbedInputs(x, [2, 1, 2, 1], 0.5, (i) => new SeededRandom(i));
 * assert(noisy.every((v, j) => Math.abs(v - x[j]) <= 0.5 && v >= (j < 2 ? 0 : 2)));
 * assert(noisy.join() !== x.join() && x.join() === "0,1,2,3");
 * ```
 */
export function perturbedInputs(
  xNHWC: Float32Array,
  shapeNHWC: readonly [number, number, number, number],
  epsilon: number,
  randomOf: (image: number) => Random,
): Float32Array {
  const [n, h, w, c] = shapeNHWC;
  const size = h * w * c;
  const out = new Float32Array(xNHWC.length);
  for (let i = 0; i < n; i++) {
    const image = xNHWC.subarray(i * size, (i + 1) * size);
    const random = randomOf(i);
    let min = Infinity;
    for (const v of image) min = Math.min(min, v);
    for (let j = 0; j < size; j++) {
      out[i * size + j] = Math.max(min, image[j] + (2 * random.uniform() - 1) * epsilon);
    }
  }
  return out;
}
