/**
 * PyTorch parity: for every `<arch>.safetensors` in `$TORCH_PARITY_DIR` (default
 * `../shared/torch-parity`), build `<arch>` from the registry, load the torchvision weights,
 * run `<arch>_inputs.npy` and compare the logits with PyTorch's (max abs diff <= 1e-4). The
 * `forward_stats` checkpoints (conv1, layer1.0, ..., features.18) are compared too, so a
 * failure names the first module where the port goes wrong.
 */
import { tf } from "../deps.ts";
import { listDirSorted } from "../core/fs.ts";
import { readNpyFile, requireDtype } from "../data/npy.ts";
import { type BackendName, startBackend } from "../backends/backend.ts";
import { torchModuleOutputLayer } from "../models/layers.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import { readSafetensorsFile } from "../models/safetensors.ts";
import { loadTorchStateDict, torchStateDictKeys } from "../models/torch_weights.ts";
import { assert, assertEquals } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";

const PARITY_DIR = Deno.env.get("TORCH_PARITY_DIR") ?? "../shared/torch-parity";
const LOGITS_MAX_ABS_DIFF = 1e-4;
/** Checkpoint values may differ by this fraction of the checkpoint's largest magnitude. */
const CHECKPOINT_REL_TOLERANCE = 1e-4;
/** Architectures also checked on the pure-JS cpu backend (resnet18 takes ~3 s there). */
const CPU_CHECKED = new Set(["resnet18", "mobilenet_v2", "ecgnet"]);
/** wasm runs every architecture; cpu, ~5-15x slower, the small ones as a second opinion. */
const BACKEND_RUNS: readonly [BackendName, (arch: string) => boolean][] = [
  ["wasm", () => true],
  ["cpu", (arch) => CPU_CHECKED.has(arch)],
];

/** One `forward_stats` entry of `<arch>_expected.json`. */
interface ForwardStats {
  shape: number[];
  sum: number;
  abs_sum: number;
  min: number;
  max: number;
  probe_flat_index: number[];
  probe_values: number[];
}

interface Expected {
  size: number;
  num_classes: number;
  logits: number[][];
  forward_stats: Record<string, ForwardStats>;
}

/** Why our NHWC activation disagrees with PyTorch's NCHW statistics, or undefined. */
function checkpointMismatch(nhwc: Float32Array, ref: ForwardStats): string | undefined {
  const [, channels, heightPx = 1, widthPx = 1] = ref.shape;
  const tolerance = CHECKPOINT_REL_TOLERANCE * Math.max(Math.abs(ref.min), Math.abs(ref.max));
  let [min, max, sum, absSum] = [Infinity, -Infinity, 0, 0];
  for (const v of nhwc) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    absSum += Math.abs(v);
  }
  const count = ref.shape.reduce((a, b) => a * b, 1);
  if (nhwc.length !== count) return `${nhwc.length} values, PyTorch has ${count}`;
  const problems: string[] = [];
  const near = (what: string, ours: number, theirs: number, tol: number) => {
    if (!(Math.abs(ours - theirs) <= tol)) problems.push(`${what} ${ours} vs ${theirs}`);
  };
  near("min", min, ref.min, tolerance);
  near("max", max, ref.max, tolerance);
  // Rounding errors of single elements add up at most to about tolerance x sqrt(count).
  near("sum", sum, ref.sum, tolerance * Math.sqrt(count));
  near("abs_sum", absSum, ref.abs_sum, tolerance * Math.sqrt(count));
  ref.probe_flat_index.forEach((flat, i) => {
    const w = flat % widthPx;
    const h = Math.floor(flat / widthPx) % heightPx;
    const c = Math.floor(flat / (widthPx * heightPx)) % channels;
    const n = Math.floor(flat / (widthPx * heightPx * channels));
    const ours = nhwc[((n * heightPx + h) * widthPx + w) * channels + c];
    near(`[n=${n},c=${c},h=${h},w=${w}]`, ours, ref.probe_values[i], tolerance);
  });
  return problems.length ? problems.slice(0, 4).join("; ") : undefined;
}

