/**
 * `deno task import` and `deno task export`: PyTorch weights become a checkpoint every stage
 * uses (eval here; xai and quantus on the torch-parity resnet18, whose Grad-CAM maps must equal
 * Captum's by the fixture's acceptance rule), and a checkpoint goes back to `.safetensors` bit for
 * bit (the torch-parity file's tensors included). Also: the `module.` prefix, a head of another
 * class count, float16 / bfloat16 files, and the flag errors.
 */
import { createHash } from "node:crypto";
import { parseCsv, png } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { readNpyFile, requireDtype } from "../data/npy.ts";
import { buildModel } from "../models/registry.ts";
import {
  type HostTensor,
  readSafetensorsFile,
  writeSafetensorsFile,
} from "../models/safetensors.ts";
import { exportTorchStateDict, type TorchStateDict } from "../models/torch_weights.ts";
import type { CheckpointMeta } from "../training/checkpoint_io.ts";
import { planCharts } from "../plots/draw_charts.ts";
import { outputsStatus } from "../stages/status.ts";
import { assert, assertEquals } from "./assert.ts";
import { writeImageFolder } from "./fixtures.ts";
import { runMain as run } from "./stage_runner.ts";
import { pathExists, testDir } from "./test_dirs.ts";
import { arrayMismatch, type NoiseFloor, PARITY_DIR } from "./torch_parity_rule.ts";

const SIZE_PX = 32;
const TWO_CLASSES = ["A", "B"];

/** A seeded ecgnet's weights as torch names them. */
async function ecgnetState(numClasses: number): Promise<TorchStateDict> {
  await startBackend("cpu");
  const model = buildModel("ecgnet", { numClasses, imgSizePx: SIZE_PX, seed: 1 });
  try {
    return await exportTorchStateDict(model);
  } finally {
    model.dispose();
  }
}

