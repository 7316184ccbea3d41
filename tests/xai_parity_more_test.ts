/**
 * Captum and Zennit parity of the methods with modified backward rules: for every
 * `<arch>_more_expected.json` in `$TORCH_PARITY_DIR` (default `../shared/torch-parity`, README
 * section "More attribution methods"), every `<arch>_more_<name>.npy` present is recomputed by the
 * method {@link MORE_METHODS} maps `<name>` to, on `<arch>_inputs.npy` for the base fixture's
 * targets, and checked with the fixture rule (`torch_parity_rule.ts`): Pearson >= 0.999, relative
 * L2 <= max(10 x the recorded noise floor, 1e-5), element-wise where the outlier fraction is 0.
 * A file whose name no table knows fails, so a new fixture array is never skipped silently; the
 * JSON's `skipped` methods (Captum's Guided Backprop on a network without `nn.ReLU`) must have no
 * file. The methods run with `captumCompat` (Captum's activation sets), DeepLIFT with the
 * activations the JSON's `captum_handler_modules` lists.
 */
import { listDirSorted } from "../core/fs.ts";
import type { Activation } from "../models/layers.ts";
import { GUIDED_GRADCAM } from "../xai/cam/guided_gradcam.ts";
import { DECONVOLUTION } from "../xai/gradient/deconvolution.ts";
import { DEEPLIFT } from "../xai/gradient/deeplift.ts";
import { GUIDED_BACKPROP } from "../xai/gradient/guided_backprop.ts";
import type { Attribution, Explainer } from "../xai/explainer.ts";
import {
  LRP_EPSILON_GAMMA_BOX,
  LRP_EPSILON_PLUS_FLAT,
  type LrpOptions,
} from "../xai/relevance/lrp.ts";
import { assert, assertEquals } from "./assert.ts";
import type { NoiseFloor } from "./torch_parity_rule.ts";
import { PARITY_DIR } from "./torch_parity_rule.ts";
import {
  BACKEND,
  checkArrays,
  disposeFixture,
  type Fixture,
  loadFixture,
  nhwcToNchw,
  parityArchs,
  readReference,
} from "./xai_parity_fixture.ts";

/** The fields of `<arch>_more_expected.json` the test reads. */
interface MoreExpected {
  results: Record<string, {
    layer?: string;
    captum_handler_modules?: Record<string, number>;
    convergence_delta?: number[];
    /** LRP: the composite's arguments (Zennit's names). */
    arguments?: { epsilon?: number; gamma?: number; low?: number[]; high?: number[] };
  }>;
  skipped: { result: string; reason: string }[];
  arrays: Record<string, unknown>;
  f32_vs_f64: { results: Record<string, NoiseFloor> };
}

/** A fixture with its `_more_` JSON. */
interface MoreFixture extends Fixture {
  more: MoreExpected;
}

/** Recomputes one fixture array, in the fixture's layout (NCHW, or [N, 1, h, w] for a map). */
type MoreMethod = (fixture: MoreFixture, name: string) => Promise<Float32Array>;

/** Captum's module class names → our activation kinds (DeepLIFT's handlers). */
const CAPTUM_ACTIVATIONS: Readonly<Record<string, Activation>> = {
  ReLU: "relu",
  ReLU6: "relu6",
  Sigmoid: "sigmoid",
  SiLU: "silu",
};

/**
 * Handler modules whose rule has no effect: every max-pool of these networks reads a ReLU's
 * output, whose rule Captum applies with the gradient it stored before the max-pool's handler
 * ran (README, `notes.deeplift`), so the ordinary max-pool gradient acts, as in ours.
 */
const CAPTUM_INERT_HANDLERS = new Set(["MaxPool2d"]);

function channels(attr: Attribution): Float32Array {
  return nhwcToNchw(attr.attributionsNHWC!, attr.shapeNHW);
}

/** Guided Grad-CAM at the layer the fixture names (`results.<name>.layer`). */
async function guidedGradCam(fixture: MoreFixture, name: string): Promise<Attribution> {
  const layer = fixture.more.results[name]?.layer;
  assert(layer !== undefined, `${name}: the fixture names no layer`);
  return await GUIDED_GRADCAM.explain(fixture.model, fixture.xNHWC, fixture.targets, {
    layer,
    captumCompat: true,
    keepChannels: true,
  });
}