async function runParity(arch: string, backend: BackendName): Promise<void> {
  const registered = ARCHITECTURES.map((a) => a.name);
  assert(
    registered.includes(arch),
    `${PARITY_DIR}/${arch}.safetensors: "${arch}" is not a registered architecture ` +
      `(${registered.join(", ")}); add it to models/registry.ts or remove the fixture`,
  );
  await startBackend(backend);
  const expected: Expected = JSON.parse(
    await Deno.readTextFile(`${PARITY_DIR}/${arch}_expected.json`),
  );
  const weightsPath = `${PARITY_DIR}/${arch}.safetensors`;
  const { tensors } = await readSafetensorsFile(weightsPath);
  const inputsPath = `${PARITY_DIR}/${arch}_inputs.npy`;
  const inputs = requireDtype(await readNpyFile(inputsPath), "float32", inputsPath);

  const model = buildModel(arch, { numClasses: expected.num_classes, imgSizePx: expected.size });
  try {
    loadTorchStateDict(model, tensors, { source: weightsPath });
    const checkpoints = Object.keys(expected.forward_stats);
    // The logits come last; tfjs refuses an output listed twice (the head is a checkpoint too).
    const probeOutputs = [
      ...checkpoints.map((name) => torchModuleOutputLayer(model, name).output as tf.SymbolicTensor),
    ].filter((t) => t !== model.outputs[0]).concat(model.outputs[0]);
    const probe = tf.model({ inputs: model.inputs, outputs: probeOutputs });
    const outputs = tf.tidy(() => {
      const nchw = tf.tensor(inputs.data, inputs.shape);
      return probe.predictOnBatch(tf.transpose(nchw, [0, 2, 3, 1])) as tf.Tensor[];
    });
    const values = await Promise.all(outputs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outputs);

    const logits = values[values.length - 1];
    const maxAbsDiff = Math.max(
      ...expected.logits.flat().map((v, i) => Math.abs(v - logits[i])),
    );
    const valuesOf = (name: string) =>
      values[probeOutputs.indexOf(torchModuleOutputLayer(model, name).output as tf.SymbolicTensor)];
    const mismatches = checkpoints
      .map((name) => [name, checkpointMismatch(valuesOf(name), expected.forward_stats[name])])
      .filter(([, problem]) => problem !== undefined);
    console.log(`${arch} on ${backend}: logits max abs diff ${maxAbsDiff.toExponential(2)}`);
    assert(
      maxAbsDiff <= LOGITS_MAX_ABS_DIFF,
      `${arch} (${backend}): logits differ from PyTorch by ${maxAbsDiff} > ${LOGITS_MAX_ABS_DIFF};` +
        ` first diverging module: ${mismatches[0]?.join(": ") ?? "none of the checkpoints"}`,
    );
    assertEquals(mismatches, [], `${arch} (${backend}): intermediate activations differ`);
    assertEquals(
      torchStateDictKeys(model),
      [...tensors.keys()],
      `${arch}: exported keys are not in the file's state_dict() order`,
    );
  } finally {
    model.dispose();
  }
}

const archs = (await pathExists(PARITY_DIR))
  ? (await listDirSorted(PARITY_DIR))
    .filter((entry) => entry.isFile && entry.name.endsWith(".safetensors"))
    .map((entry) => entry.name.slice(0, -".safetensors".length))
  : undefined;

if (archs === undefined) {
  Deno.test({
    name: `torch parity: skipped, ${PARITY_DIR} not found (set TORCH_PARITY_DIR to the fixtures)`,
    ignore: true,
    fn: () => {},
  });
}
for (const arch of archs ?? []) {
  for (const [backend, runs] of BACKEND_RUNS) {
    if (!runs(arch)) continue;
    Deno.test(`torch parity: ${arch} logits match PyTorch within 1e-4 on ${backend}`, () =>
      runParity(arch, backend));
  }
}