/** `deno task import` of `weights` as a two-class ecgnet at 32 px into `out`. */
function importEcgnet(weights: string, out: string, ...more: string[]) {
  return run([
    "import",
    ...["--model", "ecgnet", "--weights", weights, "--classes", TWO_CLASSES.join(",")],
    ...["--img-size", String(SIZE_PX), "--out", out, ...more],
  ]);
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Same keys in the same order, same shapes, and the same float32 bits. */
function assertSameTensors(
  actual: ReadonlyMap<string, HostTensor>,
  expected: ReadonlyMap<string, HostTensor>,
): void {
  assertEquals([...actual.keys()], [...expected.keys()]);
  for (const [key, { shape, data }] of expected) {
    assertEquals(actual.get(key)!.shape, shape, key);
    assert(sameBytes(bytesOf(actual.get(key)!.data), bytesOf(data)), `${key}: values differ`);
  }
}

async function checkpointMeta(out: string, model = "ecgnet"): Promise<CheckpointMeta> {
  return JSON.parse(await Deno.readTextFile(`${out}/checkpoints/${model}_best/meta.json`));
}

async function weightsBin(out: string): Promise<Uint8Array> {
  return await Deno.readFile(`${out}/checkpoints/ecgnet_best/weights.bin`);
}

/** Exports `out`'s ecgnet checkpoint to `file` and reads the file back. */
async function exportEcgnet(out: string, file: string): Promise<ReadonlyMap<string, HostTensor>> {
  const exported = await run([
    "export",
    ...["--checkpoint", `${out}/checkpoints/ecgnet_best`, "--out", file],
  ]);
  assertEquals(exported.code, 0, exported.err);
  return (await readSafetensorsFile(file)).tensors;
}

/** A `.safetensors` file of `state` as F16 or BF16 tensors, and the float32 values they hold. */
function halfPrecisionFile(
  state: TorchStateDict,
  dtype: "F16" | "BF16",
): { bytes: Uint8Array; values: TorchStateDict } {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  const values: TorchStateDict = new Map();
  let offset = 0;
  for (const [key, { shape, data }] of state) {
    let halves: Uint16Array;
    let held: Float32Array;
    if (dtype === "F16") {
      const f16 = Float16Array.from(data);
      halves = new Uint16Array(f16.buffer);
      held = Float32Array.from(f16);
    } else {
      // bfloat16 keeps a float32's top 16 bits (truncation is one valid rounding).
      const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
      halves = Uint16Array.from(bits, (b) => b >>> 16);
      held = new Float32Array(Uint32Array.from(halves, (h) => h << 16).buffer);
    }
    header[key] = { dtype, shape, data_offsets: [offset, offset + halves.byteLength] };
    parts.push(new Uint8Array(halves.buffer));
    values.set(key, { shape, data: held });
    offset += halves.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  let position = 8 + json.length;
  for (const part of parts) {
    bytes.set(part, position);
    position += part.length;
  }
  return { bytes, values };
}

Deno.test("import: a checkpoint eval accepts; export gives the file back bit for bit", async () => {
  await using dir = await testDir();
  const state = await ecgnetState(TWO_CLASSES.length);
  const original = `${dir.path}/ecgnet.safetensors`;
  await writeSafetensorsFile(original, state, { format: "pt" });
  const data = `${dir.path}/ds`;
  await writeImageFolder(data, { train: 1, val: 1, test: 2 }, TWO_CLASSES);
  const out = `${dir.path}/out`;

  const imported = await importEcgnet(original, out, "--data", data);
  assertEquals(imported.code, 0, imported.err);
  assert(imported.out.includes(`${out}/checkpoints/ecgnet_best`), imported.out);
  const meta = await checkpointMeta(out);
  const sha256 = createHash("sha256").update(await Deno.readFile(original)).digest("hex");
  assertEquals(
    [meta.model, meta.classes, meta.imgSizePx, meta.epoch, meta.valAccuracy],
    ["ecgnet", TWO_CLASSES, SIZE_PX, 0, null],
  );
  assertEquals([meta.imported?.file, meta.imported?.sha256], [original, sha256]);
  assertEquals(meta.imported?.strippedPrefix, undefined);
  assertEquals([meta.config.data, meta.data?.root], [data, data]);
  assert(meta.data?.fingerprint && meta.version, "the data set's fingerprint, the version");

  const evaluated = await run([
    "eval",
    "--backend",
    "cpu",
    "--models",
    "ecgnet",
    "--data",
    data,
    "--out",
    out,
  ]);
  assertEquals(evaluated.code, 0, evaluated.err);
  assert(evaluated.out.includes(`imported from ${original}`), evaluated.out);
  const performance: string[][] = parseCsv(
    await Deno.readTextFile(`${out}/results/model_performance.csv`),
  );
  assertEquals(performance[1].slice(4), ["", "", "", "", "", ""], "no training columns");
  // status says the model was imported, not trained; plots does not ask for training.
  const status = await outputsStatus(out);
  const importLine = status.find((l) => l.what === "ecgnet" && l.stage === "import");
  assert(
    importLine?.done && importLine.detail.includes(`imported from ${original}`),
    JSON.stringify(status),
  );
  assert(!status.some((l) => l.stage === "train"), JSON.stringify(status));
  assert(status.some((l) => l.stage === "eval" && l.done), JSON.stringify(status));
  const plan = await planCharts({ out, data, classes: TWO_CLASSES, seed: 42 });
  assert(!plan.skipped.some((l) => l.includes("run deno task train")), plan.skipped.join("\n"));
  assert(plan.skipped.some((l) => l.startsWith("ecgnet training_curves: ecgnet was imported")));
  assert(plan.skipped.some((l) => l.startsWith("validation_loss: ecgnet was imported")));

  const exported = await exportEcgnet(out, `${dir.path}/exported.safetensors`);
  assertSameTensors(exported, state);
  const { metadata } = await readSafetensorsFile(`${dir.path}/exported.safetensors`);
  assertEquals(metadata, {
    format: "pt",
    arch: "ecgnet",
    classes: JSON.stringify(TWO_CLASSES),
    img_size_px: String(SIZE_PX),
  });
  const out2 = `${dir.path}/out2`;
  const reimported = await importEcgnet(`${dir.path}/exported.safetensors`, out2);
  assertEquals(reimported.code, 0, reimported.err);
  assert(sameBytes(await weightsBin(out2), await weightsBin(out)), "weights.bin differs");

  await Deno.writeTextFile(`${dir.path}/c.json`, JSON.stringify({ out }));
  const byName = await run(["export", "--model", "ecgnet", "--config", `${dir.path}/c.json`]);
  assertEquals(byName.code, 0, byName.err);
  assertSameTensors(
    (await readSafetensorsFile(`${out}/exports/ecgnet.safetensors`)).tensors,
    state,
  );

  const again = await importEcgnet(original, out);
  assertEquals(again.code, 1, "an existing checkpoint is not replaced silently");
  assert(again.err.includes("--force"), again.err);
  await Deno.mkdir(`${out}/checkpoints/ecgnet_last`);
  const forced = await importEcgnet(original, out, "--force");
  assertEquals(forced.code, 0, forced.err);
  assert(!(await pathExists(`${out}/checkpoints/ecgnet_last`)), "the resume state went");
});

Deno.test("import: a module. prefix on every key is stripped with a notice", async () => {
  await using dir = await testDir();
  const state = await ecgnetState(TWO_CLASSES.length);
  const wrapped = new Map([...state].map(([key, tensor]) => [`module.${key}`, tensor]));
  await writeSafetensorsFile(`${dir.path}/plain.safetensors`, state);
  await writeSafetensorsFile(`${dir.path}/wrapped.safetensors`, wrapped);
  const plain = await importEcgnet(`${dir.path}/plain.safetensors`, `${dir.path}/a`);
  assertEquals(plain.code, 0, plain.err);
  const stripped = await importEcgnet(`${dir.path}/wrapped.safetensors`, `${dir.path}/b`);
  assertEquals(stripped.code, 0, stripped.err);
  assert(stripped.out.includes('"module."') && stripped.out.includes("DataParallel"), stripped.out);
  assertEquals((await checkpointMeta(`${dir.path}/b`)).imported?.strippedPrefix, "module.");
  assert(sameBytes(await weightsBin(`${dir.path}/b`), await weightsBin(`${dir.path}/a`)));
});

Deno.test("import: a head of another class count names the head tensor and both shapes", async () => {
  await using dir = await testDir();
  const state = await ecgnetState(3);
  const inFeatures = state.get("classifier.1.weight")!.shape[1];
  await writeSafetensorsFile(`${dir.path}/three.safetensors`, state);
  const out = `${dir.path}/out`;
  const refused = await importEcgnet(`${dir.path}/three.safetensors`, out);
  assertEquals(refused.code, 1);
  for (const part of ['"classifier.1.weight"', `[3, ${inFeatures}]`, `[2, ${inFeatures}]`]) {
    assert(refused.err.includes(part), `${part} not in: ${refused.err}`);
  }
  assert(!refused.err.includes("    at "), "one line, no stack trace");
  assert(!(await pathExists(`${out}/checkpoints`)), "nothing written");
});

for (const dtype of ["F16", "BF16"] as const) {
  Deno.test(`import: ${dtype} weights load as the float32 values they hold`, async () => {
    await using dir = await testDir();
    const { bytes, values } = halfPrecisionFile(await ecgnetState(TWO_CLASSES.length), dtype);
    const file = `${dir.path}/${dtype}.safetensors`;
    await Deno.writeFile(file, bytes);
    const imported = await importEcgnet(file, `${dir.path}/out`);
    assertEquals(imported.code, 0, imported.err);
    assertSameTensors(
      await exportEcgnet(`${dir.path}/out`, `${dir.path}/back.safetensors`),
      values,
    );
  });
}

Deno.test("import and export: flag errors are one line naming the flag", async () => {
  await using dir = await testDir();
  const out = `${dir.path}/out`;
  const cases: [string[], string][] = [
    [["import", "--model", "ecgnet"], "--weights is required"],
    [["import", "--weights", "w.safetensors"], "--model is required"],
    [
      ["import", "--model", "resnet7", "--weights", "w.safetensors"],
      'unknown architecture "resnet7"',
    ],
    [
      ["import", "--model", "ecgnet", "--weights", "w.pt"],
      "--weights w.pt: expected a .safetensors",
    ],
    [
      ["import", "--model", "ecgnet", "--weights", "w.safetensors", "--classes", "A"],
      "--classes A",
    ],
    [
      ["import", "--model", "ecgnet", "--weights", `${dir.path}/none.safetensors`],
      "none.safetensors",
    ],
    [["export", "--out", `${dir.path}/x.safetensors`], "exactly one of --model and --checkpoint"],
    [["export", "--checkpoint", `${dir.path}/none`], `${dir.path}/none`],
    [["export", "--model", "ecgnet", "--out", `${dir.path}/x.pt`], "--out"],
  ];
  for (const [given, expected] of cases) {
    // Never the project's own outputs folder, which may hold a checkpoint.
    const argv = given[0] === "import" ? [...given, "--out", out] : given;
    const { code, err } = await run(argv);
    assertEquals(code, 1, argv.join(" "));
    assert(err.includes(expected), `${argv.join(" ")}: ${err}`);
    assert(!err.includes("    at "), `${argv.join(" ")}: a stack trace`);
  }
  for (const stage of ["import", "export"]) {
    const help = await run([stage, "--help"]);
    assertEquals(help.code, 0);
    assert(help.out.includes(`deno task ${stage}`), help.out);
  }
});

const PARITY_ARCH = "resnet18";
const PARITY_WEIGHTS = `${PARITY_DIR}/${PARITY_ARCH}.safetensors`;
/** Captum's LayerGradCam at the xai stage's default layer (`layer4`, the last block), [2,1,7,7]. */
const PARITY_GRADCAM = "gradcam_block";

/** What the test reads of `<arch>_more_expected.json`. */
interface ParityExpected {
  size: number;
  target: number[];
  f32_vs_f64: { results: Record<string, NoiseFloor> };
}

/**
 * torch's `interpolate(mode="bilinear", align_corners=False)` of square maps `[n, from, from]` to
 * `[n, to, to]`, written out as the fixture README states it: output centre j + 0.5 maps to input
 * coordinate (j + 0.5) * from / to - 0.5, clamped below at 0, the last pixel repeated.
 */
function upsampleLikeTorch(mapsNHW: Float32Array, fromPx: number, toPx: number): Float32Array {
  const taps = Array.from({ length: toPx }, (_, j) => {
    const x = Math.max((j + 0.5) * fromPx / toPx - 0.5, 0);
    const low = Math.floor(x);
    return { low, high: Math.min(low + 1, fromPx - 1), weight: x - low };
  });
  const count = mapsNHW.length / (fromPx * fromPx);
  const out = new Float32Array(count * toPx * toPx);
  for (let n = 0; n < count; n++) {
    const at = (row: number, column: number) => mapsNHW[(n * fromPx + row) * fromPx + column];
    for (let y = 0; y < toPx; y++) {
      const ty = taps[y];
      for (let x = 0; x < toPx; x++) {
        const tx = taps[x];
        const row = (r: number) => at(r, tx.low) * (1 - tx.weight) + at(r, tx.high) * tx.weight;
        out[(n * toPx + y) * toPx + x] = row(ty.low) * (1 - ty.weight) + row(ty.high) * ty.weight;
      }
    }
  }
  return out;
}

/**
 * The fixture's two images (`<arch>_inputs_gray_u8.npy`, before normalisation) as a test split
 * of the four ECG classes: image 0 (an MI report) under MI and Abnormal, image 1 (Normal) under
 * Normal and HistoryMI; the data loader turns them into `<arch>_inputs.npy`. Returns, per image
 * index, the sample ids holding it.
 */
async function writeParityTestSplit(root: string): Promise<string[][]> {
  const path = `${PARITY_DIR}/${PARITY_ARCH}_inputs_gray_u8.npy`;
  const gray = requireDtype(await readNpyFile(path), "uint8", path);
  const [, heightPx, widthPx] = gray.shape;
  const placed: [string, number][] = [["MI", 0], ["Abnormal", 0], ["Normal", 1], ["HistoryMI", 1]];
  const ids: string[][] = [[], []];
  for (const [className, image] of placed) {
    await Deno.mkdir(`${root}/test/${className}`, { recursive: true });
    const pixels = gray.data.subarray(image * heightPx * widthPx, (image + 1) * heightPx * widthPx);
    const encoded = png.encode({ width: widthPx, height: heightPx, data: pixels, channels: 1 });
    await Deno.writeFile(`${root}/test/${className}/fixture${image}.png`, encoded);
    ids[image].push(`test/${className}/fixture${image}`);
  }
  return ids;
}

if (!(await pathExists(PARITY_WEIGHTS))) {
  Deno.test({
    name:
      `import parity: skipped, ${PARITY_WEIGHTS} not found (set TORCH_PARITY_DIR to the fixtures)`,
    ignore: true,
    fn: () => {},
  });
} else {
  Deno.test(`import parity: imported ${PARITY_ARCH}: xai's Grad-CAM is Captum's, quantus runs, export is the file`, async () => {
    await using dir = await testDir();
    const expected: ParityExpected = JSON.parse(
      await Deno.readTextFile(`${PARITY_DIR}/${PARITY_ARCH}_more_expected.json`),
    );
    const data = `${dir.path}/ds`;
    const out = `${dir.path}/out`;
    const idsByImage = await writeParityTestSplit(data);
    await Deno.writeTextFile(`${dir.path}/c.json`, JSON.stringify({ out }));
    const common = ["--models", PARITY_ARCH, "--data", data, "--out", out];
    const imported = await run([
      "import",
      ...["--model", PARITY_ARCH, "--weights", PARITY_WEIGHTS, "--img-size", String(expected.size)],
      ...["--data", data, "--out", out],
    ]);
    assertEquals(imported.code, 0, imported.err);

    const xai = await run(["xai", "--backend", "wasm", ...common, "--methods", "gradcam"]);
    assertEquals(xai.code, 0, xai.err);
    const root = `${out}/explanations/${PARITY_ARCH}/gradcam`;
    const classes = (await checkpointMeta(out, PARITY_ARCH)).classes;
    const rows: string[][] = parseCsv(await Deno.readTextFile(`${root}/index.csv`));
    const targetOf = new Map(rows.slice(1).map((row) => [row[0], row[5]]));
    // Each copy of image k: [the copy under its own class, the copy under the other class].
    for (const copy of [0, 1]) {
      const ids = idsByImage.map((ofImage) => ofImage[copy]);
      ids.forEach((id, image) =>
        assertEquals(targetOf.get(id), classes[expected.target[image]], `${id}: target class`)
      );
      const maps = await Promise.all(ids.map(async (id) => {
        const raw = await readNpyFile(`${root}/heatmap/${id}.raw.npy`);
        return requireDtype(raw, "float32", id).data;
      }));
      const ours = new Float32Array(maps.reduce((n, m) => n + m.length, 0));
      maps.forEach((map, i) => ours.set(map, i * map.length));
      const referencePath = `${PARITY_DIR}/${PARITY_ARCH}_more_${PARITY_GRADCAM}.npy`;
      const reference = requireDtype(await readNpyFile(referencePath), "float32", referencePath);
      const mismatch = arrayMismatch(
        `${PARITY_ARCH} imported, xai (${ids.join(", ")})`,
        `${PARITY_GRADCAM}, upsampled`,
        ours,
        upsampleLikeTorch(reference.data, reference.shape[3], expected.size),
        expected.f32_vs_f64.results[PARITY_GRADCAM],
        "fixture",
      );
      assertEquals(mismatch, undefined, "xai's Grad-CAM maps differ from Captum's");
    }

    const exported = await run([
      "export",
      ...["--model", PARITY_ARCH, "--config", `${dir.path}/c.json`],
    ]);
    assertEquals(exported.code, 0, exported.err);
    assertSameTensors(
      (await readSafetensorsFile(`${out}/exports/${PARITY_ARCH}.safetensors`)).tensors,
      (await readSafetensorsFile(PARITY_WEIGHTS)).tensors,
    );

    const quantus = await run([
      "quantus",
      ...["--backend", "wasm", ...common, "--methods", "gradcam", "--limit", "2"],
      ...["--metrics", "sparseness,max_sensitivity"],
      ...["--params", JSON.stringify({ max_sensitivity: { nrSamples: 2 } })],
    ]);
    assertEquals(quantus.code, 0, quantus.err);
    const scores: string[][] = parseCsv(
      await Deno.readTextFile(`${out}/metrics/quantus_${PARITY_ARCH}_gradcam.csv`),
    );
    assertEquals(scores.length, 1 + 2, "two images (--limit 2)");
    const column = (metric: string) => scores[0].indexOf(metric);
    for (const row of scores.slice(1)) {
      for (const metric of ["sparseness", "max_sensitivity"]) {
        assert(Number.isFinite(Number(row[column(metric)])), `${row[0]} ${metric}: ${row}`);
      }
    }
  });
}
