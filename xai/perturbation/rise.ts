/**
 * RISE (Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box
 * Models", BMVC 2018): the model is probed with `nbSamples` randomly masked copies of the image,
 * and each pixel gets the mean score of the copies weighted by how much of that pixel they kept:
 *
 *   S(λ) = 1 / (N · p) · Σ_i f(x ⊙ M_i) · M_i(λ),
 *
 * f the target's probability (or logit), N = `nbSamples`, p = `preservationProbability`, the
 * Monte Carlo estimate of E[f(x ⊙ M) · M(λ)] / p = E[f(x ⊙ M) | M(λ) = 1] for binary masks.
 *
 * Each mask M_i is drawn as in the paper: a binary `gridSize` s × s grid whose cells are on with
 * probability p, upsampled bilinearly to (s + 1) · ⌈H / s⌉ by (s + 1) · ⌈W / s⌉ pixels and cropped
 * to H × W at a random shift of 0 to ⌈H / s⌉ − 1 rows and 0 to ⌈W / s⌉ − 1 columns, so that masks
 * are smooth and their cells do not sit on a fixed lattice. The bilinear resize is the one of the
 * paper's code (scikit-image's `resize(order=1, mode="reflect")`: half-pixel centres, the grid
 * mirrored about its edge cells). Masked copies are x ⊙ M + (1 − M) · `maskValue`, every channel
 * of a pixel alike (Xplique's `mask_value`; the paper's x ⊙ M is `maskValue` 0).
 *
 * Normalisation is the paper's 1 / (N · p); Xplique's `Rise` divides by Σ_i M_i(λ) instead, the
 * empirical mean of the masks at λ (the two agree as N grows, since E[M(λ)] = p).
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { type Random, randomInt, SeededRandom } from "../../core/random.ts";
import { foldBatchNorm } from "../../graph/fold_batchnorm.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  requireInteger,
} from "../explainer.ts";
import {
  type ClassifierOutput,
  parseClassifierOutput,
  perturbedLogits,
  targetOutputs,
} from "./perturbed_logits.ts";

/** Options of {@link RISE}, named as Xplique's `Rise` (the paper's N, s and p). */
export interface RiseOptions extends ExplainOptions {
  /**
   * `nb_samples`, N, the masks (one model input each); default 1000. The paper used 4000 at
   * 224 px (Xplique's default too); 1000 keeps RISE's cost per image near LIME's 800 samples and
   * Occlusion's 729 windows at 224 px, at twice the Monte Carlo standard error of 4000 (it falls
   * as 1 / √N).
   */
  nbSamples?: number;
  /** `grid_size`, s, the cells of the low-resolution grid: one number or [rows, columns]; default 7. */
  gridSize?: number | readonly [number, number];
  /** `preservation_probability`, p, the chance a grid cell is kept (the masks' mean); default 0.5. */
  preservationProbability?: number;
  /**
   * `mask_value`, what masked pixels tend to, in the MODEL'S INPUT SPACE; default 0 (the
   * ImageNet mean colour for our normalised inputs, as the paper's x ⊙ M on normalised images).
   */
  maskValue?: number;
  /** What is averaged: the target's softmax probability (default, the paper's) or its logit. */
  classifierOutput?: ClassifierOutput;
  /**
   * `batch_size`, masked copies per model call; default 16, or fewer where the model's forward
   * pass would not fit the heap budget (`graph/footprint.ts`). Only speed depends on it.
   */
  batchSize?: number;
  /** Seeds the masks; default 0. Every image of a call is probed with the same masks. */
  seed?: number;
}

/** The checked mask options of {@link RiseOptions}, defaults filled in. */
export interface RiseMaskSettings {
  nbSamples: number;
  gridRows: number;
  gridColumns: number;
  preservationProbability: number;
  seed: number;
}

