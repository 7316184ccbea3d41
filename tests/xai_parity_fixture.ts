/**
 * What the Captum parity tests (`xai_parity_test.ts`, `xai_parity_more_test.ts`) share: the
 * architectures in `$TORCH_PARITY_DIR`, a loaded fixture (torchvision's weights in our model, the
 * NHWC inputs, the targets), the NCHW layout of its arrays and the acceptance check of a set of
 * arrays against the fixture's.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { listDirSorted } from "../core/fs.ts";
import { readNpyFile, requireDtype } from "../data/npy.ts";
import { type BackendName, startBackend } from "../backends/backend.ts";
import { buildModel } from "../models/registry.ts";
import { readSafetensorsFile } from "../models/safetensors.ts";
import { loadTorchStateDict } from "../models/torch_weights.ts";
import { assert, assertEquals } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";
import {
  type AcceptanceRule,
  arrayMismatch,
  type NoiseFloor,
  PARITY_DIR,
} from "./torch_parity_rule.ts";

/**
 * The backend every parity test runs on: wasm, whose `MaxPoolGrad` sends ties to the first
 * maximum of a window as PyTorch does (`backends/wasm/wasm_max_pool_grad.ts`).
 */
export const BACKEND: BackendName = "wasm";

/** The fields of `<arch>_expected.json` the tests read. */
export interface Expected {
  size: number;
  num_classes: number;
  target: number[];
  last_conv: { name: string };
  integrated_gradients: Record<string, { n_steps: number; convergence_delta: number[] }>;
  f32_vs_f64: { results: Record<string, NoiseFloor> };
}

/** A loaded fixture: the model with torchvision's weights and the NHWC inputs. */
export interface Fixture {
  expected: Expected;
  model: tf.LayersModel;
  xNHWC: tf.Tensor4D;
  targets: Int32Array;
  /** The array `<arch>_<name>.npy`. */
  reference(name: string): Promise<Float32Array>;
}

/**
 * The architectures with weights (`<arch>.safetensors`) in the fixture folder, sorted; undefined
 * when the folder is absent.
 */
export async function parityArchs(): Promise<string[] | undefined> {
  if (!(await pathExists(PARITY_DIR))) return undefined;
  return (await listDirSorted(PARITY_DIR))
    .filter((entry) => entry.isFile && entry.name.endsWith(".safetensors"))
    .map((entry) => entry.name.slice(0, -".safetensors".length));
}

/** A float32 `.npy` array of the fixture folder. */
export async function readReference(file: string): Promise<Float32Array> {
  const path = `${PARITY_DIR}/${file}`;
  return requireDtype(await readNpyFile(path), "float32", path).data;
}

/** Loads `arch`'s fixture on `backend`. */
export async function loadFixture(arch: string, backend: BackendName): Promise<Fixture> {
  await startBackend(backend);
  const expected: Expected = JSON.parse(
    await Deno.readTextFile(`${PARITY_DIR}/${arch}_expected.json`),
  );
  const weightsPath = `${PARITY_DIR}/${arch}.safetensors`;
  const { tensors } = await readSafetensorsFile(weightsPath);
  const inputsPath = `${PARITY_DIR}/${arch}_inputs.npy`;
  const inputs = requireDtype(await readNpyFile(inputsPath), "float32", inputsPath);
  const model = buildModel(arch, { numClasses: expected.num_classes, imgSizePx: expected.size });
  loadTorchStateDict(model, tensors, { source: weightsPath });
  const [batch, channels, heightPx, widthPx] = inputs.shape;
  const xNHWC = tf.tidy(() =>
    tf.transpose(tf.tensor4d(inputs.data, [batch, channels, heightPx, widthPx]), [0, 2, 3, 1])
  );
  return {
    expected,
    model,
    xNHWC,
    targets: Int32Array.from(expected.target),
    reference: (name) => readReference(`${arch}_${name}.npy`),
  };
}

/** Frees the fixture's model and inputs. */
export function disposeFixture(fixture: Fixture): void {
  fixture.model.dispose();
  fixture.xNHWC.dispose();
}

/** [N, H, W, C] → [N, C, H, W], the fixtures' layout. */
export function nhwcToNchw(valuesNHWC: Float32Array, shapeNHW: readonly number[]): Float32Array {
  const [batch, heightPx, widthPx] = shapeNHW;
  const channels = valuesNHWC.length / (batch * heightPx * widthPx);
  const out = new Float32Array(valuesNHWC.length);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < heightPx * widthPx; p++) {
      for (let c = 0; c < channels; c++) {
        out[(n * channels + c) * heightPx * widthPx + p] =
          valuesNHWC[(n * heightPx * widthPx + p) * channels + c];
      }
    }
  }
  return out;
}

/**
 * Checks each (fixture array name → our values) pair against `reference(name)` with the noise
 * floors of `floors` (a fixture JSON), reporting every array before failing.
 */
export async function checkArrays(
  arch: string,
  floors: { f32_vs_f64: { results: Record<string, NoiseFloor> } },
  reference: (name: string) => Promise<Float32Array>,
  ours: Record<string, Float32Array>,
  rule: AcceptanceRule = "fixture",
): Promise<void> {
  const label = `${arch} (${BACKEND})`;
  const mismatches: string[] = [];
  for (const [name, values] of Object.entries(ours)) {
    const floor = floors.f32_vs_f64.results[name];
    assert(floor !== undefined, `${label}: the fixture has no noise floor for ${name}`);
    const mismatch = arrayMismatch(label, name, values, await reference(name), floor, rule);
    if (mismatch) mismatches.push(mismatch);
  }
  assertEquals(mismatches, [], `${label}: attributions differ from Captum's`);
}
