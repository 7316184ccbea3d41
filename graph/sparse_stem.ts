/**
 * The stem of a model for inputs that differ from known ones in some pixels. A copy of an image
 * with M pixels replaced (FaithfulnessCorrelation: 50 random pixels of 50,176, fifty times per
 * image; Occlusion: a window; LIME: hidden superpixels) changes the stem's output only where those
 * pixels are in view: with the stem P affine (`affine_prefix.ts`), P(x') = P(x) + L (x' − x), and
 * L (x' − x) is a few kernel footprints. Adding those to P(x) costs M · kh · kw · C · F
 * multiply-adds (0.5 M for 50 pixels through resnet18's 7 x 7 stem) instead of a whole
 * convolution (118 M, about an eighth of resnet18's forward time on wasm with OpenBLAS).
 *
 * @module
 */
import { tf } from "../deps.ts";
import { tensorMemory } from "../backends/accelerated.ts";
import { AffinePrefix } from "./affine_prefix.ts";
import { batchNormAffine } from "./fold_batchnorm.ts";

/**
 * A change of one image's stem output, nonzero only in a window of its grid: rows x cols
 * positions from (top, left), F values each.
 */
export interface StemFootprint {
  top: number;
  left: number;
  rows: number;
  cols: number;
  valuesRCF: Float32Array;
}

/** Rows and columns of zeros a layer adds before (top, left) the input. */
interface Offsets {
  top: number;
  left: number;
}

/** tfjs' `same` padding: the part of the total padding before the input. */
function samePaddingBefore(inPx: number, kernelPx: number, stride: number): number {
  const outPx = Math.ceil(inPx / stride);
  return Math.floor(Math.max((outPx - 1) * stride + kernelPx - inPx, 0) / 2);
}

/**
 * A model's stem when it is zero padding, one linear `Conv2D` (dilation 1) and BatchNorm layers:
 * {@link base} evaluates it on whole images, {@link addEdit} updates one image's stem output for
 * pixels replaced by a value, and {@link footprint} / {@link addFootprint} precompute and add the
 * change of replacing a fixed set of pixels (a superpixel).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../deps.ts";
 * import { SparseStem } from "./sparse_stem.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same", kernelInitializer: "ones" });
 * const h = tf.layers.reLU().apply(conv.apply(x)) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const stem = SparseStem.of(tf.model({ inputs: x, outputs: y }))!;
 * const image = new Float32Array(16).fill(1);
 * const out = await stem.base(image);
 * stem.addEdit(out, image, [0], 0); // pixel (0, 0) set to 0: its 2 x 2 neighbourhood loses 1
 * assert(out.slice(0, 4).join() === "3,5,6,4" && out[5] === 8);
 * ```
 */
export class SparseStem {
  /** The affine prefix this stem is. */
  readonly prefix: AffinePrefix;
  /** [H, W, C] of one input image. */
  readonly inputShape: readonly [number, number, number];
  /** [H', W', F] of one image's stem output. */
  readonly outputShape: readonly [number, number, number];
  readonly #kernel: Float32Array; // [kh, kw, C, F], BatchNorm scales applied
  readonly #kernelPx: readonly [number, number];
  readonly #strides: readonly [number, number];
  readonly #offsets: Offsets; // of the convolution's input grid relative to the image

  private constructor(
    prefix: AffinePrefix,
    kernel: Float32Array,
    geometry: {
      kernelPx: [number, number];
      strides: [number, number];
      offsets: Offsets;
      inputShape: [number, number, number];
      outputShape: [number, number, number];
    },
  ) {
    this.prefix = prefix;
    this.#kernel = kernel;
    this.#kernelPx = geometry.kernelPx;
    this.#strides = geometry.strides;
    this.#offsets = geometry.offsets;
    this.inputShape = geometry.inputShape;
    this.outputShape = geometry.outputShape;
  }

  /**
   * The model's sparse stem where making copies at it pays: on backends whose tensors live in
   * host memory (wasm, cpu; `tensorMemory` in `backends/accelerated.ts`), where the stem's
   * convolution is about an eighth of resnet18's forward pass. Undefined where they live in
   * device memory (webgpu: the copies are built on the GPU there) and as {@link SparseStem.of}.
   */
  static forCopies(model: tf.LayersModel): SparseStem | undefined {
    return tensorMemory() === "device" ? undefined : SparseStem.of(model);
  }