function maskSettings(options: RiseOptions, heightPx: number, widthPx: number): RiseMaskSettings {
  const method = "rise";
  const grid = options.gridSize ?? 7;
  if (typeof grid !== "number" && (!Array.isArray(grid) || grid.length !== 2)) {
    throw new InputError(
      `${method}: gridSize must be a number or [rows, columns], got ${JSON.stringify(grid)}`,
    );
  }
  const [rows, columns] = typeof grid === "number" ? [grid, grid] : grid;
  const gridRows = requireInteger(method, "gridSize (rows)", rows, 1);
  const gridColumns = requireInteger(method, "gridSize (columns)", columns, 1);
  if (gridRows > heightPx || gridColumns > widthPx) {
    throw new InputError(
      `${method}: gridSize [${gridRows}, ${gridColumns}] has more cells than the ${heightPx} x ` +
        `${widthPx} input has pixels; use a grid no larger than the image`,
    );
  }
  const p = options.preservationProbability ?? 0.5;
  if (typeof p !== "number" || !(p > 0 && p <= 1)) {
    throw new InputError(`${method}: preservationProbability must be in (0, 1], got ${p}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new InputError(`${method}: seed must be an integer, got ${seed}`);
  }
  return {
    nbSamples: requireInteger(method, "nbSamples", options.nbSamples ?? 1000, 1),
    gridRows,
    gridColumns,
    preservationProbability: p,
    seed,
  };
}

/**
 * One axis of the paper's bilinear upsampling of `cells` grid cells to `upsampledPx` pixels
 * (scikit-image's `resize(order=1, mode="reflect")`): per upsampled pixel u, the two cells it
 * reads and the weight of the second. Source coordinates are (u + ½) · cells / upsampledPx − ½,
 * mirrored about the first and last cell centres.
 */
function bilinearAxis(cells: number, upsampledPx: number) {
  const low = new Int32Array(upsampledPx);
  const high = new Int32Array(upsampledPx);
  const weight = new Float64Array(upsampledPx);
  for (let u = 0; u < upsampledPx; u++) {
    let at = (u + 0.5) * cells / upsampledPx - 0.5;
    if (at < 0) at = -at;
    if (at > cells - 1) at = Math.max(0, 2 * (cells - 1) - at);
    low[u] = Math.floor(at);
    high[u] = Math.min(low[u] + 1, cells - 1);
    weight[u] = at - low[u];
  }
  return { low, high, weight };
}

/**
 * RISE's N masks for H × W images, kept as their binary grids and shifts (N · s² bits and 2N
 * numbers) and upsampled on demand, so memory does not grow with N · H · W.
 */
export class RiseMasks {
  /** N, how many masks. */
  readonly count: number;
  readonly heightPx: number;
  readonly widthPx: number;
  /** p, the chance a grid cell is kept: every mask value's expectation. */
  readonly preservationProbability: number;
  readonly #settings: RiseMaskSettings;
  /** [N, s_rows, s_columns] 1 where a cell is kept. */
  readonly #gridsNRC: Uint8Array;
  /** [N, 2] each mask's crop offset (rows, columns) into its upsampled grid. */
  readonly #shiftsN2: Int32Array;
  readonly #rows: ReturnType<typeof bilinearAxis>;
  readonly #columns: ReturnType<typeof bilinearAxis>;

  /** Draws the grids from `random`'s fork "grids" and the shifts from its fork "shifts". */
  constructor(settings: RiseMaskSettings, heightPx: number, widthPx: number, random: Random) {
    const { nbSamples, gridRows, gridColumns, preservationProbability } = settings;
    this.count = nbSamples;
    this.heightPx = heightPx;
    this.widthPx = widthPx;
    this.preservationProbability = preservationProbability;
    this.#settings = settings;
    const cellRows = Math.ceil(heightPx / gridRows);
    const cellColumns = Math.ceil(widthPx / gridColumns);
    const grids = random.fork("grids");
    this.#gridsNRC = Uint8Array.from(
      { length: nbSamples * gridRows * gridColumns },
      () => grids.uniform() < preservationProbability ? 1 : 0,
    );
    const shifts = random.fork("shifts");
    this.#shiftsN2 = Int32Array.from(
      { length: 2 * nbSamples },
      (_, k) => randomInt(shifts, k % 2 === 0 ? cellRows : cellColumns),
    );
    this.#rows = bilinearAxis(gridRows, (gridRows + 1) * cellRows);
    this.#columns = bilinearAxis(gridColumns, (gridColumns + 1) * cellColumns);
  }

  /**
   * Writes mask `index`, [H, W] values in [0, 1], into `outHW`. The upsampling is separable:
   * each output row first blends its two grid rows, then each pixel its two cells of that blend.
   */
  mask(index: number, outHW: Float32Array): void {
    const { gridRows, gridColumns } = this.#settings;
    const grid = this.#gridsNRC.subarray(
      index * gridRows * gridColumns,
      (index + 1) * gridRows * gridColumns,
    );
    const [top, left] = [this.#shiftsN2[2 * index], this.#shiftsN2[2 * index + 1]];
    const blend = new Float64Array(gridColumns);
    const rows = this.#rows, columns = this.#columns;
    for (let r = 0; r < this.heightPx; r++) {
      const u = r + top;
      const [a, b, t] = [rows.low[u] * gridColumns, rows.high[u] * gridColumns, rows.weight[u]];
      for (let k = 0; k < gridColumns; k++) blend[k] = (1 - t) * grid[a + k] + t * grid[b + k];
      for (let c = 0; c < this.widthPx; c++) {
        const v = c + left;
        const s = columns.weight[v];
        outHW[r * this.widthPx + c] = (1 - s) * blend[columns.low[v]] + s * blend[columns.high[v]];
      }
    }
  }
}

/**
 * The masks {@link RISE} probes H × W images with under `options` (the same for every image of
 * a call, and for equal seeds).
 *
 * @throws {InputError} for a mask option out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { riseMasks } from "./rise.ts";
 * const masks = riseMasks({ nbSamples: 3, gridSize: 2, seed: 1 }, 8, 8);
 * const m = new Float32Array(64);
 * masks.mask(2, m);
 * assert(masks.count === 3 && m.every((v) => v >= 0 && v <= 1));
 * ```
 */
export function riseMasks(options: RiseOptions, heightPx: number, widthPx: number): RiseMasks {
  const settings = maskSettings(options, heightPx, widthPx);
  return new RiseMasks(settings, heightPx, widthPx, new SeededRandom(settings.seed));
}

/**
 * RISE. The map is one value per pixel (each mask spans every channel); `keepChannels` does not
 * apply.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { RISE } from "./rise.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await RISE.explain(model, x, Int32Array.from([1]), { nbSamples: 24, seed: 3 });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.mapsNHW.every((v) => v >= 0));
 * model.dispose();
 * ```
 */
export const RISE: Explainer<RiseOptions> = {
  name: "rise",
  description: "RISE (Petsiuk et al. 2018): the target probability averaged over random " +
    "smooth masks, weighted by each pixel's mask value",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: RiseOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const [batch, heightPx, widthPx, channels] = xNHWC.shape;
    const masks = riseMasks(options, heightPx, widthPx);
    const maskValue = options.maskValue ?? 0;
    if (typeof maskValue !== "number" || !Number.isFinite(maskValue)) {
      throw new InputError(`${this.name}: maskValue must be a finite number, got ${maskValue}`);
    }
    const output = parseClassifierOutput(this.name, options.classifierOutput);
    const batchSize = requireInteger(
      this.name,
      "batchSize",
      options.batchSize ?? rowsWithinBudget(model, "forward", 16),
      1,
    );
    const x = await xNHWC.data() as Float32Array;
    const pixels = heightPx * widthPx;
    const mapsNHW = new Float32Array(batch * pixels);
    const maskHW = new Float32Array(pixels);
    const folded = foldBatchNorm(model);
    try {
      for (let n = 0; n < batch; n++) {
        const image = x.subarray(n * pixels * channels, (n + 1) * pixels * channels);
        const logits = await perturbedLogits(
          folded,
          {
            shapeHWC: [heightPx, widthPx, channels],
            fill: (index, out) => {
              masks.mask(index, maskHW);
              for (let q = 0, i = 0; q < pixels; q++) {
                const m = maskHW[q];
                for (let c = 0; c < channels; c++, i++) out[i] = m * image[i] + (1 - m) * maskValue;
              }
            },
          },
          masks.count,
          batchSize,
        );
        const scores = targetOutputs(logits, logits.length / masks.count, targets[n], output);
        // The masks are upsampled again rather than kept: N of them at H x W would not fit the
        // heap at the paper's N = 4000 and 224 px (800 MB), and remaking one costs about 4 H W
        // operations beside the millions of a forward pass.
        const total = new Float64Array(pixels);
        for (let i = 0; i < masks.count; i++) {
          masks.mask(i, maskHW);
          for (let q = 0; q < pixels; q++) total[q] += scores[i] * maskHW[q];
        }
        const map = mapsNHW.subarray(n * pixels, (n + 1) * pixels);
        for (let q = 0; q < pixels; q++) {
          map[q] = total[q] / (masks.count * masks.preservationProbability);
        }
      }
    } finally {
      folded.dispose();
    }
    return { method: this.name, mapsNHW, shapeNHW: [batch, heightPx, widthPx] };
  },
};