async function deepLift(fixture: MoreFixture, name: string): Promise<Float32Array> {
  const result = fixture.more.results[name];
  const baseline = name.slice("deeplift_".length);
  assert(baseline === "zero" || baseline === "black", `${name}: unknown baseline ${baseline}`);
  const handlers = Object.keys(result.captum_handler_modules ?? {});
  const unknown = handlers.filter((m) =>
    !(m in CAPTUM_ACTIVATIONS || CAPTUM_INERT_HANDLERS.has(m))
  );
  assertEquals(unknown, [], `${name}: Captum handler modules this test cannot map`);
  const attr = await DEEPLIFT.explain(fixture.model, fixture.xNHWC, fixture.targets, {
    baseline,
    activations: handlers.flatMap((m) => CAPTUM_ACTIVATIONS[m] ?? []),
    keepChannels: true,
  });
  const theirs = result.convergence_delta!;
  const ours = [...attr.convergenceDelta!];
  console.log(
    `${name} convergence delta ${ours.map((d) => d.toExponential(3))}, Captum's ${theirs}`,
  );
  ours.forEach((delta, i) =>
    assert(
      Math.abs(delta - theirs[i]) <= Math.max(1e-4, 0.01 * Math.abs(theirs[i])),
      `${name}: convergence delta ${delta} of image ${i}, Captum's ${theirs[i]}`,
    )
  );
  return channels(attr);
}

/** Zennit's LRP with the composite arguments the fixture records (`results.<name>.arguments`). */
async function lrp(
  explainer: Explainer<LrpOptions>,
  fixture: MoreFixture,
  name: string,
): Promise<Float32Array> {
  const { epsilon, gamma, low, high } = fixture.more.results[name]?.arguments ?? {};
  return channels(
    await explainer.explain(fixture.model, fixture.xNHWC, fixture.targets, {
      epsilon,
      gamma,
      low,
      high,
      keepChannels: true,
    }),
  );
}

/** Fixture array name → the method that recomputes it. */
const MORE_METHODS: Readonly<Record<string, MoreMethod>> = {
  guided_backprop: async ({ model, xNHWC, targets }) =>
    channels(
      await GUIDED_BACKPROP.explain(model, xNHWC, targets, {
        captumCompat: true,
        keepChannels: true,
      }),
    ),
  deconvolution: async ({ model, xNHWC, targets }) =>
    channels(
      await DECONVOLUTION.explain(model, xNHWC, targets, {
        captumCompat: true,
        keepChannels: true,
      }),
    ),
  guided_gradcam_lastconv: async (fixture, name) => channels(await guidedGradCam(fixture, name)),
  guided_gradcam_block: async (fixture, name) => channels(await guidedGradCam(fixture, name)),
  // The Grad-CAM map inside guided_gradcam_block: [N, h, w] is [N, 1, h, w]'s order.
  gradcam_block: async (fixture) =>
    (await guidedGradCam(fixture, "guided_gradcam_block")).layer!.layerMapsNhw,
  deeplift_zero: deepLift,
  deeplift_black: deepLift,
  lrp_epsilon_plus_flat: (fixture, name) => lrp(LRP_EPSILON_PLUS_FLAT, fixture, name),
  lrp_epsilon_gamma_box: (fixture, name) => lrp(LRP_EPSILON_GAMMA_BOX, fixture, name),
};

/** The `<arch>_more_<name>.npy` names present for `arch`. */
async function moreArrayNames(arch: string): Promise<string[]> {
  const prefix = `${arch}_more_`;
  return (await listDirSorted(PARITY_DIR))
    .filter((e) => e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".npy"))
    .map((e) => e.name.slice(prefix.length, -".npy".length));
}

const archs = [];
for (const arch of await parityArchs() ?? []) {
  try {
    await Deno.stat(`${PARITY_DIR}/${arch}_more_expected.json`);
    archs.push(arch);
  } catch {
    // No `_more_` fixture for this architecture.
  }
}
if (archs.length === 0) {
  Deno.test({
    name: `xai parity (more methods): skipped, no <arch>_more_expected.json in ${PARITY_DIR} ` +
      `(set TORCH_PARITY_DIR to the fixtures)`,
    ignore: true,
    fn: () => {},
  });
}
for (const arch of archs) {
  Deno.test(`xai parity: ${arch} modified-gradient methods match Captum (${BACKEND})`, async (t) => {
    const more: MoreExpected = JSON.parse(
      await Deno.readTextFile(`${PARITY_DIR}/${arch}_more_expected.json`),
    );
    const names = await moreArrayNames(arch);
    await t.step("every array the JSON lists is present, every skipped one absent", () => {
      assertEquals(names.toSorted(), Object.keys(more.arrays).toSorted());
      for (const skipped of more.skipped) {
        console.log(`${arch} skipped by the fixture: ${skipped.result}: ${skipped.reason}`);
        assert(!names.includes(skipped.result), `${skipped.result} is skipped yet stored`);
      }
    });
    const fixture: MoreFixture = { ...await loadFixture(arch, BACKEND), more };
    try {
      for (const name of names) {
        const method = MORE_METHODS[name];
        await t.step(name, async () => {
          assert(
            method !== undefined,
            `${arch}_more_${name}.npy: no method in MORE_METHODS recomputes it; add a row ` +
              "(or implement the method)",
          );
          await checkArrays(
            arch,
            more,
            (n) => readReference(`${arch}_more_${n}.npy`),
            { [name]: await method(fixture, name) },
          );
        });
      }
    } finally {
      disposeFixture(fixture);
    }
  });
}