  /** The model's sparse stem, or undefined when its affine prefix has another form. */
  static of(model: tf.LayersModel): SparseStem | undefined {
    const prefix = AffinePrefix.of(model);
    const inputShape = model.inputs[0].shape.slice(1) as number[];
    if (!prefix || inputShape.length !== 3 || inputShape.some((d) => !d)) return undefined;
    const layers = prefix.layers.map((name) => model.getLayer(name));
    const classes = layers.map((l) => l.getClassName());
    const convAt = classes.indexOf("Conv2D");
    const expected = classes.every((c, i) =>
      i < convAt ? c === "ZeroPadding2D" : i === convAt || c === "BatchNormalization"
    );
    if (convAt < 0 || !expected) return undefined;
    const conv = layers[convAt];
    const config = conv.getConfig() as {
      strides: [number, number];
      padding: string;
      dilationRate: number | [number, number];
      dataFormat: string;
    };
    const dilation = [config.dilationRate].flat();
    if (config.dataFormat !== "channelsLast" || dilation.some((d) => d !== 1)) return undefined;
    const offsets: Offsets = { top: 0, left: 0 };
    let [gridH, gridW] = inputShape;
    for (const pad of layers.slice(0, convAt)) {
      const [[top, bottom], [left, right]] = (pad.getConfig() as {
        padding: [[number, number], [number, number]];
      }).padding;
      offsets.top += top;
      offsets.left += left;
      gridH += top + bottom;
      gridW += left + right;
    }
    const [kh, kw, , filters] = conv.getWeights()[0].shape;
    const [sh, sw] = config.strides;
    if (config.padding === "same") {
      offsets.top += samePaddingBefore(gridH, kh, sh);
      offsets.left += samePaddingBefore(gridW, kw, sw);
    }
    const kernel = tf.tidy(() => {
      let k = conv.getWeights()[0];
      for (const bn of layers.slice(convAt + 1)) k = tf.mul(k, batchNormAffine(bn)[0]);
      return k.dataSync() as Float32Array;
    });
    const outputShape = prefix.output.shape.slice(1) as [number, number, number];
    if (outputShape[2] !== filters) return undefined;
    return new SparseStem(prefix, kernel, {
      kernelPx: [kh, kw],
      strides: [sh, sw],
      offsets,
      inputShape: inputShape as [number, number, number],
      outputShape,
    });
  }

  /**
   * Whether editing `pixelsPerEdit` pixels is cheaper than running the stem on a whole image: an
   * edit's multiply-adds run in these plain loops, several times slower per operation than the
   * convolution libraries, so it pays up to an eighth of the output grid's positions.
   */
  editPays(pixelsPerEdit: number): boolean {
    return pixelsPerEdit * 8 <= this.outputShape[0] * this.outputShape[1];
  }

  /** The stem's output for whole images (NHWC values, N of them), [N, H', W', F] as one array. */
  async base(imagesNHWC: Float32Array): Promise<Float32Array> {
    const imageValues = this.inputShape.reduce((a, b) => a * b, 1);
    const out = tf.tidy(() =>
      this.prefix.apply(
        tf.tensor4d(imagesNHWC, [imagesNHWC.length / imageValues, ...this.inputShape]),
      )
    );
    try {
      return await out.data() as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /**
   * Turns `stemHWF`, the stem's output for `imageHWC`, into the output for the image with
   * `pixels` (indices into H·W; repeats count once) set to `value` in every channel.
   */
  addEdit(
    stemHWF: Float32Array,
    imageHWC: Float32Array,
    pixels: ArrayLike<number>,
    value: number,
  ): void {
    const [outH, outW] = this.outputShape;
    this.#scatter(
      stemHWF,
      { top: 0, left: 0, rows: outH, cols: outW },
      imageHWC,
      pixels,
      () => value,
    );
  }

  /**
   * The change of the stem's output when `pixels` of `imageHWC` (indices into H·W; repeats
   * count once) take their values in `replacementHWC`, an image of the same shape: a window of the output
   * grid, for {@link addFootprint} (LIME adds one per hidden segment).
   */
  footprint(
    imageHWC: Float32Array,
    replacementHWC: Float32Array,
    pixels: ArrayLike<number>,
  ): StemFootprint {
    const channels = this.inputShape[2];
    const window = { top: Infinity, left: Infinity, rows: 0, cols: 0 };
    let [bottom, right] = [-1, -1];
    for (let j = 0; j < pixels.length; j++) {
      const { oyFirst, oyLast, oxFirst, oxLast } = this.#reach(pixels[j]);
      window.top = Math.min(window.top, oyFirst);
      window.left = Math.min(window.left, oxFirst);
      bottom = Math.max(bottom, oyLast);
      right = Math.max(right, oxLast);
    }
    if (bottom < 0 || right < 0) {
      return { top: 0, left: 0, rows: 0, cols: 0, valuesRCF: new Float32Array(0) };
    }
    window.rows = bottom - window.top + 1;
    window.cols = right - window.left + 1;
    const valuesRCF = new Float32Array(window.rows * window.cols * this.outputShape[2]);
    this.#scatter(
      valuesRCF,
      window,
      imageHWC,
      pixels,
      (p, c) => replacementHWC[p * channels + c],
    );
    return { ...window, valuesRCF };
  }

