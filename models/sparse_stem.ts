/**
 * The stem of a model for inputs that differ from known ones in a few pixels. A metric that
 * replaces M random pixels of an image (FaithfulnessCorrelation: 50 of 50,176, fifty times per
 * image) changes the stem's output only where those pixels are in view: with the stem P affine
 * (`affine_prefix.ts`), P(x') = P(x) + L (x' − x), and L (x' − x) is a few kernel footprints.
 * Adding those to P(x) costs M · kh · kw · C · F multiply-adds (0.5 M for resnet18's 7 x 7 stem)
 * instead of a whole convolution (118 M), about a sixth of resnet18's forward pass.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { AffinePrefix } from "./affine_prefix.ts";
import { batchNormAffine } from "./fold_batchnorm.ts";

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
 * pixels replaced by a value.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { SparseStem } from "./sparse_stem.ts";
 * await tf.setBackend("cpu");
 * const x = tf.input({ shape: [4, 4, 1] });
 * const conv = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same", kernelInitializer: "ones" });
 * const h = tf.layers.reLU().apply(conv.apply(x)) as tf.SymbolicTensor;
 * const y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
 * const stem = SparseStem.of(tf.model({ inputs: x, outputs: y }))!;
 * const image = new Float32Array(16).fill(1);
 * const out = await stem.base(tf.tensor4d(image, [1, 4, 4, 1]));
 * stem.addEdit(out, image, [0], 0); // pixel (0, 0) set to 0: its 2 x 2 neighbourhood loses 1
 * console.assert(out.slice(0, 4).join() === "3,5,6,4" && out[5] === 8);
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

  /** The stem's output for a batch of whole images, [N, H', W', F] as one array. */
  async base(xNHWC: tf.Tensor4D): Promise<Float32Array> {
    const out = this.prefix.apply(xNHWC);
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
    const [, width, channels] = this.inputShape;
    const [outH, outW, filters] = this.outputShape;
    const [kh, kw] = this.#kernelPx;
    const [sh, sw] = this.#strides;
    const delta = new Float32Array(channels);
    const seen = new Set<number>();
    for (let j = 0; j < pixels.length; j++) {
      const p = pixels[j];
      if (seen.has(p)) continue;
      seen.add(p);
      let changed = false;
      for (let c = 0; c < channels; c++) {
        delta[c] = Math.fround(value - imageHWC[p * channels + c]);
        changed ||= delta[c] !== 0;
      }
      if (!changed) continue;
      // The pixel sits at (gy, gx) of the convolution's padded grid; output (oy, ox) sees it
      // through tap (gy − oy·sh, gx − ox·sw) when that tap lies inside the kernel.
      const gy = Math.floor(p / width) + this.#offsets.top;
      const gx = (p % width) + this.#offsets.left;
      const oyFirst = Math.max(0, Math.ceil((gy - kh + 1) / sh));
      const oyLast = Math.min(outH - 1, Math.floor(gy / sh));
      const oxFirst = Math.max(0, Math.ceil((gx - kw + 1) / sw));
      const oxLast = Math.min(outW - 1, Math.floor(gx / sw));
      for (let oy = oyFirst; oy <= oyLast; oy++) {
        const ky = gy - oy * sh;
        for (let ox = oxFirst; ox <= oxLast; ox++) {
          const kx = gx - ox * sw;
          const out = (oy * outW + ox) * filters;
          const tap = (ky * kw + kx) * channels * filters;
          for (let c = 0; c < channels; c++) {
            const d = delta[c];
            if (d === 0) continue;
            const row = tap + c * filters;
            for (let f = 0; f < filters; f++) stemHWF[out + f] += d * this.#kernel[row + f];
          }
        }
      }
    }
  }
}
