/**
 * Occlusion (Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV
 * 2014) as Captum's `Occlusion`: a window of `slidingWindowShapes` (rows, columns; all
 * channels) slides over the image in steps of `strides`, is replaced by `baselines`, and every
 * input value gets the mean, over the windows covering it, of F(x) − F(x with the window
 * replaced), F the target logit.
 *
 * Window positions follow Captum: along an axis of size n with window w and stride s there are
 * ⌈(n − w) / s⌉ + 1 of them, starting at 0, s, 2s, …; the last one is cut at the image edge.
 * Values no window covers (only when a stride exceeds the window) get 0, where Captum divides
 * 0 by 0.
 *
 * Since every window spans all channels, each channel of a pixel gets the same attribution;
 * the map is their sum (C times that value), as for the other input methods, and
 * `keepChannels` returns Captum's per-value attribution.
 *
 * @module
 */
import { tf } from "../../deps.ts";
import { InputError } from "../../core/errors.ts";
import { foldBatchNorm } from "../../graph/fold_batchnorm.ts";
import { rowsWithinBudget } from "../../graph/footprint.ts";
import { SparseStem } from "../../graph/sparse_stem.ts";
import {
  type Attribution,
  checkExplainInputs,
  type Explainer,
  type ExplainOptions,
  inputAttribution,
  requireInteger,
} from "../explainer.ts";
import { type Copies, perturbedLogits } from "./perturbed_logits.ts";

/** Options of {@link OCCLUSION}, named as Captum's `Occlusion.attribute`. */
export interface OcclusionOptions extends ExplainOptions {
  /**
   * `sliding_window_shapes`: the window's [rows, columns] in pixels (it spans all channels);
   * default [15, 15], the window of Captum's image tutorial (Captum has no default).
   */
  slidingWindowShapes?: readonly [number, number];
  /** `strides`: the step in pixels, one for both axes or [rows, columns]; default [8, 8]. */
  strides?: number | readonly [number, number];
  /** `baselines`: the value the window takes, in the model's input space; default 0. */
  baselines?: number;
  /**
   * `perturbations_per_eval`: occluded copies per model call; default 16, or fewer where the
   * model's forward pass would not fit the heap budget (`graph/footprint.ts`).
   */
  perturbationsPerEval?: number;
}

/**
 * Window starts along one axis, as Captum counts them: ⌈(n − w) / s⌉ + 1 starts, s apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { windowStarts } from "./occlusion.ts";
 * assert(windowStarts(10, 3, 4).join() === "0,4,8"); // the last window is cut to 2 px
 * ```
 */
export function windowStarts(sizePx: number, windowPx: number, stridePx: number): number[] {
  const count = Math.ceil((sizePx - windowPx) / stridePx) + 1;
  return Array.from({ length: count }, (_, i) => i * stridePx);
}

type OcclusionSettings = ReturnType<typeof occlusionSettings>;

function occlusionSettings(
  options: OcclusionOptions,
  heightPx: number,
  widthPx: number,
  defaultPerEval: number,
) {
  const method = "occlusion";
  const window = options.slidingWindowShapes ?? [15, 15];
  if (!Array.isArray(window) || window.length !== 2) {
    throw new InputError(
      `${method}: slidingWindowShapes must be [rows, columns], got ${JSON.stringify(window)}`,
    );
  }
  const [windowRows, windowColumns] = [
    requireInteger(method, "slidingWindowShapes[0]", window[0], 1),
    requireInteger(method, "slidingWindowShapes[1]", window[1], 1),
  ];
  if (windowRows > heightPx || windowColumns > widthPx) {
    throw new InputError(
      `${method}: slidingWindowShapes [${windowRows}, ${windowColumns}] exceeds the ` +
        `${heightPx} x ${widthPx} input; use a window no larger than the image`,
    );
  }
  const stride = options.strides ?? [8, 8];
  const strides = typeof stride === "number" ? [stride, stride] : stride;
  if (!Array.isArray(strides) || strides.length !== 2) {
    throw new InputError(
      `${method}: strides must be a number or [rows, columns], got ${JSON.stringify(stride)}`,
    );
  }
  const baseline = options.baselines ?? 0;
  if (typeof baseline !== "number" || !Number.isFinite(baseline)) {
    throw new InputError(`${method}: baselines must be a finite number, got ${baseline}`);
  }
  return {
    windowRows,
    windowColumns,
    rowStarts: windowStarts(
      heightPx,
      windowRows,
      requireInteger(method, "strides[0]", strides[0], 1),
    ),
    columnStarts: windowStarts(
      widthPx,
      windowColumns,
      requireInteger(method, "strides[1]", strides[1], 1),
    ),
    baseline,
    perturbationsPerEval: requireInteger(
      method,
      "perturbationsPerEval",
      options.perturbationsPerEval ?? defaultPerEval,
      1,
    ),
  };
}

/** Where window `index` (copy `index`, from 1) starts. */
type WindowAt = (index: number) => { top: number; left: number };