  /** Adds a {@link footprint} into one image's stem output `stemHWF`. */
  addFootprint(stemHWF: Float32Array, footprint: StemFootprint): void {
    const [, outW, filters] = this.outputShape;
    const span = footprint.cols * filters;
    for (let r = 0; r < footprint.rows; r++) {
      const to = ((footprint.top + r) * outW + footprint.left) * filters;
      const from = r * span;
      for (let j = 0; j < span; j++) stemHWF[to + j] += footprint.valuesRCF[from + j];
    }
  }

  /** The output positions whose receptive field holds input pixel `p`. */
  #reach(
    p: number,
  ): { gy: number; gx: number; oyFirst: number; oyLast: number; oxFirst: number; oxLast: number } {
    const width = this.inputShape[1];
    const [outH, outW] = this.outputShape;
    const [kh, kw] = this.#kernelPx;
    const [sh, sw] = this.#strides;
    // The pixel sits at (gy, gx) of the convolution's padded grid; output (oy, ox) sees it
    // through tap (gy − oy·sh, gx − ox·sw) when that tap lies inside the kernel.
    const gy = Math.floor(p / width) + this.#offsets.top;
    const gx = (p % width) + this.#offsets.left;
    return {
      gy,
      gx,
      oyFirst: Math.max(0, Math.ceil((gy - kh + 1) / sh)),
      oyLast: Math.min(outH - 1, Math.floor(gy / sh)),
      oxFirst: Math.max(0, Math.ceil((gx - kw + 1) / sw)),
      oxLast: Math.min(outW - 1, Math.floor(gx / sw)),
    };
  }

  /**
   * Adds L (x' − x) into `target`, a window of the output grid ([rows, cols, F] from (top,
   * left)), where x' is `imageHWC` with `pixels` (repeats count once) set to `replacement`.
   */
  #scatter(
    target: Float32Array,
    window: { top: number; left: number; rows: number; cols: number },
    imageHWC: Float32Array,
    pixels: ArrayLike<number>,
    replacement: (pixel: number, channel: number) => number,
  ): void {
    const channels = this.inputShape[2];
    const filters = this.outputShape[2];
    const kw = this.#kernelPx[1];
    const [sh, sw] = this.#strides;
    const delta = new Float32Array(channels);
    const seen = new Set<number>();
    for (let j = 0; j < pixels.length; j++) {
      const p = pixels[j];
      if (seen.has(p)) continue;
      seen.add(p);
      let changed = false;
      for (let c = 0; c < channels; c++) {
        delta[c] = Math.fround(replacement(p, c) - imageHWC[p * channels + c]);
        changed ||= delta[c] !== 0;
      }
      if (!changed) continue;
      const { gy, gx, oyFirst, oyLast, oxFirst, oxLast } = this.#reach(p);
      for (let oy = oyFirst; oy <= oyLast; oy++) {
        const ky = gy - oy * sh;
        for (let ox = oxFirst; ox <= oxLast; ox++) {
          const kx = gx - ox * sw;
          const out = ((oy - window.top) * window.cols + ox - window.left) * filters;
          const tap = (ky * kw + kx) * channels * filters;
          for (let c = 0; c < channels; c++) {
            const d = delta[c];
            if (d === 0) continue;
            const row = tap + c * filters;
            for (let f = 0; f < filters; f++) target[out + f] += d * this.#kernel[row + f];
          }
        }
      }
    }
  }
}
