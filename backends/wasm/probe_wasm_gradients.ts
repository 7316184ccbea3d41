/**
 * Which kernels a gradient through each op the architectures use needs that the wasm backend
 * lacks: each probe runs on the cpu backend (which has every kernel) under `tf.profile`, and
 * the kernels it ran are looked up in the wasm registry.
 *
 * Run `deno run --allow-read=. backends/wasm/probe_wasm_gradients.ts` to list what stock wasm lacks.
 *
 * @module
 */
import { tf } from "../../deps.ts";

/** A scalar loss whose gradient w.r.t. all of `shapes`' tensors (and the weights) exercises one op. */
export interface GradientProbe {
  name: string;
  /** Shapes of the tensors the loss takes (input first, then weights). */
  shapes: number[][];
  loss: (...tensors: tf.Tensor[]) => tf.Scalar;
}

const X = [2, 9, 9, 4];
const conv = (x: tf.Tensor, w: tf.Tensor, stride: number) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, "same");
const depthwise = (x: tf.Tensor, w: tf.Tensor, stride: number) =>
  tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, "same");

const torchRelu6 = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return {
    value: tf.relu6(x),
    gradFunc: (dy: tf.Tensor) =>
      tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), "float32")),
  };
});

/** The ops of resnet, densenet, vgg16_bn, efficientnet and mobilenet_v2, and their training. */
export const GRADIENT_PROBES: readonly GradientProbe[] = [
  { name: "conv2d stride 2", shapes: [X, [3, 3, 4, 6]], loss: (x, w) => tf.sum(conv(x, w, 2)) },
  {
    name: "fused conv2d + bias (tfjs-layers)",
    shapes: [X, [3, 3, 4, 6], [6]],
    loss: (x, w, b) =>
      tf.sum(
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          strides: 1,
          pad: "same",
        }),
      ),
  },
  {
    name: "depthwise conv2d stride 2",
    shapes: [X, [3, 3, 4, 1]],
    loss: (x, w) => tf.sum(depthwise(x, w, 2)),
  },
  {
    name: "fused depthwise conv2d + bias",
    shapes: [X, [3, 3, 4, 1], [4]],
    loss: (x, w, b) =>
      tf.sum(
        tf.fused.depthwiseConv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          strides: 1,
          pad: "same",
        }),
      ),
  },
  {
    name: "max pool 3x3/2",
    shapes: [X],
    loss: (x) => tf.sum(tf.maxPool(x as tf.Tensor4D, 3, 2, "valid")),
  },
  {
    name: "avg pool 2x2/2",
    shapes: [X],
    loss: (x) => tf.sum(tf.avgPool(x as tf.Tensor4D, 2, 2, "valid")),
  },
  { name: "relu", shapes: [X], loss: (x) => tf.sum(tf.relu(x)) },
  { name: "relu6", shapes: [X], loss: (x) => tf.sum(tf.relu6(x)) },
  {
    name: "relu6 with torch's mask (models/layers.ts)",
    shapes: [X],
    loss: (x) => tf.sum(torchRelu6(x)),
  },
  { name: "silu", shapes: [X], loss: (x) => tf.sum(tf.mul(x, tf.sigmoid(x))) },
  {
    name: "squeeze-excitation scale",
    shapes: [X],
    loss: (x) => tf.sum(tf.mul(x, tf.sigmoid(tf.mean(x, [1, 2], true)))),
  },
  {
    name: "batch norm (training statistics)",
    shapes: [X, [4], [4]],
    loss: (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.sum(tf.batchNorm(x, mean, variance, beta, gamma, 1e-5));
    },
  },
  {
    name: "concat + zero padding",
    shapes: [X, X],
    loss: (x, y) => tf.sum(tf.pad(tf.concat([x, y], 3), [[0, 0], [1, 1], [1, 1], [0, 0]])),
  },
  {
    name: "dense + softmax cross-entropy",
    shapes: [[2, 8], [8, 3], [3]],
    loss: (x, w, b) => {
      const logits = tf.fused.matMul({ a: x, b: w, bias: b });
      const oneHot = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), 1)));
    },
  },
];

/** A probe's name and the kernels its gradient ran that wasm does not register. */
export interface ProbeResult {
  probe: string;
  missing: string[];
}

/**
 * Runs every probe on the cpu backend and lists the kernels wasm lacks; restores the backend
 * that was current.
 *
 * @example
 * ```ts ignore
 * const results = await wasmMissingGradientKernels();
 * ```
 */
export async function wasmMissingGradientKernels(
  probes: readonly GradientProbe[] = GRADIENT_PROBES,
): Promise<ProbeResult[]> {
  const previous = tf.getBackend();
  await tf.setBackend("cpu");
  try {
    const results: ProbeResult[] = [];
    for (const probe of probes) {
      const profile = await tf.profile(() => {
        // Variables, so that weight gradients are taken as in training (tf.variableGrads).
        const tensors = probe.shapes.map((shape, i) =>
          tf.variable(tf.randomNormal(shape, 0, 1, "float32", i + 1))
        );
        tf.tidy(() => {
          tf.variableGrads(() => probe.loss(...tensors));
        });
        tf.dispose(tensors);
      });
      // customGrad functions show up under their op's name and have no kernel of their own.
      const missing = [...new Set(profile.kernelNames)].filter((k) =>
        tf.getKernel(k, "cpu") && !tf.getKernel(k, "wasm")
      );
      results.push({ probe: probe.name, missing: missing.sort() });
    }
    return results;
  } finally {
    if (previous) await tf.setBackend(previous);
  }
}

if (import.meta.main) {
  tf.enableProdMode();
  for (const { probe, missing } of await wasmMissingGradientKernels()) {
    console.log(`${probe}: ${missing.length ? missing.join(", ") : "-"}`);
  }
}