/** Copy 0 is the image; copy `index` shows the baseline in its window. */
function occludedImages(
  imageHWC: Float32Array,
  shapeHWC: readonly [number, number, number],
  settings: OcclusionSettings,
  windowAt: WindowAt,
): Copies {
  const [heightPx, widthPx, channels] = shapeHWC;
  return {
    shapeHWC,
    fill: (index, out) => {
      out.set(imageHWC);
      if (index === 0) return;
      const { top, left } = windowAt(index);
      const right = Math.min(widthPx, left + settings.windowColumns);
      for (let r = top; r < Math.min(heightPx, top + settings.windowRows); r++) {
        out.fill(
          settings.baseline,
          (r * widthPx + left) * channels,
          (r * widthPx + right) * channels,
        );
      }
    },
  };
}

/**
 * The copies of {@link occludedImages} made at the stem's output: the image's, plus the window's
 * footprint.
 */
async function occludedAtStem(
  stem: SparseStem,
  imageHWC: Float32Array,
  settings: OcclusionSettings,
  windowAt: WindowAt,
): Promise<Copies> {
  const [heightPx, widthPx] = stem.inputShape;
  const base = await stem.base(imageHWC);
  return {
    shapeHWC: stem.outputShape,
    from: stem.prefix.output,
    fill: (index, out) => {
      out.set(base);
      if (index === 0) return;
      const { top, left } = windowAt(index);
      const pixels: number[] = [];
      for (let r = top; r < Math.min(heightPx, top + settings.windowRows); r++) {
        for (let c = left; c < Math.min(widthPx, left + settings.windowColumns); c++) {
          pixels.push(r * widthPx + c);
        }
      }
      stem.addEdit(out, imageHWC, pixels, settings.baseline);
    },
  };
}

/**
 * Occlusion.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { buildModel } from "../../models/registry.ts";
 * import { startBackend } from "../../backends/backend.ts";
 * import { OCCLUSION } from "./occlusion.ts";
 * await startBackend("cpu");
 * const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 32, seed: 1 });
 * const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const attr = await OCCLUSION.explain(model, x, Int32Array.from([1]), {
 *   slidingWindowShapes: [8, 8],
 *   strides: 8,
 * });
 * assert(attr.mapsNHW.length === 32 * 32 && attr.mapsNHW.every(Number.isFinite));
 * model.dispose();
 * ```
 */
export const OCCLUSION: Explainer<OcclusionOptions> = {
  name: "occlusion",
  description: "Occlusion (Zeiler and Fergus 2014): the target logit's drop when a sliding " +
    "window is replaced by a baseline, as Captum",
  async explain(
    model: tf.LayersModel,
    xNHWC: tf.Tensor4D,
    targets: Int32Array,
    options: OcclusionOptions = {},
  ): Promise<Attribution> {
    checkExplainInputs(this.name, model, xNHWC, targets);
    const [batch, heightPx, widthPx, channels] = xNHWC.shape;
    const settings = occlusionSettings(
      options,
      heightPx,
      widthPx,
      rowsWithinBudget(model, "forward", 16),
    );
    const { rowStarts, columnStarts, windowRows, windowColumns } = settings;
    const x = await xNHWC.data() as Float32Array;
    const pixels = heightPx * widthPx;
    const imageSize = pixels * channels;
    const positions = rowStarts.length * columnStarts.length;
    const attributions = new Float32Array(batch * imageSize);
    const folded = foldBatchNorm(model);
    // A window changes the stem's output by its footprint only: on wasm and cpu the copies are
    // made there (`graph/sparse_stem.ts`) when windows are small beside the image.
    const sparseStem = SparseStem.forCopies(folded);
    const stem = sparseStem?.editPays(windowRows * windowColumns) ? sparseStem : undefined;
    // Copy 0 is the image itself; copy 1 + i occludes window position i.
    const windowAt: WindowAt = (index) => ({
      top: rowStarts[Math.floor((index - 1) / columnStarts.length)],
      left: columnStarts[(index - 1) % columnStarts.length],
    });
    try {
      for (let n = 0; n < batch; n++) {
        const image = x.subarray(n * imageSize, (n + 1) * imageSize);
        const copies = stem
          ? await occludedAtStem(stem, image, settings, windowAt)
          : occludedImages(image, [heightPx, widthPx, channels], settings, windowAt);
        const logits = await perturbedLogits(
          folded,
          copies,
          positions + 1,
          settings.perturbationsPerEval,
        );
        const classes = logits.length / (positions + 1);
        const original = logits[targets[n]];
        const total = new Float64Array(pixels);
        const covering = new Float64Array(pixels);
        rowStarts.forEach((top, i) => {
          columnStarts.forEach((left, j) => {
            const copy = 1 + i * columnStarts.length + j;
            const drop = original - logits[copy * classes + targets[n]];
            for (let r = top; r < Math.min(heightPx, top + windowRows); r++) {
              for (let c = left; c < Math.min(widthPx, left + windowColumns); c++) {
                total[r * widthPx + c] += drop;
                covering[r * widthPx + c]++;
              }
            }
          });
        });
        const out = attributions.subarray(n * imageSize, (n + 1) * imageSize);
        for (let p = 0; p < pixels; p++) {
          const value = covering[p] > 0 ? total[p] / covering[p] : 0;
          out.fill(value, p * channels, (p + 1) * channels);
        }
      }
    } finally {
      folded.dispose();
    }
    return inputAttribution(
      this.name,
      tf.tensor4d(attributions, [batch, heightPx, widthPx, channels]),
      options,
    );
  },
};
